// How a round is decided: which of its ledger-recorded updates count, why each other one does not,
// and the aggregate of those that count. The one definition of "what makes an update count": the
// gateway's coordinator calls it on the bytes in its blob store before it writes CloseRound, and
// an auditor's verifier calls it on bytes it gathered itself and compares the result with the
// ledger's close record. Pure: no I/O, no clock; every input is passed in and re-hashed here.
import type {
  ExcludedUpdate,
  RecoveryEntry,
  RoundRecord,
  RunRecord,
  UpdateRecord,
} from '@fedledger/protocol';
import { NonFiniteValueError, sha256Hex } from '@fedledger/protocol';
import { aggregateModel, sealAggregate } from './aggregate-model';
import type { SecAggInput } from './decide-secagg';
import { decideSecAggRound } from './decide-secagg';
import type { EncryptedAggregator } from './encrypted';
import type { UpdateBytes, ValidUpdate } from './judge-update';
import { byMsp, judge } from './judge-update';
import { runSettings } from './run-settings';
import type { ClientUpdate } from './strategies';
import { flattenTensors, l2Norm } from './strategies';
import { foldFedAvg } from './streaming-fedavg';

/** Everything a round's decision depends on. */
export interface RoundInput {
  run: RunRecord;
  round: Pick<RoundRecord, 'round' | 'inputModelHash' | 'secagg'>;
  /** The round's update records, as the ledger holds them. */
  records: readonly UpdateRecord[];
  /**
   * The bytes at hand, by the SHA-256 the ledger names: a map, or a reader (the gateway's blob
   * store) that a FedAvg round calls for one update at a time. Not trusted: they are re-hashed
   * here; a name with no bytes is an update whose bytes are missing.
   */
  bytes: UpdateBytes;
  /** The round's input model (plaintext runs), re-hashed against `round.inputModelHash`. */
  inputModel?: Uint8Array;
  /** Uploads the gateway saw that never got a ledger record; reported as NOT_ON_LEDGER. */
  offLedger?: readonly { mspId: string; sha256: string }[];
  /** Checks and sums CKKS ciphertexts (encrypted runs). */
  encrypted?: EncryptedAggregator;
  /** Key advertisements and reveals (secure-aggregation runs). */
  secagg?: SecAggInput;
}

/** The decision: what counts, what does not and why, and the aggregate when the quorum is met. */
export interface RoundDecision {
  /** MSP IDs whose updates enter the aggregate, sorted. */
  included: string[];
  /** Every other update, sorted by MSP ID, each with its code and a sentence. */
  excluded: ExcludedUpdate[];
  /** How many updates passed every rule (before the strategy selects among them). */
  valid: number;
  /** True when at least the run's `minUpdatesPerRound` updates passed every rule. */
  quorumMet: boolean;
  /** The next global model (plaintext) or the encrypted aggregate; absent without a quorum. */
  aggregate?: { bytes: Uint8Array; sha256: string };
  /** Secure-aggregation runs: the reveals the aggregate was recovered with. */
  recovery?: RecoveryEntry[];
}

/** Why a round could not be decided at all (as opposed to an update being excluded). */
export type RoundDecisionErrorCode =
  'INPUT_MODEL_UNAVAILABLE' | 'ENCRYPTED_UNSUPPORTED' | 'STRATEGY_FAILED' | 'SECAGG_UNRECOVERABLE';

/** The round cannot be decided from these inputs; `code` says why. */
export class RoundDecisionError extends Error {
  readonly code: RoundDecisionErrorCode;

