// A hospital's side of federated preprocessing: the statistics its training rows contribute
// (exact, or noised under differential privacy), and the check that a shared transform received
// from elsewhere is the one the run recorded on the ledger before any row is transformed with it.
import type {
  CategoricalStatistics,
  NumericStatistics,
  PreprocessingStatistics,
  SharedPreprocessing,
} from '@fedledger/protocol';
import { preprocessingSha256 } from '@fedledger/protocol';
import { DataError } from '../errors';
import type { DataSchema } from './schema';
import { labelColumn, numericFeatureColumns } from './schema';
import type { RawTable } from './table';

/** Options of {@link computeStatistics}. */
export interface StatisticsOptions {
  /** The hospital (MSP ID or name) the statistics come from. */
  contributor: string;
  /**
   * Clamp numeric values to the schema's `range` before summing (required for private
   * statistics, where it bounds one patient's influence).
   */
  clip?: boolean;
}

/**
 * The statistics of the rows `indices` of `table` (the training split) that the shared transform
 * needs: per numeric or date column the count, sum and sum of squares of `x - offset` over
 * non-missing cells; per categorical column the count of each category (the declared vocabulary,
 * or the values seen, sorted).
 * @throws {DataError} `DATA_SCHEMA_INVALID` when `clip` is set and a column declares no range.
 */
export function computeStatistics(
  table: RawTable,
  schema: DataSchema,
  indices: ArrayLike<number>,
  options: Readonly<StatisticsOptions>,
): PreprocessingStatistics {
  const numeric = numericFeatureColumns(schema).map((column): NumericStatistics => {
    const values = table.numeric.get(column.name) as Float64Array;
    const range = column.range;
    if (options.clip && !range) {
      throw new DataError(
        'DATA_SCHEMA_INVALID',
        { file: table.file, column: column.name },
        'private statistics need a clipping "range": [min, max] on every numeric and date column.',
      );
    }
    const offset = range ? (range[0] + range[1]) / 2 : 0;
    let count = 0;
    let sum = 0;
    let sumSquares = 0;
    for (let k = 0; k < indices.length; k++) {
      let v = values[indices[k] as number] as number;
      if (Number.isNaN(v)) continue;
      if (options.clip && range) v = Math.min(range[1], Math.max(range[0], v));
      const d = v - offset;
      count++;
      sum += d;
      sumSquares += d * d;
    }
    return { name: column.name, offset, count, sum, sumSquares };
  });
  const categorical = schema.columns.flatMap((column): CategoricalStatistics[] => {
    if (column.type !== 'categorical') return [];
    const values = table.categorical.get(column.name) ?? [];
    if (options.clip && !column.categories) {
      // Listing the categories seen would reveal that some patient has a rare one.
      throw new DataError(
        'DATA_SCHEMA_INVALID',
        { file: table.file, column: column.name },
        'private statistics need the column\'s "categories" declared in the schema.',
      );
    }
    const counts = new Map<string, number>();
    for (let k = 0; k < indices.length; k++) {
      const v = values[indices[k] as number];
      if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const categories = column.categories ? [...column.categories] : [...counts.keys()].sort();
    return [{ name: column.name, categories, counts: categories.map((c) => counts.get(c) ?? 0) }];
  });
  const label = labelColumn(schema);
  return {
    format: 'fedledger-preprocessing-statistics/1',
    contributor: options.contributor,
    numeric,
    categorical,
    label: { name: label.name, classes: [...label.classes] },
  };
}

/** Thrown when a shared transform is not the one a run recorded on the ledger. */
export class TransformMismatchError extends DataError {
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string, source: string) {
    super(
      'DATA_PREPROCESSING_MISMATCH',
      { file: source },
      `the preprocessing hashes to ${actual}, but the run records ${expected} on the ledger: it is not the shared transform the other hospitals apply; refusing to use it (pass the run's shared preprocessing with --preprocessing).`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Checks that `transform` hashes to `expectedSha256` (the run's `settings.preprocessingSha256`)
 * and returns its hash.
 * @throws {TransformMismatchError} when it does not.
 */
export function verifySharedTransform(
  transform: SharedPreprocessing,
  expectedSha256: string,
  source = '',
): string {
  const actual = preprocessingSha256(transform);
  if (actual !== expectedSha256) {
    throw new TransformMismatchError(expectedSha256, actual, source || '(given)');
  }
  return actual;
}
