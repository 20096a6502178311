// Reads a hospital CSV against its schema into typed columns, stopping on bad data with the file,
// row and column named. Unparsable cells up to a tolerance are kept as missing values.
import { readFileSync } from 'node:fs';
import { DataError } from '../errors';
import { forEachCsvRecord } from './csv';
import type { ColumnImputation } from './imputation';
import { ImputationTally, mergeImputations } from './imputation';
import type { DataSchema } from './schema';
import { DEFAULT_MISSING_VALUES, labelColumn } from './schema';

/** A CSV's rows as typed columns; missing numeric cells are NaN, missing categories null. */
export interface RawTable {
  file: string;
  rows: number;
  /** Numeric feature columns by name. */
  numeric: Map<string, Float64Array>;
  /** Categorical feature columns by name. */
  categorical: Map<string, (string | null)[]>;
  /** Label of each row, as an index into the schema's classes. */
  labels: Int32Array;
  classes: string[];
  /** The CSV line of each row, for error messages further down the pipeline. */
  lines: Int32Array;
  /** Cells left for imputation (unreadable or missing), per column, with the first ones named. */
  imputed: ColumnImputation[];
}

/** Options of {@link loadTable}. */
export interface LoadTableOptions {
  /**
   * Largest fraction of a column's cells that may be unparsable (then treated as missing) before
   * loading stops. Default 0.01; 0 rejects any bad cell.
   */
  badValueTolerance?: number;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Loads `file` as described by `schema`.
 * @throws {DataError} for a missing file, column mismatch, malformed records, bad labels, a class
 * with no rows, or more unparsable cells than the tolerance allows.
 */
export function loadTable(
  file: string,
  schema: DataSchema,
  options: LoadTableOptions = {},
): RawTable {
  const tolerance = options.badValueTolerance ?? 0.01;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DataError('DATA_FILE_MISSING', { file }, 'the data file cannot be read.', {
      cause: error,
    });
  }
  const missing = new Set(schema.missingValues ?? DEFAULT_MISSING_VALUES);
  const label = labelColumn(schema);
  const classIndex = new Map(label.classes.map((c, i) => [c, i]));
  const vocab = new Map<string, Set<string>>();
  for (const c of schema.columns) {
    if (c.type === 'categorical' && c.categories) vocab.set(c.name, new Set(c.categories));
  }

  let header: string[] | undefined;
  let positions: number[] = [];
  const numeric: number[][] = [];
  const categorical: (string | null)[][] = [];
  const labels: number[] = [];
  const lines: number[] = [];
  const numericNames = schema.columns.filter((c) => c.type === 'numeric').map((c) => c.name);
  const categoricalNames = schema.columns
    .filter((c) => c.type === 'categorical')
    .map((c) => c.name);
  const tally = new ImputationTally(
    file,
    new Map(
      schema.columns.flatMap((c) =>
        c.type === 'numeric' || c.type === 'categorical' ? [[c.name, c.type] as const] : [],
      ),
    ),
  );

  forEachCsvRecord(text, file, (fields, line) => {
    if (header === undefined) {
      header = fields.map((f) => f.trim());
      positions = checkHeader(header, schema, file);
      numericNames.forEach(() => numeric.push([]));
      categoricalNames.forEach(() => categorical.push([]));
      return;
    }
    if (fields.length !== header.length) {
      throw new DataError(
        'DATA_MALFORMED_CSV',
        { file, row: line },
        `the record has ${fields.length} fields; the header has ${header.length}.`,
      );
    }
    const noteBad = (column: string, value: string): void => tally.note(column, line, value, false);
    const noteMissing = (column: string, value: string): void =>
      tally.note(column, line, value, true);
    let p = 0;
    for (let k = 0; k < numericNames.length; k++) {
      const name = numericNames[k] as string;
      const cell = (fields[positions[p++] as number] as string).trim();
      let value = NaN;
      if (missing.has(cell)) noteMissing(name, cell);
      else if (NUMBER.test(cell)) value = Number(cell);
      else noteBad(name, cell);
      (numeric[k] as number[]).push(value);
    }
    for (let k = 0; k < categoricalNames.length; k++) {
      const name = categoricalNames[k] as string;
      const cell = (fields[positions[p++] as number] as string).trim();
      let value: string | null = null;
      const known = vocab.get(name);
      if (missing.has(cell)) noteMissing(name, cell);
      else if (known === undefined || known.has(cell)) value = cell;
      else noteBad(name, cell);
      (categorical[k] as (string | null)[]).push(value);
    }
    const labelCell = (fields[positions[p] as number] as string).trim();
    const cls = classIndex.get(labelCell);
    if (cls === undefined) {
      const problem = missing.has(labelCell)
        ? 'the label is missing; rows without a label cannot be used.'
        : `"${labelCell}" is not one of the label's classes (${label.classes.join(', ')}).`;
      throw new DataError('DATA_BAD_VALUE', { file, row: line, column: label.name }, problem);
    }
    labels.push(cls);
    lines.push(line);
  });

