// Which organisation a wrong FedAvg aggregate wronged. When the ledger's aggregate is not the one
// the rules give, the auditor fits the weights the ledger's model actually gives each included
// update (least squares of θ' − θ on the Δ_k) and names every organisation whose fitted weight is
// not its ledger share n_k / Σ n: an update left out shows weight 0, an inflated sample count a
// weight above its share. Pure; FedAvg only (other strategies are not linear in the updates).
import type { RunRecord } from '@fedledger/protocol';
import { decodeContainer } from '@fedledger/protocol';
import { runSettings } from './run-settings';
import { flattenTensors } from './strategies';

/** One included update's weight in the ledger's aggregate against its ledger share. */
export interface WeightFinding {
  mspId: string;
  /** n_k / Σ n from the ledger's sample counts. */
  expected: number;
  /** The weight that best explains the ledger's aggregate. */
  fitted: number;
}

/** Fitted weights differing from the ledger shares by more than this are reported. */
const TOLERANCE = 1e-3;

/**
 * Solves the small symmetric system A·x = b by Gaussian elimination with partial pivoting;
 * undefined when A is (numerically) singular, i.e. the updates are linearly dependent and no
 * weights are the only explanation.
 */
function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  const scale = Math.max(...a.map((row, i) => Math.abs(row[i] as number)));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    }
    if (!(Math.abs(m[pivot]![col]!) > 1e-9 * scale)) return undefined;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c] = m[r]![c]! - f * m[col]![c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/**
 * The included updates whose weight in `aggregateModel` is not their ledger share, or undefined
 * when the run is not FedAvg or the fit is impossible (identical updates, unreadable models).
 * `updates` are the included updates' bytes (already checked against the ledger).
 */
export function explainFedAvgMismatch(
  run: RunRecord,
  inputModel: Uint8Array,
  aggregateModel: Uint8Array,
  updates: readonly { mspId: string; sampleCount: number; bytes: Uint8Array }[],
): WeightFinding[] | undefined {
  if (run.strategy !== 'fedavg' || updates.length === 0) return undefined;
  const spec = runSettings(run).modelSpec;
  let target: Float64Array;
  let deltas: Float32Array[];
  try {
    const before = flattenTensors(decodeContainer(inputModel).tensors, spec);
    const after = flattenTensors(decodeContainer(aggregateModel).tensors, spec);
    target = Float64Array.from(after, (v, i) => v - (before[i] as number));
    deltas = updates.map((u) => flattenTensors(decodeContainer(u.bytes).tensors, spec));
  } catch {
    return undefined;
  }
  const n = deltas.length;
  const gram = deltas.map((x) =>
    deltas.map((y) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += (x[i] as number) * (y[i] as number);
      return s;
    }),
  );
  const rhs = deltas.map((x) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += (x[i] as number) * (target[i] as number);
    return s;
  });
  const weights = solve(gram, rhs);
  if (!weights || weights.some((w) => !Number.isFinite(w))) return undefined;
  const total = updates.reduce((s, u) => s + u.sampleCount, 0);
  const findings: WeightFinding[] = [];
  for (let k = 0; k < n; k++) {
    const u = updates[k]!;
    const expected = u.sampleCount / total;
    const fitted = weights[k]!;
    if (Math.abs(fitted - expected) > TOLERANCE)
      findings.push({ mspId: u.mspId, expected, fitted });
  }
  return findings;
}
