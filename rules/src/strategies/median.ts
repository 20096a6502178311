// Coordinate-wise median (Yin et al., 2018): robust to a minority of outlying updates.
import type { AggregateResult, ClientUpdate, Strategy, StrategyParams } from './strategy';
import { orderedUpdates } from './strategy';

/**
 * The median of each coordinate over the updates; with an even count, the mean of the two middle
 * values (computed in float64). Sample counts are ignored.
 * @throws {RangeError} for no updates or mismatched lengths.
 */
export const coordinateMedian: Strategy = (
  updates: readonly ClientUpdate[],
  _params: StrategyParams = {},
): AggregateResult => {
  const ordered = orderedUpdates(updates);
  const m = ordered.length;
  const length = ordered[0]?.delta.length ?? 0;
  const out = new Float64Array(length);
  const column = new Float64Array(m);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < m; k++) column[k] = ordered[k]?.delta[i] as number;
    column.sort();
    const mid = m >> 1;
    out[i] =
      m % 2 === 1
        ? (column[mid] as number)
        : ((column[mid - 1] as number) + (column[mid] as number)) / 2;
  }
  return { delta: out, selected: ordered.map((u) => u.mspId) };
};
