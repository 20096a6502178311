// The one interface every aggregation strategy implements: pure functions over flat vectors.

/** One valid update, flattened in model-spec tensor order. */
export interface ClientUpdate {
  mspId: string;
  sampleCount: number;
  /** Δ_k, one element per model parameter. */
  delta: Float32Array | Float64Array;
}

/** Parameters some strategies take; recorded in the run's settings on the ledger. */
export interface StrategyParams {
  /** Trimmed mean: the fraction of values dropped at each end of every coordinate (0 ≤ β < 0.5). */
  trimFraction?: number;
  /** Krum / Multi-Krum: the number of Byzantine clients tolerated (f). */
  byzantine?: number;
  /** Multi-Krum: how many of the best-scored updates are averaged (default m − f). */
  multiKrumSelect?: number;
}

/** The aggregate Δ, accumulated in float64, and the updates it was computed from. */
export interface AggregateResult {
  delta: Float64Array;
  /** MSP IDs whose Δ entered the arithmetic (Krum picks a subset), sorted. */
  selected: string[];
}

/**
 * An aggregation strategy: no I/O, deterministic for a given input (updates are taken in MSP ID
 * order whatever order they arrive in).
 * @throws {RangeError} when the inputs cannot be aggregated (none, mismatched lengths, too few for
 * the strategy's parameters).
 */
export type Strategy = (
  updates: readonly ClientUpdate[],
  params: StrategyParams,
) => AggregateResult;

/** Updates in MSP ID order, after checking they are non-empty and of one length. */
export function orderedUpdates(updates: readonly ClientUpdate[]): ClientUpdate[] {
  if (updates.length === 0) throw new RangeError('At least one update is needed to aggregate.');
  const length = updates[0]?.delta.length ?? 0;
  for (const u of updates) {
    if (u.delta.length !== length) {
      throw new RangeError(
        `Update ${u.mspId} has ${u.delta.length} parameters; the others have ${length}.`,
      );
    }
  }
  const sorted = [...updates].sort((a, b) => (a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.mspId === sorted[i - 1]?.mspId) {
      throw new RangeError(`Two updates come from ${sorted[i]?.mspId ?? ''}.`);
    }
  }
  return sorted;
}
