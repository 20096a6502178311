// Reads a hospital CSV against its schema into typed columns, stopping on bad data with the file,
// row and column named. Unparsable cells up to a tolerance are kept as missing values; rows
// without a label are skipped and counted (or refused); dates become days since a reference.
import { readFileSync } from 'node:fs';
import { DataError } from '../errors';
import type { CsvDelimiter } from './csv';
import { CSV_DELIMITERS, delimiterName, detectDelimiter, firstLine, forEachCsvRecord } from './csv';
import { daysSince, isoDay } from './dates';
import type { ColumnImputation } from './imputation';
import { ImputationTally, mergeImputations } from './imputation';
import type { DataSchema, DateColumn } from './schema';
import { DEFAULT_MISSING_VALUES, labelColumn, numericFeatureColumns } from './schema';

/** Rows left out because their label cell was empty or a missing-value marker. */
export interface UnlabelledRows {
  count: number;
  /** CSV lines of the first few. */
  firstLines: number[];
}

/** A CSV's rows as typed columns; missing numeric cells are NaN, missing categories null. */
export interface RawTable {
  file: string;
  rows: number;
  /** Numeric feature columns by name (date columns too, as days since their reference). */
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
  /** Rows skipped for want of a label. */
  unlabelled: UnlabelledRows;
  /** The field separator the file was read with. */
  delimiter: CsvDelimiter;
}

/** Options of {@link loadTable}. */
export interface LoadTableOptions {
  /**
   * Largest fraction of a column's cells that may be unparsable (then treated as missing) before
   * loading stops. Default 0.01; 0 rejects any bad cell.
   */
  badValueTolerance?: number;
  /** Field separator, or `auto` (default): the one that splits the header into the schema's columns. */
  delimiter?: CsvDelimiter | 'auto';
  /**
   * Rows whose label is empty or a missing-value marker: `skip` (default) leaves them out and
   * counts them (`RawTable.unlabelled`); `refuse` stops with `DATA_BAD_VALUE` at the first.
   */
  unlabelled?: 'skip' | 'refuse';
}

