// The schema of a hospital extract: what each CSV column is (numeric feature, categorical feature,
// the label, or an identifier to drop) and which strings mean "missing".
import { readFileSync } from 'node:fs';
import { DataError } from '../errors';

/** A continuous feature: standardised, missing values imputed with the mean. */
export interface NumericColumn {
  name: string;
  type: 'numeric';
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

/** One column of a schema. */
export type ColumnSchema = NumericColumn | CategoricalColumn | LabelColumn | IdColumn;

/** A hospital extract's schema file. */
export interface DataSchema {
  columns: ColumnSchema[];
  /** Cell values read as missing; default `["", "NA", "NaN", "null"]`. */
  missingValues?: string[];
}

export const DEFAULT_MISSING_VALUES: readonly string[] = ['', 'NA', 'NaN', 'null'];

const TYPES = new Set(['numeric', 'categorical', 'label', 'id']);

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
        'the type must be numeric, categorical, label or id.',
      );
    }
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

function isStringList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.every((v) => typeof v === 'string') &&
    new Set(value).size === value.length
  );
}

/** The schema's label column. */
export function labelColumn(schema: DataSchema): LabelColumn {
  return schema.columns.find((c): c is LabelColumn => c.type === 'label') as LabelColumn;
}
