// Update-level differential privacy: clip the update Δ to L2 norm C and add N(0, σ²C²) to every
// coordinate (the Gaussian mechanism; C. Dwork, A. Roth, "The Algorithmic Foundations of
// Differential Privacy", 2014, and its use on model updates in H. B. McMahan et al., "Learning
// Differentially Private Recurrent Language Models", ICLR 2018).
//
// Sensitivity. After clipping, Δ lies in the ball of radius C whatever the data, so the updates
// from two datasets that differ in one patient record are at most 2C apart. With noise σC the
// accountant therefore sees noise multiplier σ/2 for record-level add/remove privacy. (Protecting
// a whole hospital as one unit, as DP-FedAvg's user-level privacy does when hospitals can be added
// or removed, needs only sensitivity C; fedledger states the record-level bound.)
import type { Tensor } from '@fedledger/protocol';
import { ConfigError } from '../errors';
import type { RandomSource } from '../random';
import { cryptoRandom } from '../random';
import type { PrivacyEvent } from './accountant';

/** Update-level DP parameters. */
export interface UpdateDpOptions {
  clipNorm: number;
  /** σ: the noise standard deviation per coordinate is σ·C. */
  noiseMultiplier: number;
  /** Randomness for the noise; default {@link cryptoRandom}. Seed it only in tests. */
  random?: RandomSource;
}

/** The privatised update and what was done to it. */
export interface PrivatisedUpdate {
  tensors: Tensor[];
  /** ‖Δ‖₂ before clipping. */
  originalNorm: number;
  /** The factor Δ was multiplied by (1 when it was already within C). */
  clipScale: number;
  event: PrivacyEvent;
}

/** L2 sensitivity of a clipped update, in units of C, under add/remove of one record. */
export const UPDATE_SENSITIVITY_FACTOR = 2;

/** L2 norm over all tensors together. */
export function globalL2Norm(tensors: readonly Tensor[]): number {
  let sum = 0;
  for (const t of tensors) for (const v of t.data) sum += v * v;
  return Math.sqrt(sum);
}

/** The accountant's event for one update-level release with noise multiplier σ. */
export function updateDpEvent(noiseMultiplier: number): PrivacyEvent {
  return {
    mechanism: 'gaussian',
    noiseMultiplier: noiseMultiplier / UPDATE_SENSITIVITY_FACTOR,
    samplingRate: 1,
    count: 1,
  };
}

/**
 * Clips `update` to L2 norm C and adds Gaussian noise of standard deviation σ·C per coordinate.
 * @throws {ConfigError} for a non-positive clipping norm or a negative noise multiplier.
 */
export function privatiseUpdate(
  update: readonly Tensor[],
  options: Readonly<UpdateDpOptions>,
): PrivatisedUpdate {
  const { clipNorm, noiseMultiplier } = options;
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm)) {
    throw new ConfigError(`The clipping norm must be a positive number, not ${clipNorm}.`);
  }
  if (!(noiseMultiplier >= 0) || !Number.isFinite(noiseMultiplier)) {
    throw new ConfigError(`The noise multiplier must be a number ≥ 0, not ${noiseMultiplier}.`);
  }
  const random = options.random ?? cryptoRandom();
  const originalNorm = globalL2Norm(update);
  const clipScale = Math.min(1, clipNorm / Math.max(originalNorm, 1e-12));
  const std = noiseMultiplier * clipNorm;
  const tensors: Tensor[] = update.map((t) => {
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++)
      data[i] = (t.data[i] as number) * clipScale + std * random.gaussian();
    return { name: t.name, dtype: 'F32', shape: [...t.shape], data };
  });
  return { tensors, originalNorm, clipScale, event: updateDpEvent(noiseMultiplier) };
}
