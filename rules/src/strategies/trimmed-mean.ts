// Coordinate-wise trimmed mean (Yin et al., 2018): drop the extremes, average the rest.
import type { AggregateResult, ClientUpdate, Strategy, StrategyParams } from './strategy';
import { orderedUpdates } from './strategy';

/**
 * For each coordinate, sorts the m values, drops ⌊β·m⌋ from each end and takes the unweighted
 * mean of the rest (float64, summed in ascending order). β is `params.trimFraction` (default 0.1).
 * @throws {RangeError} when β is outside [0, 0.5) or trimming would leave no value.
 */
export const trimmedMean: Strategy = (
  updates: readonly ClientUpdate[],
  params: StrategyParams = {},
): AggregateResult => {
  const ordered = orderedUpdates(updates);
  const beta = params.trimFraction ?? 0.1;
  if (!(beta >= 0 && beta < 0.5)) {
    throw new RangeError(`trimFraction must be in [0, 0.5); it is ${beta}.`);
  }
  const m = ordered.length;
  const cut = Math.floor(beta * m);
  const kept = m - 2 * cut;
  if (kept < 1) throw new RangeError(`Trimming ${cut} of ${m} updates at each end leaves none.`);
  const length = ordered[0]?.delta.length ?? 0;
  const out = new Float64Array(length);
  const column = new Float64Array(m);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < m; k++) column[k] = ordered[k]?.delta[i] as number;
    column.sort();
    let sum = 0;
    for (let k = cut; k < m - cut; k++) sum += column[k] as number;
    out[i] = sum / kept;
  }
  return { delta: out, selected: ordered.map((u) => u.mspId) };
};
