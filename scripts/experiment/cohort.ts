// The experiment's data: each hospital's table loaded once, and for every repeat the same rows
// split two ways — per hospital, under the shared preprocessing combined from every hospital's
// statistics (or, with --preprocessing per-site, each hospital's own), and pooled under one
// preprocessing fitted on all training rows (the centralised arm). Both arms therefore train,
// validate and test on exactly the same patients.
import type { DataSchema, Dataset, Preprocessing, RawTable } from '@fedledger/trainer';
import { combinePreprocessingStatistics } from '@fedledger/protocol';
import {
  applyPreprocessing,
  computeStatistics,
  concatDatasets,
  concatTables,
  fitPreprocessing,
  loadSchema,
  loadTable,
  oversampleMinorityClasses,
  seededRandom,
  splitIndices,
} from '@fedledger/trainer';

/** One hospital's extract. */
export interface HospitalSource {
  /** File name without extension, for messages. */
  name: string;
  mspId: string;
  csvFile: string;
}

/** The hospitals' tables and their shared schema, loaded once per experiment. */
export interface Cohort {
  schema: DataSchema;
  hospitals: { source: HospitalSource; table: RawTable }[];
}

/** What local training needs from one hospital (the shape `trainLocalRound` takes). */
export interface HospitalSplits {
  mspId: string;
  /** Training split, minority classes oversampled (plain training). */
  train: Dataset;
  /** Training split as is (DP-SGD, and the update's sample count). */
  trainOriginal: Dataset;
  validation: Dataset;
  test: Dataset;
}

/** One repeat's splits. */
export interface RepeatData {
  hospitals: HospitalSplits[];
  /** The hospitals' validation and test splits pooled, each under its hospital's preprocessing. */
  federatedValidation: Dataset;
  federatedTest: Dataset;
  /** The same rows pooled under one preprocessing fitted on all hospitals' training rows. */
  centralised: { train: Dataset; validation: Dataset; test: Dataset };
}

/** Loads every hospital's CSV against the schema (file path or parsed). */
export function loadCohort(
  sources: readonly HospitalSource[],
  schema: string | DataSchema,
): Cohort {
  const parsed = typeof schema === 'string' ? loadSchema(schema) : schema;
  return {
    schema: parsed,
    hospitals: sources.map((source) => ({ source, table: loadTable(source.csvFile, parsed) })),
  };
}

/**
 * The schema with every categorical column's vocabulary fixed to `vocabulary`'s, so hospitals
 * that fit their own preprocessing still agree on the one-hot layout (the model's input width).
 */
function withVocabulary(schema: DataSchema, vocabulary: Preprocessing): DataSchema {
  return {
    ...schema,
    columns: schema.columns.map((c) => {
      const fitted = vocabulary.categorical.find((v) => v.name === c.name);
      return c.type === 'categorical' && fitted ? { ...c, categories: [...fitted.categories] } : c;
    }),
  };
}

function offsetIndices(parts: readonly Int32Array[], sizes: readonly number[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  let base = 0;
  parts.forEach((p, h) => {
    for (let i = 0; i < p.length; i++) out[at + i] = (p[i] as number) + base;
    at += p.length;
    base += sizes[h] ?? 0;
  });
  return out;
}

/**
 * Splits every hospital's rows with `seed` (80/10/10, stratified) and prepares both views; the
 * federated hospitals preprocess with the shared transform (default) or each with its own.
 */
export function splitCohort(
  cohort: Readonly<Cohort>,
  seed: number,
  preprocessing: 'shared' | 'per-site' = 'shared',
): RepeatData {
  const tables = cohort.hospitals.map((h) => h.table);
  const splits = tables.map((t) => splitIndices(t.labels, t.classes.length, seed));
  const pooledTable = concatTables(tables);
  const sizes = tables.map((t) => t.rows);
  const pooledTrain = offsetIndices(
    splits.map((s) => s.train),
    sizes,
  );
  const pooledPrep = fitPreprocessing(pooledTable, cohort.schema, pooledTrain);
  const schema = withVocabulary(cohort.schema, pooledPrep);
  // What `fedledger-trainer preprocess stats` / `combine` compute, without files in between.
  const shared =
    preprocessing === 'shared'
      ? combinePreprocessingStatistics(
          cohort.hospitals.map(({ source, table }, h) =>
            computeStatistics(table, schema, (splits[h] as (typeof splits)[number]).train, {
              contributor: source.mspId,
            }),
          ),
        )
      : undefined;
  const hospitals = cohort.hospitals.map(({ source, table }, h): HospitalSplits => {
    const split = splits[h] as (typeof splits)[number];
    const prep = shared ?? fitPreprocessing(table, schema, split.train);
    const trainOriginal = applyPreprocessing(table, prep, split.train);
    return {
      mspId: source.mspId,
      train: oversampleMinorityClasses(trainOriginal, seededRandom(`${seed}/${h}/oversample`)),
      trainOriginal,
      validation: applyPreprocessing(table, prep, split.validation),
      test: applyPreprocessing(table, prep, split.test),
    };
  });
  const centralTrain = applyPreprocessing(pooledTable, pooledPrep, pooledTrain);
  return {
    hospitals,
    federatedValidation: concatDatasets(hospitals.map((h) => h.validation)),
    federatedTest: concatDatasets(hospitals.map((h) => h.test)),
    centralised: {
      // Oversampled like each hospital's training split, so both arms follow the same recipe.
      train: oversampleMinorityClasses(centralTrain, seededRandom(`${seed}/pooled/oversample`)),
      validation: applyPreprocessing(
        pooledTable,
        pooledPrep,
        offsetIndices(
          splits.map((s) => s.validation),
          sizes,
        ),
      ),
      test: applyPreprocessing(
        pooledTable,
        pooledPrep,
        offsetIndices(
          splits.map((s) => s.test),
          sizes,
        ),
      ),
    },
  };
}
