// What loading a CSV left for imputation, per column: cells that could not be read and cells that
// were missing, with the first few named by file and line, so an operator can find and fix them.

/** How many places are named per column and kind. */
export const NAMED_CELLS = 3;

/** One cell that will be imputed: where it is and the text found there. */
export interface ImputedCell {
  file: string;
  /** 1-based line of the CSV (the header is line 1). */
  row: number;
  value: string;
}

/** The cells of one column that will be imputed (mean for numbers, mode for categories). */
export interface ColumnImputation {
  column: string;
  kind: 'numeric' | 'categorical';
  /** Cells whose text is neither a value of the column nor a missing-value marker. */
  unreadable: number;
  /** Empty cells and missing-value markers (`NA`, `?` …). */
  missing: number;
  /** The first {@link NAMED_CELLS} unreadable cells. */
  firstUnreadable: ImputedCell[];
  /** The first {@link NAMED_CELLS} missing cells. */
  firstMissing: ImputedCell[];
}

/** Counts a table's imputed cells while it is read. */
export class ImputationTally {
  readonly #columns = new Map<string, ColumnImputation>();
  readonly #file: string;

  constructor(file: string, kinds: ReadonlyMap<string, 'numeric' | 'categorical'>) {
    this.#file = file;
    for (const [column, kind] of kinds) {
      this.#columns.set(column, {
        column,
        kind,
        unreadable: 0,
        missing: 0,
        firstUnreadable: [],
        firstMissing: [],
      });
    }
  }

  /** Notes an unreadable (`missing` false) or missing cell at `row`. */
  note(column: string, row: number, value: string, missing: boolean): void {
    const entry = this.#columns.get(column);
    if (!entry) return;
    const list = missing ? entry.firstMissing : entry.firstUnreadable;
    if (missing) entry.missing += 1;
    else entry.unreadable += 1;
    if (list.length < NAMED_CELLS) list.push({ file: this.#file, row, value });
  }

  /** The columns with at least one imputed cell, in schema order. */
  result(): ColumnImputation[] {
    return [...this.#columns.values()].filter((c) => c.unreadable + c.missing > 0);
  }
}

/**
 * The imputations of several tables read with one schema, added up per column (in the order the
 * columns first appear).
 */
export function mergeImputations(
  lists: readonly (readonly ColumnImputation[])[],
): ColumnImputation[] {
  const merged = new Map<string, ColumnImputation>();
  for (const list of lists) {
    for (const c of list) {
      const into = merged.get(c.column);
      if (!into) {
        merged.set(c.column, {
          ...c,
          firstUnreadable: [...c.firstUnreadable],
          firstMissing: [...c.firstMissing],
        });
        continue;
      }
      into.unreadable += c.unreadable;
      into.missing += c.missing;
      into.firstUnreadable.push(...c.firstUnreadable);
      into.firstMissing.push(...c.firstMissing);
      into.firstUnreadable.splice(NAMED_CELLS);
      into.firstMissing.splice(NAMED_CELLS);
    }
  }
  return [...merged.values()];
}

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}

function places(cells: readonly ImputedCell[], total: number, withValues: boolean): string {
  const named = cells
    .map((c) => `${c.file}:${c.row}${withValues ? ` "${c.value}"` : ''}`)
    .join(', ');
  return total > cells.length ? `first: ${named}, …` : named;
}

/**
 * The warnings for imputed cells: one per column with unreadable cells, naming the first ones
 * with their text (`column "age": 1 unreadable cell imputed with the column mean (data.csv:5
 * "eighty")`), then one line for the missing cells (empty or a missing-value marker, common in
 * health records), counted per column with the first one named.
 */
export function imputationWarnings(imputations: readonly ColumnImputation[]): string[] {
  const lines: string[] = [];
  for (const c of imputations) {
    if (c.unreadable === 0) continue;
    const by = `imputed with the column ${c.kind === 'numeric' ? 'mean' : 'mode'}`;
    lines.push(
      `column "${c.column}": ${count(c.unreadable, 'unreadable cell')} ${by} (${places(c.firstUnreadable, c.unreadable, true)})`,
    );
  }
  const missing = imputations.filter((c) => c.missing > 0);
  if (missing.length > 0) {
    const total = missing.reduce((n, c) => n + c.missing, 0);
    // One file (the usual case): named once, then rows; pooled files: each place in full.
    const files = new Set(missing.flatMap((c) => c.firstMissing.map((m) => m.file)));
    const only = files.size === 1 ? [...files][0] : undefined;
    const columns = missing.map((c) => {
      const first = c.firstMissing[0];
      const where = first
        ? only !== undefined
          ? `row ${first.row}`
          : `${first.file}:${first.row}`
        : '';
      return `"${c.column}" ${c.missing.toLocaleString('en')}${first ? ` (${c.missing > 1 ? 'first ' : ''}${where})` : ''}`;
    });
    lines.push(
      `${count(total, 'missing cell')}${only !== undefined ? ` in ${only}` : ''} imputed with the column mean (numbers) or mode (categories): ${columns.join(', ')}`,
    );
  }
  return lines;
}