  constructor(code: RoundDecisionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Decides a round from the run's settings, the round's ledger records and the bytes at hand.
 * Deterministic: the same inputs give the same decision and the same aggregate bytes.
 * @throws {RoundDecisionError} when the input model is missing or altered (plaintext runs), an
 * encrypted run has no CKKS aggregator, or the strategy cannot aggregate the valid updates.
 */
export async function decideRound(input: Readonly<RoundInput>): Promise<RoundDecision> {
  const { run, round } = input;
  const settings = runSettings(run);
  if (settings.encoding === 'ckks' && !input.encrypted) {
    throw new RoundDecisionError(
      'ENCRYPTED_UNSUPPORTED',
      'an encrypted run needs the CKKS aggregator to be decided',
    );
  }
  if (settings.encoding === 'secagg') return sortExcluded(await decideSecAggRound(input));
  if (settings.encoding === 'float32' && run.strategy === 'fedavg') {
    return sortExcluded(await decideFedAvgStreaming(input));
  }
  const valid: ValidUpdate[] = [];
  const excluded: ExcludedUpdate[] = [];
  const records = [...input.records].sort(byMsp);
  for (const record of records) {
    const verdict = await judge(input, record);
    if ('code' in verdict) {
      excluded.push({ mspId: record.mspId, sha256: record.sha256, onLedger: true, ...verdict });
    } else {
      valid.push(verdict);
    }
  }
  excluded.push(...offLedgerExclusions(input, records));
  const decision: RoundDecision = {
    included: [],
    excluded,
    valid: valid.length,
    quorumMet: valid.length >= run.minUpdatesPerRound && valid.length > 0,
  };
  if (!decision.quorumMet) return sortExcluded(decision);

  if (settings.encoding === 'ckks' && input.encrypted) {
    decision.aggregate = await input.encrypted.aggregate(
      run,
      round.round + 1,
      valid.map((v) => ({
        mspId: v.record.mspId,
        sampleCount: v.record.sampleCount,
        bytes: v.bytes,
      })),
    );
    decision.included = valid.map((v) => v.record.mspId);
    return sortExcluded(decision);
  }

  const inputModel = checkedInputModel(input);
  const updates: ClientUpdate[] = valid.map((v) => ({
    mspId: v.record.mspId,
    // The ledger's count weighs the update (the container's was checked to be the same).
    sampleCount: v.record.sampleCount,
    delta: v.checked.delta ?? flattenTensors(v.checked.container.tensors, settings.modelSpec),
  }));
  let aggregate;
  for (;;) {
    try {
      aggregate = aggregateModel(run, round, inputModel, updates);
      break;
    } catch (err) {
      if (err instanceof NonFiniteValueError) {
        // Bounded norms and declared sample counts keep the aggregate finite; should a run's
        // settings still let it overflow, the largest update goes, not the round.
        const largest = largestUpdate(updates);
        updates.splice(updates.indexOf(largest), 1);
        const record = valid.find((v) => v.record.mspId === largest.mspId)?.record;
        valid.splice(
          valid.findIndex((v) => v.record.mspId === largest.mspId),
          1,
        );
        excluded.push({
          mspId: largest.mspId,
          sha256: record?.sha256 ?? '',
          code: 'NON_FINITE',
          detail: 'the aggregate overflows with this update, the largest, in it',
          onLedger: true,
        });
        decision.valid = valid.length;
        decision.quorumMet = valid.length >= run.minUpdatesPerRound && valid.length > 0;
        if (!decision.quorumMet) return sortExcluded(decision);
        continue;
      }
      if (!(err instanceof RangeError)) throw err;
      throw new RoundDecisionError(
        'STRATEGY_FAILED',
        `round ${round.round}: ${run.strategy} cannot aggregate ${updates.length} updates: ${err.message}`,
        { cause: err },
      );
    }
  }
  const selected = new Set(aggregate.selected);
  for (const v of valid) {
    if (!selected.has(v.record.mspId)) {
      excluded.push({
        mspId: v.record.mspId,
        sha256: v.record.sha256,
        code: 'NOT_SELECTED',
        detail: `${run.strategy} did not select this update`,
        onLedger: true,
      });
    }
  }
  decision.included = [...aggregate.selected].sort();
  decision.aggregate = { bytes: aggregate.bytes, sha256: aggregate.sha256 };
  return sortExcluded(decision);
}

function sortExcluded(decision: RoundDecision): RoundDecision {
  decision.excluded.sort(
    (a, b) => byMsp(a, b) || (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0),
  );
  return decision;
}

/** The update with the largest weighted norm n_k·‖Δ_k‖. */
function largestUpdate(updates: readonly ClientUpdate[]): ClientUpdate {
  let best = updates[0] as ClientUpdate;
  let bestSize = -1;
  for (const u of updates) {
    const size = u.sampleCount * l2Norm(u.delta);
    if (!(size <= bestSize)) {
      best = u;
      bestSize = size;
    }
  }
  return best;
}

/** Uploads the gateway saw that never got a ledger record (NOT_ON_LEDGER), in MSP ID order. */
function offLedgerExclusions(
  input: Readonly<RoundInput>,
  records: readonly UpdateRecord[],
): ExcludedUpdate[] {
  const recorded = new Set(records.map((r) => r.mspId));
  return [...(input.offLedger ?? [])]
    .sort(byMsp)
    .filter((upload) => !recorded.has(upload.mspId))
    .map((upload) => ({
      mspId: upload.mspId,
      sha256: upload.sha256,
      code: 'NOT_ON_LEDGER' as const,
      detail: 'the update was uploaded but has no committed ledger record',
      onLedger: false,
    }));
}

/** The round's input model, its bytes re-hashed against the round record. */
function checkedInputModel(input: Readonly<RoundInput>): Uint8Array {
  const inputModel = input.inputModel;
  if (inputModel === undefined || sha256Hex(inputModel) !== input.round.inputModelHash) {
    throw new RoundDecisionError(
      'INPUT_MODEL_UNAVAILABLE',
      `round ${input.round.round}: the input model's bytes are ${inputModel === undefined ? 'missing' : 'altered'}`,
    );
  }
  return inputModel;
}

/**
 * A plaintext FedAvg round, its updates read and folded one at a time (streaming-fedavg.ts): the
 * same decision and bytes as the in-memory path of {@link decideRound}, with one update in
 * memory at a time. Should the model overflow, the largest update is left out and the updates
 * are folded again.
 */
async function decideFedAvgStreaming(input: Readonly<RoundInput>): Promise<RoundDecision> {
  const { run, round } = input;
  const modelSpec = runSettings(run).modelSpec;
  const records = [...input.records].sort(byMsp);
  const offLedger = offLedgerExclusions(input, records);
  const leftOut = new Set<string>();
  const nonFinite: ExcludedUpdate[] = [];
  for (;;) {
    const fold = await foldFedAvg(input, records, modelSpec, leftOut);
    const decision: RoundDecision = {
      included: [],
      excluded: [...fold.excluded, ...offLedger, ...nonFinite],
      valid: fold.valid.length,
      quorumMet: fold.valid.length >= run.minUpdatesPerRound && fold.valid.length > 0,
    };
    if (!decision.quorumMet) return decision;
    const inputModel = checkedInputModel(input);
    if (fold.problem !== undefined || fold.delta === undefined) {
      throw new RoundDecisionError(
        'STRATEGY_FAILED',
        `round ${round.round}: ${run.strategy} cannot aggregate ${fold.valid.length} updates: ${fold.problem ?? 'no updates'}`,
      );
    }
    try {
      const model = sealAggregate(run, round, inputModel, fold.delta, fold.valid, fold.samples);
      decision.included = [...fold.valid].sort();
      decision.aggregate = { bytes: model.bytes, sha256: model.sha256 };
      return decision;
    } catch (err) {
      if (!(err instanceof NonFiniteValueError) || fold.largest === undefined) throw err;
      leftOut.add(fold.largest.mspId);
      nonFinite.push({
        mspId: fold.largest.mspId,
        sha256: fold.largest.sha256,
        code: 'NON_FINITE',
        detail: 'the aggregate overflows with this update, the largest, in it',
        onLedger: true,
      });
    }
  }
}
