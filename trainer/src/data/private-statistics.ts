// Differentially private preprocessing statistics: the Gaussian mechanism on the vector of counts,
// sums and sums of squares (Dwork and Roth 2014, Appendix A; RDP form by Mironov 2017, Prop. 7).
//
// Sensitivity (add/remove one patient, values clamped to the schema's `range` [a, b] and centred on
// its midpoint, so |x - offset| <= h = (b - a) / 2): per numeric or date column the count moves by
// at most 1, the sum by h and the sum of squares by h²; per categorical column one category count
// moves by 1. Each coordinate is divided by its own sensitivity, so one patient moves the scaled
// vector by at most sqrt(3 · numeric columns + categorical columns) in L2, and Gaussian noise with
// standard deviation z times that bound is added to every scaled coordinate: a Gaussian mechanism
// with noise multiplier z, one release. Its cost is returned as a privacy event for the run's
// accountant, so the statistics are paid for out of the same ε as training.
import type { PreprocessingStatistics } from '@fedledger/protocol';
import type { PrivacyEvent } from '../dp/accountant';
import { calibrateNoiseMultiplier, planEpsilon } from '../dp/calibrate';
import { PrivacyError } from '../errors';
import type { RandomSource } from '../random';
import type { DataSchema } from './schema';
import { numericFeatureColumns } from './schema';

/** The (ε, δ) the statistics may spend. */
export interface StatisticsPrivacyTarget {
  epsilon: number;
  delta: number;
}

/** Noised statistics and what they cost. */
export interface PrivateStatistics {
  statistics: PreprocessingStatistics;
  /** The release, to compose into the run's accountant (one Gaussian release). */
  event: PrivacyEvent;
  epsilon: number;
  delta: number;
}

/**
 * Adds calibrated Gaussian noise to statistics computed with clipping (computeStatistics with
 * `clip: true`) so that releasing them is (ε, δ)-differentially private.
 * @throws {PrivacyError} for an unusable target, or a numeric column without a clipping range.
 */
export function privatiseStatistics(
  exact: PreprocessingStatistics,
  schema: DataSchema,
  target: Readonly<StatisticsPrivacyTarget>,
  random: RandomSource,
): PrivateStatistics {
  if (!(target.delta > 0 && target.delta < 1)) {
    throw new PrivacyError(`δ must lie in (0, 1), not ${target.delta}.`);
  }
  const plan = [{ mechanism: 'gaussian' as const, samplingRate: 1, count: 1 }];
  const z = calibrateNoiseMultiplier({
    targetEpsilon: target.epsilon,
    delta: target.delta,
    plan,
  });
  const ranges = new Map(numericFeatureColumns(schema).map((c) => [c.name, c.range]));
  const l2 = Math.sqrt(3 * exact.numeric.length + exact.categorical.length);
  const noise = (sensitivity: number): number => random.gaussian() * z * l2 * sensitivity;
  const numeric = exact.numeric.map((c) => {
    const range = ranges.get(c.name);
    if (!range) {
      throw new PrivacyError(
        `column "${c.name}" has no clipping "range" in the schema; private statistics need one.`,
      );
    }
    const h = (range[1] - range[0]) / 2;
    return {
      ...c,
      count: c.count + noise(1),
      sum: c.sum + noise(h),
      sumSquares: c.sumSquares + noise(h * h),
    };
  });
  const categorical = exact.categorical.map((c) => ({
    ...c,
    counts: c.counts.map((n) => n + noise(1)),
  }));
  const epsilon = planEpsilon({ targetEpsilon: target.epsilon, delta: target.delta, plan }, z);
  return {
    statistics: {
      ...exact,
      numeric,
      categorical,
      dp: { mechanism: 'gaussian', noiseMultiplier: z, epsilon, delta: target.delta },
    },
    event: { mechanism: 'gaussian', noiseMultiplier: z, samplingRate: 1, count: 1 },
    epsilon,
    delta: target.delta,
  };
}
