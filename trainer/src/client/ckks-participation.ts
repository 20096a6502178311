// A hospital's side of an encrypted (CKKS) run: the run's HE settings from its ledger record, each
// round's input model decrypted into the plaintext model to train from, updates encrypted after
// their DP noise, and the final model decrypted at the end.
//
// In a CKKS run the gateway's aggregate of round r is Σ (n_k/n)·Enc(Δ_k), the encrypted mean
// update, not a model; the ledger records it as round r+1's input. The hospitals keep the model
// themselves: θ_{r+1} = θ_r + Dec(aggregate_r), from θ_0, the run's plaintext initial model. All
// hospitals of a run hold one key and decrypt the same ledger-checked bytes, so all compute the
// same θ; a hospital that (re)starts at round r rebuilds θ_r from the inputs of rounds 0..r.
import type { Container, ModelSpec, RunRecord, RunSettingsView, Tensor } from '@fedledger/protocol';
import { decodeContainer, modelSpecHash } from '@fedledger/protocol';
import type { CkksParams } from '@fedledger/protocol/ckks';
import { checkParams, readEncryptedContainer } from '@fedledger/protocol/ckks';
import { ModelError } from '../errors';
import { applyEncryptedAggregate, encryptLocalUpdate } from '../he/encrypted-update';
import type { VerifiedModel } from './gateway-client';

/** The HE settings a CKKS run records on the ledger: parameters and the key's fingerprint. */
export interface CkksRunSettings {
  params: CkksParams;
  keyFingerprint: string;
}

/**
 * The run's CKKS settings as its (verified) ledger record holds them; undefined for a plaintext run.
 * @throws {ModelError} when the run is encrypted but its HE settings are unusable.
 */
export function ckksSettingsOf(run: RunRecord): CkksRunSettings | undefined {
  const settings = run.settings as Partial<RunSettingsView> & { he?: unknown };
  if (settings.encoding !== 'ckks') return undefined;
  const he = settings.he as { params?: unknown; keyFingerprint?: unknown } | null | undefined;
  if (!he || typeof he.keyFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(he.keyFingerprint)) {
    throw new ModelError(
      `run ${run.runId} is encrypted (CKKS) but records no usable key fingerprint in its HE settings.`,
    );
  }
  let params: CkksParams;
  try {
    params = checkParams(he.params);
  } catch (err) {
    throw new ModelError(`run ${run.runId}: ${(err as Error).message}`, { cause: err });
  }
  return { params, keyFingerprint: he.keyFingerprint };
}

/** What {@link newCkksParticipant} needs. */
export interface CkksParticipantOptions {
  /** The run as the hospital's own ledger view records it. */
  run: RunRecord;
  settings: CkksRunSettings;
  spec: ModelSpec;
  /** The run's secret key, already checked against `settings.keyFingerprint`. */
  secretKey: Uint8Array;
  /** A round's input model, checked against the ledger (GatewayClient.downloadRoundModel). */
  downloadRoundModel(round: number): Promise<VerifiedModel>;
  /** Lines about what was decrypted. */
  log?: (line: string) => void;
}

/** The hospital in a CKKS run: decrypts models, encrypts updates. */
export interface CkksParticipant {
  /**
   * The plaintext model of `round` from that round's verified input model (θ_0 itself for round
   * 0, else the model before it plus the decrypted aggregate).
   * @throws {ModelError} when an input is not what the round needs; {CkksError} when it cannot be
   * decrypted with this key.
   */
  roundModel(round: number, verified: VerifiedModel): Promise<Container>;
  /** Encrypts a float32 update (its DP noise already added) into the bytes to submit. */
  encryptUpdate(update: Container): Promise<Uint8Array>;
  /**
   * The plaintext final model: the last round's model plus the decrypted final aggregate.
   * @throws as {@link roundModel}.
   */
  finalModel(verified: VerifiedModel): Promise<Container>;
}

/** Extra key of a decrypted model: the ledger-recorded aggregate it was decrypted from. */
export const DECRYPTED_FROM_KEY = 'he.decrypted_from_sha256';

/** A participant of the CKKS run `options.run`. */
export function newCkksParticipant(options: Readonly<CkksParticipantOptions>): CkksParticipant {
  const { run, settings, spec, secretKey } = options;
  const specHash = modelSpecHash(spec);
  const log = options.log ?? (() => undefined);
  // The latest model this hospital has computed; rounds only move forward.
  let latest: Container | undefined;

  const initial = (verified: VerifiedModel): Container => {
    const c = decodeContainer(verified.bytes);
    const m = c.metadata;
    if (m.kind !== 'model' || m.encoding !== 'float32' || m.modelSpecHash !== specHash) {
      throw new ModelError(
        `run ${run.runId}: round 0's input model must be the plaintext initial model of the run's spec (it is a ${m.encoding} ${m.kind}).`,
      );
    }
    return c;
  };

  const next = async (before: Container, round: number, verified: VerifiedModel) => {
    const c = readEncryptedContainer(verified.bytes, settings.params, `round ${round}'s input`);
    const m = c.metadata;
    const problem =
      m.kind !== 'model'
        ? `is a "${m.kind}", not an aggregate`
        : m.runId !== run.runId
          ? `belongs to run "${m.runId}"`
          : m.round !== round
            ? `is the input of round ${m.round}`
            : c.header.keyFingerprint !== settings.keyFingerprint
              ? `is under key ${c.header.keyFingerprint}, not the run's ${settings.keyFingerprint}`
              : undefined;
    if (problem !== undefined) {
      throw new ModelError(
        `run ${run.runId}: the encrypted aggregate for round ${round} ${problem}.`,
      );
    }
    const tensors: Tensor[] = await applyEncryptedAggregate({
      params: settings.params,
      secretKey,
      spec,
      globalTensors: before.tensors,
      aggregate: verified.bytes,
    });
    const what = round === run.roundsPlanned ? 'the final model' : `round ${round}'s model`;
    log(`decrypted the encrypted aggregate ${verified.sha256} into ${what}`);
    const model: Container = {
      metadata: { ...before.metadata, round, sampleCount: m.sampleCount },
      extra: { [DECRYPTED_FROM_KEY]: verified.sha256 },
      tensors,
    };
    return model;
  };

  /** θ of `round` (given its verified input when at hand), from the latest model known. */
  const modelOf = async (round: number, verified?: VerifiedModel): Promise<Container> => {
    if (latest?.metadata.round === round) return latest;
    if (round === 0) {
      latest = initial(verified ?? (await options.downloadRoundModel(0)));
      return latest;
    }
    let model = latest !== undefined && latest.metadata.round < round ? latest : await modelOf(0);
    for (let r = model.metadata.round + 1; r < round; r++) {
      model = await next(model, r, await options.downloadRoundModel(r));
    }
    latest = await next(model, round, verified ?? (await options.downloadRoundModel(round)));
    return latest;
  };

  return {
    roundModel: (round, verified) => modelOf(round, verified),
    encryptUpdate: (update) =>
      encryptLocalUpdate({ params: settings.params, secretKey, spec, update }),
    async finalModel(verified) {
      // The last round's aggregate is the input of round `roundsPlanned`, which never opens.
      const last = await modelOf(run.roundsPlanned - 1);
      return next(last, run.roundsPlanned, verified);
    },
  };
}
