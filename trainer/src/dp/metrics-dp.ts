// Validation metrics a hospital may share with the consortium under differential privacy: the
// confusion matrix of its validation split with Gaussian noise, from which accuracy and macro
// precision, recall and F1 follow as post-processing (no further privacy cost).
//
// Adding or removing one validation record changes exactly one cell of the confusion matrix by
// one, so the matrix has L2 sensitivity 1 and N(0, σ²) per cell is the Gaussian mechanism with
// noise multiplier σ; the release is one `gaussian` event for the accountant. The row count
// itself is not released (the denominator is the noised total). The loss is not shared: a row's
// cross-entropy is unbounded up to its clipping, which would cost far more noise.
import type { PrivacyEvent } from './accountant';
import type { RandomSource } from '../random';
import { cryptoRandom } from '../random';

/** The metric names a noised release carries (protocol's UPDATE_METRICS, less the loss). */
export const NOISED_METRICS = ['accuracy', 'macro_f1', 'macro_precision', 'macro_recall'] as const;

/** What a noised release gives out, and what it costs. */
export interface NoisedMetrics {
  metrics: Record<(typeof NOISED_METRICS)[number], number>;
  event: PrivacyEvent;
}

/**
 * Noises `confusion` (confusion[true][predicted]) with N(0, σ²) per cell and derives the metrics.
 * @throws {RangeError} when σ is not positive.
 */
export function noisedMetrics(
  confusion: readonly (readonly number[])[],
  noiseMultiplier: number,
  random: RandomSource = cryptoRandom(),
): NoisedMetrics {
  if (!(noiseMultiplier > 0) || !Number.isFinite(noiseMultiplier)) {
    throw new RangeError(
      `Shared metrics need a positive noise multiplier, not ${noiseMultiplier}.`,
    );
  }
  const k = confusion.length;
  // Negative noised counts are clamped (post-processing): a count cannot be negative.
  const noised = confusion.map((row) =>
    row.map((count) => Math.max(0, count + noiseMultiplier * random.gaussian())),
  );
  let total = 0;
  let correct = 0;
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  for (let c = 0; c < k; c++) {
    const row = noised[c] as number[];
    const tp = row[c] as number;
    correct += tp;
    const actual = row.reduce((a, b) => a + b, 0);
    total += actual;
    const predicted = noised.reduce((a, r) => a + (r[c] as number), 0);
    const p = predicted > 0 ? tp / predicted : 0;
    const r = actual > 0 ? tp / actual : 0;
    precision += p;
    recall += r;
    f1 += p + r > 0 ? (2 * p * r) / (p + r) : 0;
  }
  return {
    metrics: {
      accuracy: total > 0 ? correct / total : 0,
      macro_f1: f1 / k,
      macro_precision: precision / k,
      macro_recall: recall / k,
    },
    event: { mechanism: 'gaussian', samplingRate: 1, noiseMultiplier, count: 1 },
  };
}
