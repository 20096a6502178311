// FedAvg folded over a round's updates one at a time: each update's bytes are read, judged,
// added into a float64 running sum and let go, so deciding a round holds one update and the model
// in memory however many hospitals take part. The sum runs in MSP ID order with the operations of
// fedAvg (n_k·Δ_k added per coordinate, one division at the end), so the bytes equal those of
// fedAvg over every update held at once.
import type { ExcludedUpdate, ModelSpec, UpdateRecord } from '@fedledger/protocol';
import type { JudgeInput } from './judge-update';
import { judge } from './judge-update';
import { flattenTensors, l2Norm } from './strategies';

/** The fold's result: what passed, what did not, and Σ n_k·Δ_k / Σ n_k over what passed. */
export interface FedAvgFold {
  /** MSP IDs of the updates that passed every rule, in MSP ID order. */
  valid: string[];
  excluded: ExcludedUpdate[];
  /** Σ n_k over `valid`. */
  samples: number;
  /** The weighted mean Δ over `valid` (absent when none passed). */
  delta?: Float64Array;
  /** The valid update with the largest n_k·‖Δ_k‖ (the one left out should the model overflow). */
  largest?: { mspId: string; sha256: string };
  /** Why fedAvg could not aggregate these updates (the first problem in MSP ID order). */
  problem?: string;
}

/**
 * Judges `records` (sorted by MSP ID) one at a time, leaving out the MSP IDs in `leftOut`, and
 * folds each valid update into the weighted sum.
 */
export async function foldFedAvg(
  input: JudgeInput,
  records: readonly UpdateRecord[],
  modelSpec: ModelSpec,
  leftOut: ReadonlySet<string>,
): Promise<FedAvgFold> {
  const fold: FedAvgFold = { valid: [], excluded: [], samples: 0 };
  let sum: Float64Array | undefined;
  let bestSize = -1;
  for (const record of records) {
    if (leftOut.has(record.mspId)) continue;
    const verdict = await judge(input, record);
    if ('code' in verdict) {
      fold.excluded.push({
        mspId: record.mspId,
        sha256: record.sha256,
        onLedger: true,
        ...verdict,
      });
      continue;
    }
    const delta =
      verdict.checked.delta ?? flattenTensors(verdict.checked.container.tensors, modelSpec);
    const n = record.sampleCount;
    const previous = fold.valid[fold.valid.length - 1];
    fold.valid.push(record.mspId);
    const size = n * l2Norm(delta);
    if (!(size <= bestSize)) {
      fold.largest = { mspId: record.mspId, sha256: record.sha256 };
      bestSize = size;
    }
    if (fold.problem !== undefined) continue;
    sum ??= new Float64Array(delta.length);
    if (delta.length !== sum.length) {
      fold.problem = `Update ${record.mspId} has ${delta.length} parameters; the others have ${sum.length}.`;
    } else if (previous === record.mspId) {
      fold.problem = `Two updates come from ${record.mspId}.`;
    } else if (!Number.isSafeInteger(n) || n <= 0) {
      fold.problem = `Update ${record.mspId} has sample count ${n}; FedAvg needs > 0.`;
    } else {
      fold.samples += n;
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + n * (delta[i] as number);
    }
  }
  if (sum !== undefined && fold.problem === undefined) {
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) / fold.samples;
    fold.delta = sum;
  }
  return fold;
}
