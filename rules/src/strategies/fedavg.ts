// FedAvg (McMahan et al., 2017): the sample-weighted mean of the updates.
import type { AggregateResult, ClientUpdate, Strategy, StrategyParams } from './strategy';
import { orderedUpdates } from './strategy';

/**
 * Σ_k n_k·Δ_k / Σ_k n_k, accumulated in float64 over updates in MSP ID order. The division comes
 * last, once per coordinate, so the result is reproducible bit for bit.
 * @throws {RangeError} for no updates, mismatched lengths or a non-positive sample count.
 */
export const fedAvg: Strategy = (
  updates: readonly ClientUpdate[],
  _params: StrategyParams = {},
): AggregateResult => {
  const ordered = orderedUpdates(updates);
  const length = ordered[0]?.delta.length ?? 0;
  const sum = new Float64Array(length);
  let total = 0;
  for (const u of ordered) {
    if (!Number.isSafeInteger(u.sampleCount) || u.sampleCount <= 0) {
      throw new RangeError(
        `Update ${u.mspId} has sample count ${u.sampleCount}; FedAvg needs > 0.`,
      );
    }
    total += u.sampleCount;
    const d = u.delta;
    for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + u.sampleCount * (d[i] as number);
  }
  for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) / total;
  return { delta: sum, selected: ordered.map((u) => u.mspId) };
};
