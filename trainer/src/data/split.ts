// Seeded, stratified train/validation/test splits and minority-class oversampling (training only).
import type { RandomSource } from '../random';
import { seededRandom, shuffleInPlace } from '../random';
import type { Dataset } from './dataset';
import { classCounts, selectRows } from './dataset';

/** Row indices of each split. */
export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/** Fractions of the train and validation splits; the rest is the test split. Default 0.8 / 0.1. */
export interface SplitFractions {
  train: number;
  validation: number;
}

/**
 * Splits row indices per class (so every split keeps the class mix), shuffled with `seed`.
 * Indices inside each split are sorted, which keeps files and results reproducible.
 */
export function splitIndices(
  labels: Int32Array,
  classes: number,
  seed: number | string,
  fractions: SplitFractions = { train: 0.8, validation: 0.1 },
): SplitIndices {
  const random = seededRandom(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((l, i) => (byClass[l] as number[]).push(i));
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const rows of byClass) {
    shuffleInPlace(rows, random);
    const nTrain = Math.round(rows.length * fractions.train);
    const nValidation = Math.round(rows.length * fractions.validation);
    train.push(...rows.slice(0, nTrain));
    validation.push(...rows.slice(nTrain, nTrain + nValidation));
    test.push(...rows.slice(nTrain + nValidation));
  }
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(train), validation: sorted(validation), test: sorted(test) };
}

/**
 * Random oversampling: duplicates rows of each smaller class (drawn with replacement) until every
 * class has as many rows as the largest, then shuffles. Apply to the training split only, so
 * validation and test keep the true class mix.
 */
export function oversampleMinorityClasses(data: Dataset, random: RandomSource): Dataset {
  const counts = classCounts(data);
  const target = Math.max(...counts);
  const byClass: number[][] = data.classes.map(() => []);
  data.labels.forEach((l, i) => (byClass[l] as number[]).push(i));
  const indices: number[] = [];
  byClass.forEach((rows) => {
    indices.push(...rows);
    for (let k = rows.length; k < target && rows.length > 0; k++) {
      indices.push(rows[random.integer(rows.length)] as number);
    }
  });
  shuffleInPlace(indices, random);
  return selectRows(data, indices);
}
