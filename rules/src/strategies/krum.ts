// Krum and Multi-Krum (Blanchard et al., 2017): pick the updates closest to their neighbours.
import { fedAvg } from './fedavg';
import type { AggregateResult, ClientUpdate, Strategy, StrategyParams } from './strategy';
import { orderedUpdates } from './strategy';

/**
 * Krum score of every update: the sum of squared Euclidean distances to its m − f − 2 nearest
 * other updates (float64), in MSP ID order.
 * @throws {RangeError} unless m ≥ 2f + 3.
 */
export function krumScores(ordered: readonly ClientUpdate[], byzantine: number): number[] {
  const m = ordered.length;
  if (!Number.isSafeInteger(byzantine) || byzantine < 0) {
    throw new RangeError(`byzantine must be a non-negative integer; it is ${byzantine}.`);
  }
  if (m < 2 * byzantine + 3) {
    throw new RangeError(
      `Krum with f = ${byzantine} needs at least ${2 * byzantine + 3} updates; got ${m}.`,
    );
  }
  const distances = ordered.map(() => new Float64Array(m));
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      const x = ordered[a]?.delta ?? new Float64Array();
      const y = ordered[b]?.delta ?? new Float64Array();
      let d = 0;
      for (let i = 0; i < x.length; i++) {
        const diff = (x[i] as number) - (y[i] as number);
        d += diff * diff;
      }
      (distances[a] as Float64Array)[b] = d;
      (distances[b] as Float64Array)[a] = d;
    }
  }
  const neighbours = m - byzantine - 2;
  return distances.map((row, a) => {
    const others = [...row].filter((_, b) => b !== a).sort((p, q) => p - q);
    return others.slice(0, neighbours).reduce((s, d) => s + d, 0);
  });
}

/** Indices of the `count` lowest scores; ties go to the earlier MSP ID. */
function best(scores: readonly number[], count: number): number[] {
  return scores
    .map((score, index) => ({ score, index }))
    .sort((p, q) => p.score - q.score || p.index - q.index)
    .slice(0, count)
    .map((s) => s.index)
    .sort((p, q) => p - q);
}

/**
 * Krum: the single update with the lowest score, unchanged (as float64).
 * `params.byzantine` is f (default 0).
 * @throws {RangeError} unless m ≥ 2f + 3.
 */
export const krum: Strategy = (
  updates: readonly ClientUpdate[],
  params: StrategyParams = {},
): AggregateResult => {
  const ordered = orderedUpdates(updates);
  const [index] = best(krumScores(ordered, params.byzantine ?? 0), 1);
  const chosen = ordered[index ?? 0] as ClientUpdate;
  return { delta: Float64Array.from(chosen.delta), selected: [chosen.mspId] };
};

/**
 * Multi-Krum: FedAvg over the `params.multiKrumSelect` (default m − f) best-scored updates.
 * @throws {RangeError} unless m ≥ 2f + 3 and 1 ≤ selection ≤ m.
 */
export const multiKrum: Strategy = (
  updates: readonly ClientUpdate[],
  params: StrategyParams = {},
): AggregateResult => {
  const ordered = orderedUpdates(updates);
  const f = params.byzantine ?? 0;
  const select = params.multiKrumSelect ?? ordered.length - f;
  if (!Number.isSafeInteger(select) || select < 1 || select > ordered.length) {
    throw new RangeError(`multiKrumSelect must be from 1 to ${ordered.length}; it is ${select}.`);
  }
  const chosen = best(krumScores(ordered, f), select).map((i) => ordered[i] as ClientUpdate);
  return fedAvg(chosen, {});
};
