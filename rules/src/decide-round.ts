// How a round is decided: which of its ledger-recorded updates count, why each other one does not,
// and the aggregate of those that count. The one definition of "what makes an update count": the
// gateway's coordinator calls it on the bytes in its blob store before it writes CloseRound, and
// an auditor's verifier calls it on bytes it gathered itself and compares the result with the
// ledger's close record. Pure: no I/O, no clock; every input is passed in and re-hashed here.
import type {
  ExcludedUpdate,
  ExclusionCode,
  RoundRecord,
  RunRecord,
  UpdateRecord,
} from '@fedledger/protocol';
import { NonFiniteValueError, sha256Hex } from '@fedledger/protocol';
import { aggregateModel } from './aggregate-model';
import type { EncryptedAggregator } from './encrypted';
import { runSettings } from './run-settings';
import type { ClientUpdate } from './strategies';
import { flattenTensors, l2Norm } from './strategies';
import type { CheckedUpdate } from './update-check';
import { UpdateCheckError, checkUpdateBytes } from './update-check';

/** Everything a round's decision depends on. */
export interface RoundInput {
  run: RunRecord;
  round: Pick<RoundRecord, 'round' | 'inputModelHash'>;
  /** The round's update records, as the ledger holds them. */
  records: readonly UpdateRecord[];
  /**
   * The bytes at hand, by the SHA-256 the ledger names. Not trusted: they are re-hashed here; a
   * name with no bytes is an update whose bytes are missing.
   */
  bytes: ReadonlyMap<string, Uint8Array>;
  /** The round's input model (plaintext runs), re-hashed against `round.inputModelHash`. */
  inputModel?: Uint8Array;
  /** Uploads the gateway saw that never got a ledger record; reported as NOT_ON_LEDGER. */
  offLedger?: readonly { mspId: string; sha256: string }[];
  /** Checks and sums CKKS ciphertexts (encrypted runs). */
  encrypted?: EncryptedAggregator;
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
}

/** Why a round could not be decided at all (as opposed to an update being excluded). */
export type RoundDecisionErrorCode =
  'INPUT_MODEL_UNAVAILABLE' | 'ENCRYPTED_UNSUPPORTED' | 'STRATEGY_FAILED';

/** The round cannot be decided from these inputs; `code` says why. */
export class RoundDecisionError extends Error {
  readonly code: RoundDecisionErrorCode;

  constructor(code: RoundDecisionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

interface ValidUpdate {
  record: UpdateRecord;
  checked: CheckedUpdate;
  bytes: Uint8Array;
}

const byMsp = (a: { mspId: string }, b: { mspId: string }): number =>
  a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : 0;

/**
 * The rules one ledger record and its bytes must pass, in order; the first broken rule names the
 * exclusion. Returns the checked update, or the exclusion's code and detail.
 */
async function judge(
  input: RoundInput,
  record: UpdateRecord,
): Promise<ValidUpdate | { code: ExclusionCode; detail: string }> {
  const { run } = input;
  if (record.creator.mspId !== record.mspId) {
    return {
      code: 'CREATOR_MISMATCH',
      detail: `the record names ${record.mspId} but was created by ${record.creator.mspId}`,
    };
  }
  const bytes = input.bytes.get(record.sha256);
  if (bytes === undefined) {
    return { code: 'BLOB_MISSING', detail: 'no bytes with the recorded SHA-256 were at hand' };
  }
  const actual = sha256Hex(bytes);
  if (actual !== record.sha256) {
    return {
      code: 'HASH_MISMATCH',
      detail: `the bytes hash to ${actual}; the ledger record says ${record.sha256}`,
    };
  }
  if (bytes.byteLength !== record.byteLength) {
    return {
      code: 'LENGTH_MISMATCH',
      detail: `the bytes are ${bytes.byteLength} long; the record says ${record.byteLength}`,
    };
  }
  try {
    const checked = await checkUpdateBytes(
      bytes,
      run,
      input.round.round,
      record.mspId,
      input.encrypted,
    );
    if (checked.container.metadata.sampleCount !== record.sampleCount) {
      return {
        code: 'METADATA_MISMATCH',
        detail: `the container says ${checked.container.metadata.sampleCount} samples; the ledger record says ${record.sampleCount}`,
      };
    }
    if (record.encoding !== checked.container.metadata.encoding) {
      return {
        code: 'METADATA_MISMATCH',
        detail: `the container is ${checked.container.metadata.encoding}; the ledger record says ${record.encoding}`,
      };
    }
    return { record, checked, bytes };
  } catch (err) {
    if (err instanceof UpdateCheckError) return { code: err.code, detail: err.message };
    throw err;
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
  const recorded = new Set(records.map((r) => r.mspId));
  for (const upload of [...(input.offLedger ?? [])].sort(byMsp)) {
    if (recorded.has(upload.mspId)) continue;
    excluded.push({
      mspId: upload.mspId,
      sha256: upload.sha256,
      code: 'NOT_ON_LEDGER',
      detail: 'the update was uploaded but has no committed ledger record',
      onLedger: false,
    });
  }
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

  const inputModel = input.inputModel;
  if (inputModel === undefined || sha256Hex(inputModel) !== round.inputModelHash) {
    throw new RoundDecisionError(
      'INPUT_MODEL_UNAVAILABLE',
      `round ${round.round}: the input model's bytes are ${inputModel === undefined ? 'missing' : 'altered'}`,
    );
  }
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
