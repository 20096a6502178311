// ε of a history of Gaussian and Poisson-subsampled Gaussian releases by privacy loss
// distributions: each distinct (q, σ) is discretised by connecting the dots (./pld-gaussian.ts),
// composed with itself by repeated squaring and with the others by convolution (./pld.ts), once
// for removing and once for adding a record; ε for δ is the larger of the two.
import type { PrivacyEvent } from './accountant';
import type { DiscretePld } from './pld';
import { composePlds, epsilonForDelta, identityPld, selfComposePld } from './pld';
import type { NeighbourDirection } from './pld-gaussian';
import { DEFAULT_PLD_INTERVAL, connectTheDots, subsampledGaussianPair } from './pld-gaussian';

/** Options of {@link pldEpsilon}. */
export interface PldOptions {
  /** Grid step of the privacy loss; default 1e-4 (dp_accounting's default). */
  interval?: number;
}

/** Events with the same mechanism, q and σ, merged into one with the summed count. */
function mergeEvents(events: readonly PrivacyEvent[]): PrivacyEvent[] {
  const merged = new Map<string, PrivacyEvent>();
  for (const e of events) {
    if (e.count === 0 || e.samplingRate === 0) continue;
    const key = `${e.samplingRate}/${e.noiseMultiplier}`;
    const seen = merged.get(key);
    if (seen) seen.count += e.count;
    else merged.set(key, { ...e });
  }
  return [...merged.values()];
}

/** The composed PLD of `events` in one direction. */
export function composedPld(
  events: readonly PrivacyEvent[],
  direction: NeighbourDirection,
  options: Readonly<PldOptions> = {},
): DiscretePld {
  const interval = options.interval ?? DEFAULT_PLD_INTERVAL;
  let total = identityPld(interval);
  for (const event of mergeEvents(events)) {
    if (event.noiseMultiplier === 0) {
      return { interval, offset: 0, masses: Float64Array.of(0), infinityMass: 1 };
    }
    const step = connectTheDots(
      subsampledGaussianPair(event.samplingRate, event.noiseMultiplier, direction),
      interval,
    );
    total = composePlds(total, selfComposePld(step, event.count));
  }
  return total;
}

/**
 * The smallest ε (to the grid's pessimistic precision) for which `events`, composed, are
 * (ε, δ)-DP under the add/remove relation.
 */
export function pldEpsilon(
  events: readonly PrivacyEvent[],
  delta: number,
  options: Readonly<PldOptions> = {},
): number {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must lie in (0, 1), not ${delta}.`);
  const merged = mergeEvents(events);
  if (merged.length === 0) return 0;
  const remove = epsilonForDelta(composedPld(merged, 'remove', options), delta);
  // Plain Gaussian releases are symmetric: adding a record costs what removing one does.
  if (merged.every((e) => e.samplingRate === 1)) return remove;
  return Math.max(remove, epsilonForDelta(composedPld(merged, 'add', options), delta));
}
