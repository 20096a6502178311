// A hospital's extract, end to end: CSV + schema → splits → fitted (or reused) preprocessing →
// oversampled training set. What `train`, `baseline` and `evaluate` all go through.
import { seededRandom } from '../random';
import { imputationWarnings } from './imputation';
import type { Dataset } from './dataset';
import { classCounts } from './dataset';
import type { Preprocessing } from './preprocessing';
import { applyPreprocessing, fitPreprocessing } from './preprocessing';
import type { DataSchema } from './schema';
import { loadSchema } from './schema';
import type { SplitFractions } from './split';
import { oversampleMinorityClasses, splitIndices } from './split';
import type { LoadTableOptions } from './table';
import type { RawTable } from './table';
import { concatTables, loadTable } from './table';

/** Inputs of {@link prepareHospitalData}. */
export interface HospitalDataOptions extends LoadTableOptions {
  /** The extract; several files (same schema) are pooled, as for the centralised baseline. */
  csvFile: string | readonly string[];
  /** The schema, or the path of its JSON file. */
  schema: DataSchema | string;
  /** Reuse this fitted preprocessing instead of fitting on the training split. */
  preprocessing?: Preprocessing;
  /** Seed of the split and the oversampling; default 42. */
  seed?: number | string;
  fractions?: SplitFractions;
  /** Oversample minority classes in the training split; default true. */
  oversample?: boolean;
}

/** A hospital's prepared splits. */
export interface HospitalData {
  /** Training split, oversampled unless disabled. */
  train: Dataset;
  /**
   * Training split before oversampling: its size is the update's sample count, and DP-SGD trains
   * on it, because duplicated records would weigh more than the accountant assumes.
   */
  trainOriginal: Dataset;
  validation: Dataset;
  test: Dataset;
  preprocessing: Preprocessing;
  /** Rows per class in the whole file. */
  classCounts: number[];
  /** Notes for the operator: the imputed cells per column, the first ones named (file:row). */
  warnings: string[];
}

/**
 * Loads and prepares one hospital's data.
 * @throws {DataError} for any problem with the files (see loadSchema and loadTable).
 */
export function prepareHospitalData(options: Readonly<HospitalDataOptions>): HospitalData {
  const schema = typeof options.schema === 'string' ? loadSchema(options.schema) : options.schema;
  const files = typeof options.csvFile === 'string' ? [options.csvFile] : options.csvFile;
  const table = concatTables(files.map((file) => loadTable(file, schema, options)));
  const seed = options.seed ?? 42;
  const split = splitIndices(table.labels, table.classes.length, seed, options.fractions);
  const preprocessing = options.preprocessing ?? fitPreprocessing(table, schema, split.train);
  const trainRaw = applyPreprocessing(table, preprocessing, split.train);
  const train =
    options.oversample === false
      ? trainRaw
      : oversampleMinorityClasses(trainRaw, seededRandom(`${String(seed)}/oversample`));
  const warnings = [...imputationWarnings(table.imputed), ...tableWarnings(table)];
  return {
    train,
    trainOriginal: trainRaw,
    validation: applyPreprocessing(table, preprocessing, split.validation),
    test: applyPreprocessing(table, preprocessing, split.test),
    preprocessing,
    classCounts: classCounts(table),
    warnings,
  };
}

/**
 * Warnings about the rows themselves: rows skipped for want of a label, and classes without rows
 * (a hospital with no positive cases still trains; its updates carry only the other classes).
 */
export function tableWarnings(table: RawTable): string[] {
  const lines: string[] = [];
  const u = table.unlabelled;
  if (u.count > 0) {
    const first = u.firstLines.map((l) => `line ${l}`).join(', ');
    lines.push(
      `${u.count.toLocaleString('en')} row${u.count === 1 ? '' : 's'} without a label skipped (${u.count > u.firstLines.length ? 'first: ' : ''}${first} of ${table.file}); --refuse-unlabelled stops instead`,
    );
  }
  const counts = classCounts(table);
  counts.forEach((n, c) => {
    if (n === 0) {
      lines.push(
        `class "${table.classes[c] ?? c}" has no rows in ${table.file}: this hospital trains on the other classes only, and its own test split cannot measure that class`,
      );
    }
  });
  return lines;
}
