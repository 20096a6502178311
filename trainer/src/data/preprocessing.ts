// Fitted preprocessing, as the reference study does it: standardised numeric columns, one-hot
// categoricals, mean (numeric) and mode (categorical) imputation. Fitted once on a training split,
// saved as JSON, and reused unchanged for evaluation and inference.
import { readFileSync, writeFileSync } from 'node:fs';
import { DataError } from '../errors';
import type { Dataset } from './dataset';
import type { DataSchema } from './schema';
import type { RawTable } from './table';

/** The fitted preprocessing of one schema; a JSON document (`format: fedledger-preprocessing/1`). */
export interface Preprocessing {
  format: 'fedledger-preprocessing/1';
  /** Numeric columns: mean (also the imputed value) and standard deviation. */
  numeric: { name: string; mean: number; std: number }[];
  /** Categorical columns: one-hot order and the mode imputed for missing cells. */
  categorical: { name: string; categories: string[]; mode: string }[];
  label: { name: string; classes: string[] };
  /** Names of the model's input features, in order. */
  featureNames: string[];
}

/** Fits the preprocessing on the rows `indices` of `table` (the training split). */
export function fitPreprocessing(
  table: RawTable,
  schema: DataSchema,
  indices: ArrayLike<number>,
): Preprocessing {
  const numeric = [...table.numeric].map(([name, values]) => {
    let sum = 0;
    let n = 0;
    for (let k = 0; k < indices.length; k++) {
      const v = values[indices[k] as number] as number;
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    const mean = n > 0 ? sum / n : 0;
    let squares = 0;
    for (let k = 0; k < indices.length; k++) {
      const v = values[indices[k] as number] as number;
      if (!Number.isNaN(v)) squares += (v - mean) * (v - mean);
    }
    const std = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
    return { name, mean, std: std > 1e-12 ? std : 1 };
  });
  const categorical = [...table.categorical].map(([name, values]) => {
    const declared = schema.columns.find((c) => c.name === name);
    const counts = new Map<string, number>();
    for (let k = 0; k < indices.length; k++) {
      const v = values[indices[k] as number];
      if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const categories =
      declared?.type === 'categorical' && declared.categories
        ? [...declared.categories]
        : [...new Set(values.filter((v): v is string => v !== null))].sort();
    // Mode: most frequent; ties go to the earlier category so the result is deterministic.
    let mode = categories[0] ?? '';
    let best = -1;
    for (const c of categories) {
      const n = counts.get(c) ?? 0;
      if (n > best) {
        best = n;
        mode = c;
      }
    }
    return { name, categories, mode };
  });
  const featureNames = [
    ...numeric.map((c) => c.name),
    ...categorical.flatMap((c) => c.categories.map((v) => `${c.name}=${v}`)),
  ];
  return {
    format: 'fedledger-preprocessing/1',
    numeric,
    categorical,
    label: { name: labelName(schema), classes: [...table.classes] },
    featureNames,
  };
}

function labelName(schema: DataSchema): string {
  return schema.columns.find((c) => c.type === 'label')?.name ?? '';
}

/**
 * Applies fitted preprocessing to the rows `indices` of `table`.
 * @throws {DataError} `DATA_PREPROCESSING_MISMATCH` when the table's columns or classes differ.
 */
export function applyPreprocessing(
  table: RawTable,
  prep: Preprocessing,
  indices: ArrayLike<number>,
): Dataset {
  const d = prep.featureNames.length;
  const rows = indices.length;
  const features = new Float32Array(rows * d);
  const labels = new Int32Array(rows);
  if (prep.label.classes.join('\n') !== table.classes.join('\n')) {
    throw new DataError(
      'DATA_PREPROCESSING_MISMATCH',
      { file: table.file, column: prep.label.name },
      'the label classes differ from those the preprocessing was fitted with.',
    );
  }
  let offset = 0;
  for (const { name, mean, std } of prep.numeric) {
    const values = table.numeric.get(name);
    if (!values) throw mismatch(table.file, name);
    for (let k = 0; k < rows; k++) {
      const v = values[indices[k] as number] as number;
      features[k * d + offset] = Number.isNaN(v) ? 0 : (v - mean) / std;
    }
    offset++;
  }
  for (const { name, categories, mode } of prep.categorical) {
    const values = table.categorical.get(name);
    if (!values) throw mismatch(table.file, name);
    const position = new Map(categories.map((c, i) => [c, i]));
    const modeAt = position.get(mode) ?? 0;
    for (let k = 0; k < rows; k++) {
      const v = values[indices[k] as number];
      // Unseen categories are imputed like missing ones; loadTable already bounded how many exist.
      const at = v === null || v === undefined ? modeAt : (position.get(v) ?? modeAt);
      features[k * d + offset + at] = 1;
    }
    offset += categories.length;
  }
  for (let k = 0; k < rows; k++) labels[k] = table.labels[indices[k] as number] as number;
  return { features, labels, rows, featureDim: d, classes: [...prep.label.classes] };
}

function mismatch(file: string, column: string): DataError {
  return new DataError(
    'DATA_PREPROCESSING_MISMATCH',
    { file, column },
    'the preprocessing expects this column but the data has none.',
  );
}

/** Writes the fitted preprocessing as pretty JSON. */
export function savePreprocessing(file: string, prep: Preprocessing): void {
  writeFileSync(file, `${JSON.stringify(prep, null, 2)}\n`);
}

/**
 * Reads fitted preprocessing saved by {@link savePreprocessing}.
 * @throws {DataError} when the file is missing or not a fedledger-preprocessing/1 document.
 */
export function loadPreprocessing(file: string): Preprocessing {
  let value: Partial<Preprocessing>;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as Partial<Preprocessing>;
  } catch (error) {
    throw new DataError(
      'DATA_FILE_MISSING',
      { file },
      'the preprocessing file cannot be read as JSON.',
      { cause: error },
    );
  }
  if (
    value.format !== 'fedledger-preprocessing/1' ||
    !Array.isArray(value.featureNames) ||
    !value.label
  ) {
    throw new DataError(
      'DATA_PREPROCESSING_MISMATCH',
      { file },
      'the file is not fedledger-preprocessing/1 JSON.',
    );
  }
  return value as Preprocessing;
}