  if (header === undefined || labels.length === 0) {
    throw new DataError('DATA_TOO_FEW_ROWS', { file }, 'the file holds no data rows.');
  }
  const rows = labels.length;
  const imputed = tally.result();
  for (const c of imputed) {
    const first = c.firstUnreadable[0];
    if (first && c.unreadable > tolerance * rows) {
      throw new DataError(
        'DATA_BAD_VALUE',
        { file, row: first.row, column: c.column },
        `"${first.value}" cannot be read as a ${c.kind === 'numeric' ? 'number' : 'known category'}` +
          ` (${c.unreadable} such cells in this column, more than the tolerated ${(tolerance * 100).toFixed(2)} %).`,
      );
    }
  }
  const counts = label.classes.map(() => 0);
  for (const l of labels) counts[l] = (counts[l] as number) + 1;
  counts.forEach((n, i) => {
    if (n === 0) {
      throw new DataError(
        'DATA_EMPTY_CLASS',
        { file, column: label.name },
        `the class "${label.classes[i]}" has no rows.`,
      );
    }
  });
  return {
    file,
    rows,
    numeric: new Map(numericNames.map((n, k) => [n, Float64Array.from(numeric[k] as number[])])),
    categorical: new Map(categoricalNames.map((n, k) => [n, categorical[k] as (string | null)[]])),
    labels: Int32Array.from(labels),
    classes: [...label.classes],
    lines: Int32Array.from(lines),
    imputed,
  };
}

/** Field positions of the numeric, categorical and label columns, in that order. */
function checkHeader(header: string[], schema: DataSchema, file: string): number[] {
  const index = new Map(header.map((h, i) => [h, i]));
  const declared = new Set(schema.columns.map((c) => c.name));
  for (const h of header) {
    if (!declared.has(h)) {
      throw new DataError(
        'DATA_UNKNOWN_COLUMN',
        { file, row: 1, column: h },
        'the column is not in the schema.',
      );
    }
  }
  const position = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) {
      throw new DataError(
        'DATA_MISSING_COLUMN',
        { file, row: 1, column: name },
        'the schema declares this column but the file has none.',
      );
    }
    return i;
  };
  for (const c of schema.columns) position(c.name);
  return [
    ...schema.columns.filter((c) => c.type === 'numeric').map((c) => position(c.name)),
    ...schema.columns.filter((c) => c.type === 'categorical').map((c) => position(c.name)),
    position(labelColumn(schema).name),
  ];
}

/** Concatenates tables read with the same schema (a pooled, centralised dataset). */
export function concatTables(tables: readonly RawTable[]): RawTable {
  const first = tables[0];
  if (!first) throw new RangeError('concatTables needs at least one table.');
  if (tables.length === 1) return first;
  const cat = (parts: readonly Float64Array[]): Float64Array => {
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return {
    file: tables.map((t) => t.file).join(' + '),
    rows: tables.reduce((n, t) => n + t.rows, 0),
    numeric: new Map(
      [...first.numeric.keys()].map((k) => [
        k,
        cat(tables.map((t) => t.numeric.get(k) as Float64Array)),
      ]),
    ),
    categorical: new Map(
      [...first.categorical.keys()].map((k) => [
        k,
        tables.flatMap((t) => t.categorical.get(k) ?? []),
      ]),
    ),
    labels: Int32Array.from(tables.flatMap((t) => [...t.labels])),
    classes: first.classes,
    lines: Int32Array.from(tables.flatMap((t) => [...t.lines])),
    imputed: mergeImputations(tables.map((t) => t.imputed)),
  };
}