const NAMED_LINES = 3;

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
  const numericColumns = numericFeatureColumns(schema);
  const numericNames = numericColumns.map((c) => c.name);
  // Per numeric column: undefined for a number, or how to read a date.
  const dateReaders = numericColumns.map((c) => (c.type === 'date' ? dateReader(c) : undefined));
  const delimiter =
    options.delimiter === undefined || options.delimiter === 'auto'
      ? detectDelimiter(
          firstLine(text),
          schema.columns.map((c) => c.name),
        )
      : options.delimiter;
  const unlabelled: UnlabelledRows = { count: 0, firstLines: [] };
  const categoricalNames = schema.columns
    .filter((c) => c.type === 'categorical')
    .map((c) => c.name);
  const tally = new ImputationTally(
    file,
    new Map(
      schema.columns.flatMap((c): [string, 'numeric' | 'categorical'][] =>
        c.type === 'numeric' || c.type === 'date'
          ? [[c.name, 'numeric']]
          : c.type === 'categorical'
            ? [[c.name, 'categorical']]
            : [],
      ),
    ),
  );

  forEachCsvRecord(
    text,
    file,
    (fields, line) => {
      if (header === undefined) {
        header = fields.map((f) => f.trim());
        positions = checkHeader(header, schema, file, delimiter);
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
      const noteBad = (column: string, value: string): void =>
        tally.note(column, line, value, false);
      const noteMissing = (column: string, value: string): void =>
        tally.note(column, line, value, true);
      const labelCell = (fields[positions[positions.length - 1] as number] as string).trim();
      const cls = classIndex.get(labelCell);
      if (cls === undefined) {
        if (missing.has(labelCell) && options.unlabelled !== 'refuse') {
          unlabelled.count++;
          if (unlabelled.firstLines.length < NAMED_LINES) unlabelled.firstLines.push(line);
          return;
        }
        const problem = missing.has(labelCell)
          ? 'the label is missing (rows without a label are refused; leave out --refuse-unlabelled to skip and count them).'
          : `"${labelCell}" is not one of the label's classes (${label.classes.join(', ')}).`;
        throw new DataError('DATA_BAD_VALUE', { file, row: line, column: label.name }, problem);
      }
      let p = 0;
      for (let k = 0; k < numericNames.length; k++) {
        const name = numericNames[k] as string;
        const cell = (fields[positions[p++] as number] as string).trim();
        const readDate = dateReaders[k];
        let value = NaN;
        if (missing.has(cell)) noteMissing(name, cell);
        else if (readDate) value = readDate(cell) ?? NaN;
        else if (NUMBER.test(cell)) value = Number(cell);
        if (Number.isNaN(value) && !missing.has(cell)) noteBad(name, cell);
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
      labels.push(cls);
      lines.push(line);
    },
    delimiter,
  );

  if (header === undefined || labels.length === 0) {
    throw new DataError(
      'DATA_TOO_FEW_ROWS',
      { file },
      unlabelled.count > 0
        ? `the file holds no labelled rows (${unlabelled.count} without a label).`
        : 'the file holds no data rows.',
    );
  }
  const rows = labels.length;
  const imputed = tally.result();
  const dateNames = new Set(numericColumns.filter((c) => c.type === 'date').map((c) => c.name));
  for (const c of imputed) {
    const first = c.firstUnreadable[0];
    if (first && c.unreadable > tolerance * rows) {
      throw new DataError(
        'DATA_BAD_VALUE',
        { file, row: first.row, column: c.column },
        `"${first.value}" cannot be read as a ${dateNames.has(c.column) ? 'date' : c.kind === 'numeric' ? 'number' : 'known category'}` +
          ` (${c.unreadable} such cells in this column, more than the tolerated ${(tolerance * 100).toFixed(2)} %).`,
      );
    }
  }
  // A class without rows is allowed: a hospital without positive cases still trains (its update
  // teaches the negative side); hospital-data warns about it.
  return {
    file,
    rows,
    numeric: new Map(numericNames.map((n, k) => [n, Float64Array.from(numeric[k] as number[])])),
    categorical: new Map(categoricalNames.map((n, k) => [n, categorical[k] as (string | null)[]])),
    labels: Int32Array.from(labels),
    classes: [...label.classes],
    lines: Int32Array.from(lines),
    imputed,
    unlabelled,
    delimiter,
  };
}

function dateReader(column: DateColumn): (cell: string) => number | undefined {
  const format = column.format ?? 'YYYY-MM-DD';
  const reference = isoDay(column.reference ?? '1970-01-01') ?? 0;
  return (cell) => daysSince(cell, format, reference);
}

/** Field positions of the numeric (and date), categorical and label columns, in that order. */
function checkHeader(
  header: string[],
  schema: DataSchema,
  file: string,
  delimiter: CsvDelimiter,
): number[] {
  const index = new Map(header.map((h, i) => [h, i]));
  const declared = new Set(schema.columns.map((c) => c.name));
  for (const h of header) {
    if (!declared.has(h)) {
      throw new DataError(
        'DATA_UNKNOWN_COLUMN',
        { file, row: 1, column: h },
        `the column is not in the schema${delimiterHint(h, delimiter)}.`,
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
    ...numericFeatureColumns(schema).map((c) => position(c.name)),
    ...schema.columns.filter((c) => c.type === 'categorical').map((c) => position(c.name)),
    position(labelColumn(schema).name),
  ];
}

/** A hint when a header field looks like several columns joined by another delimiter. */
function delimiterHint(field: string, delimiter: CsvDelimiter): string {
  const other = CSV_DELIMITERS.find((d) => d !== delimiter && field.includes(d));
  if (other === undefined) return ' (declare it, or give it type "ignore")';
  return ` — the header looks ${delimiterName(other)}-delimited but was read with ${delimiterName(delimiter)}; pass --delimiter ${other === '\t' ? 'tab' : `"${other}"`} or --delimiter auto`;
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
    unlabelled: {
      count: tables.reduce((n, t) => n + t.unlabelled.count, 0),
      firstLines: tables.flatMap((t) => t.unlabelled.firstLines).slice(0, NAMED_LINES),
    },
    delimiter: first.delimiter,
  };
}
