// How a secure-aggregation round is decided (Bonawitz et al., CCS 2017, with the sets and keys
// on the ledger): the survivors' masked updates are judged like any update, the self masks and the
// dropped hospitals' pairwise masks are recovered from the revealed shares (each recovered secret
// checked against what its owner recorded on the ledger), and the unmasked sum of the weighted,
// quantised updates becomes the FedAvg step. Nobody ever holds an individual update in the clear.
import type {
  ExcludedUpdate,
  KeyAdvertisement,
  KeysRecord,
  RecoveryEntry,
  UpdateRecord,
} from '@fedledger/protocol';
import { maskedWords, parameterCount, sha256Hex } from '@fedledger/protocol';
import type { Reveal } from '@fedledger/protocol/secagg';
import { SecAggError, decodeReveal, dequantise, unmaskSum } from '@fedledger/protocol/secagg';
import { sealAggregate } from './aggregate-model';
import type { RoundDecision, RoundInput } from './decide-round';
import { RoundDecisionError } from './decide-round';
import type { ValidUpdate } from './judge-update';
import { byMsp, judge } from './judge-update';
import { runSettings } from './run-settings';

/** What a secure-aggregation round is decided with, beyond the updates: keys and reveals. */
export interface SecAggInput {
  /** The round's key advertisements as the ledger holds them. */
  keys: readonly KeysRecord[];
  /**
   * The reveals to recover with, by the SHA-256 of their bytes (read through the round's byte
   * reader and re-hashed): what the close record names, or, before the close, what has arrived.
   */
  reveals: readonly RecoveryEntry[];
}

function unrecoverable(round: number, message: string, cause?: unknown): RoundDecisionError {
  return new RoundDecisionError(
    'SECAGG_UNRECOVERABLE',
    `round ${round}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Reads, re-hashes and decodes the reveals; those that fail are left out and named. */
async function readReveals(input: Readonly<RoundInput>, survivors: Set<string>) {
  const used: RecoveryEntry[] = [];
  const reveals: Reveal[] = [];
  const refused: string[] = [];
  for (const entry of [...(input.secagg?.reveals ?? [])].sort(byMsp)) {
    const bytes = await input.bytes.get(entry.sha256);
    if (bytes === undefined || sha256Hex(bytes) !== entry.sha256 || !survivors.has(entry.mspId)) {
      refused.push(
        `${entry.mspId} (${bytes === undefined ? 'missing' : 'not a survivor or altered'})`,
      );
      continue;
    }
    try {
      const reveal = decodeReveal(bytes);
      if (
        reveal.from !== entry.mspId ||
        reveal.runId !== input.run.runId ||
        reveal.round !== input.round.round
      ) {
        refused.push(`${entry.mspId} (names another sender or round)`);
        continue;
      }
      reveals.push(reveal);
      used.push(entry);
    } catch (err) {
      if (!(err instanceof SecAggError)) throw err;
      refused.push(`${entry.mspId} (${err.message})`);
    }
  }
  return { used, reveals, refused };
}

/**
 * Decides a secure-aggregation round whose survivors are fixed on the ledger.
 * @throws {RoundDecisionError} SECAGG_UNRECOVERABLE when the round is not unmasking yet, a
 * survivor's masked update is not valid (its masks cannot be removed without it), or too few
 * valid shares recover a secret.
 */
export async function decideSecAggRound(input: Readonly<RoundInput>): Promise<RoundDecision> {
  const { run, round } = input;
  const settings = runSettings(run);
  const secagg = settings.secagg;
  const state = round.secagg;
  if (!secagg || state?.phase !== 'unmasking' || !state.survivors) {
    throw unrecoverable(round.round, 'the survivors are not fixed on the ledger yet');
  }
  const survivors = new Set(state.survivors);
  const records = [...input.records].sort(byMsp);
  const valid: ValidUpdate[] = [];
  const excluded: ExcludedUpdate[] = [];
  for (const record of records) {
    const verdict = await judge(input, record);
    if ('code' in verdict) {
      if (survivors.has(record.mspId)) {
        throw unrecoverable(
          round.round,
          `survivor ${record.mspId}'s masked update is not valid (${verdict.code}: ${verdict.detail}); its masks cannot be removed without it`,
        );
      }
      excluded.push({ mspId: record.mspId, sha256: record.sha256, onLedger: true, ...verdict });
    } else if (!survivors.has(record.mspId)) {
      excluded.push(notSurvivor(record));
    } else {
      valid.push(verdict);
    }
  }
  const decision: RoundDecision = {
    included: [],
    excluded,
    valid: valid.length,
    quorumMet: valid.length >= run.minUpdatesPerRound && valid.length > 0,
  };
  if (!decision.quorumMet) return decision;

  const keys = new Map(input.secagg?.keys.map((k) => [k.mspId, k]) ?? []);
  const maskSet: KeyAdvertisement[] = state.maskSet.map((entry) => {
    const k = keys.get(entry.mspId);
    if (!k)
      throw unrecoverable(
        round.round,
        `${entry.mspId} is in the mask set but its keys are not at hand`,
      );
    return {
      mspId: k.mspId,
      encryptionKey: k.encryptionKey,
      maskKey: k.maskKey,
      selfMaskCommitment: k.selfMaskCommitment,
    };
  });
  const parameters = parameterCount(settings.modelSpec);
  const masked = new Map(
    valid.map((v) => [v.record.mspId, maskedWords(v.checked.container, parameters)]),
  );
  const { used, reveals, refused } = await readReveals(input, survivors);
  let sum: Uint32Array;
  try {
    sum = await unmaskSum(
      { runId: run.runId, round: round.round },
      maskSet,
      masked,
      reveals,
      secagg.threshold,
    );
  } catch (err) {
    if (!(err instanceof SecAggError)) throw err;
    const also = refused.length > 0 ? `; reveals left out: ${refused.join(', ')}` : '';
    throw unrecoverable(round.round, `${err.message}${also}`, err);
  }
  // Σ (n_u / S)·Δ_u over the survivors; FedAvg weighs by n_u / Σ n_u.
  const weighted = dequantise(sum, secagg);
  const samples = valid.reduce((n, v) => n + v.record.sampleCount, 0);
  const scale = secagg.weightScale / samples;
  const delta = new Float64Array(weighted.length);
  for (let i = 0; i < weighted.length; i++) delta[i] = (weighted[i] as number) * scale;
  const included = valid.map((v) => v.record.mspId).sort();
  const inputModel = input.inputModel;
  if (inputModel === undefined || sha256Hex(inputModel) !== round.inputModelHash) {
    throw new RoundDecisionError(
      'INPUT_MODEL_UNAVAILABLE',
      `round ${round.round}: the input model's bytes are ${inputModel === undefined ? 'missing' : 'altered'}`,
    );
  }
  const model = sealAggregate(run, round, inputModel, delta, included, samples);
  decision.included = included;
  decision.aggregate = { bytes: model.bytes, sha256: model.sha256 };
  decision.recovery = used;
  return decision;
}

function notSurvivor(record: UpdateRecord): ExcludedUpdate {
  return {
    mspId: record.mspId,
    sha256: record.sha256,
    code: 'NOT_SELECTED',
    detail: 'recorded after the survivors were fixed',
    onLedger: true,
  };
}
