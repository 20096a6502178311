// The schema of a hospital extract: what each CSV column is (numeric feature, date, categorical
// feature, the label, or an identifier or other column to drop) and which strings mean "missing".
import { readFileSync } from 'node:fs';
import { DataError } from '../errors';
import { isoDay } from './dates';

/** A continuous feature: standardised, missing values imputed with the mean. */
export interface NumericColumn {
  name: string;
  type: 'numeric';
  /**
   * Clipping range `[min, max]` for differentially private statistics (`preprocess stats
   * --epsilon`): values outside are clamped, which bounds what one patient can change.
   */
  range?: [number, number];
}

/** Date formats a date column may use. */
export const DATE_FORMATS = ['YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY', 'DD.MM.YYYY'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/**
 * A date (admission, birth): parsed and turned into one numeric feature, the days since
 * `reference`, then standardised and imputed like a numeric column. A time of day after the date
 * (`2024-03-01T10:30`, `01/03/2024 10:30`) counts as a fraction of a day.
 */
export interface DateColumn {
  name: string;
  type: 'date';
  /** Default `YYYY-MM-DD` (ISO 8601). */
  format?: DateFormat;
  /** The day counted as 0, `YYYY-MM-DD`; default `1970-01-01`. */
  reference?: string;
  /** Clipping range in days since `reference`, for differentially private statistics. */
  range?: [number, number];
}

/** A categorical feature: one-hot encoded, missing values imputed with the mode. */
export interface CategoricalColumn {
  name: string;
  type: 'categorical';
  /**
   * The full vocabulary, in one-hot order. Declare it whenever several hospitals train one model:
   * it fixes the feature layout independently of which values a hospital happens to see.
   */
  categories?: string[];
}

/** The outcome to predict; exactly one per schema. */
export interface LabelColumn {
  name: string;
  type: 'label';
  /** The classes, in output-unit order. */
  classes: string[];
}

/** An identifier (patient ID, encounter ID): read, never used as a feature. */
export interface IdColumn {
  name: string;
  type: 'id';
}

/** A column the file has and the model does not use (free text, a second identifier …). */
export interface IgnoredColumn {
  name: string;
  type: 'ignore';
}

/** One column of a schema. */
export type ColumnSchema =
  NumericColumn | DateColumn | CategoricalColumn | LabelColumn | IdColumn | IgnoredColumn;

/** A hospital extract's schema file. */
export interface DataSchema {
  columns: ColumnSchema[];
  /** Cell values read as missing; default `["", "NA", "NaN", "null"]`. */
  missingValues?: string[];
}

export const DEFAULT_MISSING_VALUES: readonly string[] = ['', 'NA', 'NaN', 'null'];

const TYPES = new Set(['numeric', 'date', 'categorical', 'label', 'id', 'ignore']);

/**
 * Reads and validates a schema JSON file.
 * @throws {DataError} `DATA_FILE_MISSING`, `DATA_SCHEMA_INVALID` or `DATA_NO_LABEL`.
 */
export function loadSchema(file: string): DataSchema {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DataError('DATA_FILE_MISSING', { file }, 'the schema file cannot be read.', {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError('DATA_SCHEMA_INVALID', { file }, 'the schema is not valid JSON.', {
      cause: error,
    });
  }
  return validateSchema(value, file);
}

/**
 * Checks a parsed schema and returns it typed.
 * @throws {DataError} naming the offending column.
 */
export function validateSchema(value: unknown, file: string): DataSchema {
  const schema = value as Partial<DataSchema> | null;
  if (!schema || !Array.isArray(schema.columns) || schema.columns.length === 0) {
    throw new DataError(
      'DATA_SCHEMA_INVALID',
      { file },
      'the schema needs "columns", a non-empty array.',
    );
  }
  const seen = new Set<string>();
  let labels = 0;
  for (const column of schema.columns as Partial<ColumnSchema>[]) {
    const name = column?.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw new DataError(
        'DATA_SCHEMA_INVALID',
        { file },
        'every column needs a non-empty "name".',
      );
    }
    const where = { file, column: name };
    if (seen.has(name))
      throw new DataError('DATA_SCHEMA_INVALID', where, 'the column is declared twice.');
    seen.add(name);
    if (!TYPES.has(column.type as string)) {
      throw new DataError(
        'DATA_SCHEMA_INVALID',
        where,
        'the type must be numeric, date, categorical, label, id or ignore.',
      );
    }
    checkRange(column, where);
    if (column.type === 'date') checkDateColumn(column, where);
    if (column.type === 'label') {
      labels++;
      if (!isStringList(column.classes) || column.classes.length < 2) {
        throw new DataError(
          'DATA_SCHEMA_INVALID',
          where,
          'a label needs "classes", at least two distinct strings.',
        );
      }
    }
    if (
      column.type === 'categorical' &&
      column.categories !== undefined &&
      !isStringList(column.categories)
    ) {
      throw new DataError('DATA_SCHEMA_INVALID', where, '"categories" must be distinct strings.');
    }
  }
  if (labels !== 1) {
    throw new DataError(
      'DATA_NO_LABEL',
      { file },
      `the schema must declare exactly one label column, not ${labels}.`,
    );
  }
  if (schema.missingValues !== undefined && !isStringList(schema.missingValues)) {
    throw new DataError(
      'DATA_SCHEMA_INVALID',
      { file },
      '"missingValues" must be a list of strings.',
    );
  }
  return schema as DataSchema;
}

function checkRange(column: Partial<ColumnSchema>, where: { file: string; column: string }): void {
  if (!('range' in column) || column.range === undefined) return;
  const r: unknown = column.range;
  if (
    !Array.isArray(r) ||
    r.length !== 2 ||
    !r.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    (r[0] as number) >= (r[1] as number)
  ) {
    throw new DataError(
      'DATA_SCHEMA_INVALID',
      where,
      '"range" must be [min, max], two finite numbers with min < max.',
    );
  }
}

function checkDateColumn(
  column: Partial<DateColumn>,
  where: { file: string; column: string },
): void {
  if (column.format !== undefined && !DATE_FORMATS.includes(column.format)) {
    throw new DataError(
      'DATA_SCHEMA_INVALID',
      where,
      `"format" must be one of ${DATE_FORMATS.join(', ')}.`,
    );
  }
  if (column.reference !== undefined && isoDay(column.reference) === undefined) {
    throw new DataError(
      'DATA_SCHEMA_INVALID',
      where,
      '"reference" must be a date written YYYY-MM-DD.',
    );
  }
}

function isStringList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.every((v) => typeof v === 'string') &&
    new Set(value).size === value.length
  );
}

/** The columns that become numeric features (numeric and date), in schema order. */
export function numericFeatureColumns(schema: DataSchema): (NumericColumn | DateColumn)[] {
  return schema.columns.filter(
    (c): c is NumericColumn | DateColumn => c.type === 'numeric' || c.type === 'date',
  );
}

/** The schema's label column. */
export function labelColumn(schema: DataSchema): LabelColumn {
  return schema.columns.find((c): c is LabelColumn => c.type === 'label') as LabelColumn;
}
