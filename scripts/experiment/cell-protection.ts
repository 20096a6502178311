// How the hospitals of a federated cell protect their updates, per --protection, with the
// trainer's own code for each mode: plaintext (DP-noised float32 updates the gateway reads);
// secure aggregation (Bonawitz et al., CCS 2017: newSecAggParticipant with the hooks that
// `fedledger-trainer run` wires into its participation loop, so the gateway only holds masked
// updates and recovers their weighted sum); CKKS (Cheon, Kim, Kim and Song, ASIACRYPT 2017: one
// key made for the cell, as the hospitals' key ceremony would, the run recording only its
// fingerprint, and the trainer's CKKS participant decrypting models and encrypting updates).
import type { Container, ModelSpec, Tensor } from '@fedledger/protocol';
import { decodeContainer, encodeContainer } from '@fedledger/protocol';
import type { CkksParams } from '@fedledger/protocol/ckks';
import { CKKS_PARAMS, generateSecretKey, secretKeyFingerprint } from '@fedledger/protocol/ckks';
import type {
  CkksParticipant,
  GatewayClient,
  GatewayClientOptions,
  HospitalIdentity,
  ParticipationOptions,
} from '@fedledger/trainer';
import {
  KeyStoreError,
  applyEncryptedAggregate,
  ckksSettingsOf,
  newCkksParticipant,
  newSecAggClient,
  newSecAggParticipant,
} from '@fedledger/trainer';
import type { Protection } from './cells';

/**
 * Seconds per secure-aggregation phase. Phases move on as soon as every hospital is in (the
 * cell needs all of them each round), so this only bounds how long a stuck phase waits.
 */
export const SECAGG_PHASE_SECONDS = 10;

/** One hospital of the cell, as its protection needs it. */
export interface CellHospital {
  runId: string;
  identity: HospitalIdentity;
  /** The options its gateway client was made with (the in-process transport among them). */
  clientOptions: GatewayClientOptions;
  client: GatewayClient;
  spec: ModelSpec;
  /** Its working folder (outbox; secure-aggregation round state under secagg/). */
  workdir: string;
}

/** A hospital's side of the protection. */
export interface HospitalProtection {
  /** What the participation loop is given besides training (as `fedledger-trainer run` does). */
  hooks: Pick<
    ParticipationOptions,
    'openModel' | 'prepareRound' | 'protectUpdate' | 'afterDelivery'
  >;
  /** Before the loop: secure aggregation reveals for rounds delivered before a restart. */
  resume(): Promise<void>;
  /** The bytes the loop delivers for a trained float32 update (CKKS: its encryption). */
  updateBytes(update: Container): Promise<Uint8Array>;
  close(): void;
}

/** The protection of one federated cell. */
export interface CellProtection {
  readonly mode: Protection;
  /** The run request's protection fields (`secagg` or `he`; none for plaintext). */
  readonly runRequest: {
    secagg?: { phaseSeconds: number };
    he?: { params: CkksParams; keyFingerprint: string };
  };
  hospital(h: CellHospital): HospitalProtection;
  /**
   * Reads the run's models back in round order: called with each round's aggregate, it returns
   * the plaintext model after that round (CKKS: θ_{r+1} = θ_r + Dec(aggregate_r)).
   */
  modelReader(
    initial: readonly Tensor[],
    spec: ModelSpec,
  ): (aggregate: Uint8Array) => Promise<Tensor[]>;
}

const plainModels = () => (aggregate: Uint8Array) =>
  Promise.resolve(decodeContainer(aggregate).tensors);

const plaintext: CellProtection = {
  mode: 'plaintext',
  runRequest: {},
  hospital: () => ({
    hooks: {},
    resume: () => Promise.resolve(),
    updateBytes: (update) => Promise.resolve(encodeContainer(update)),
    close: () => undefined,
  }),
  modelReader: plainModels,
};

const secagg: CellProtection = {
  mode: 'secagg',
  runRequest: { secagg: { phaseSeconds: SECAGG_PHASE_SECONDS } },
  hospital({ runId, identity, clientOptions, client, workdir }) {
    // The secure-aggregation client speaks for the same identity over the same transport.
    const secaggClient = newSecAggClient(clientOptions);
    const participant = newSecAggParticipant({
      client: secaggClient,
      runId,
      mspId: identity.mspId,
      signer: identity.signer,
      workdir,
      // Idle hospitals poll while another trains, as the participation loop does in the cell.
      pollMs: 20,
      maxPollMs: 250,
    });
    return {
      hooks: {
        prepareRound: (run, round) => participant.prepareRound(run, round),
        protectUpdate: (input) => participant.protectUpdate(input),
        afterDelivery: (run, round) => participant.afterDelivery(run, round),
      },
      resume: () =>
        participant.resume(
          async () => (await client.verifiedRun((await client.getRun(runId)).run)).run,
        ),
      updateBytes: (update) => Promise.resolve(encodeContainer(update)),
      close: () => secaggClient.close(),
    };
  },
  modelReader: plainModels,
};

/** CKKS under `secretKey`, whose fingerprint the run records. */
function ckks(secretKey: Uint8Array, keyFingerprint: string): CellProtection {
  return {
    mode: 'ckks',
    runRequest: { he: { params: { ...CKKS_PARAMS }, keyFingerprint } },
    hospital({ identity, client, spec }) {
      let participant: CkksParticipant | undefined;
      return {
        hooks: {
          openModel({ run, round, model }) {
            if (participant === undefined) {
              // The run's settings from its verified ledger record, never from the gateway.
              const settings = ckksSettingsOf(run);
              if (settings?.keyFingerprint !== keyFingerprint) {
                throw new KeyStoreError(
                  `run ${run.runId} records ${settings ? `key ${settings.keyFingerprint}` : 'no CKKS settings'}, not the cell's key ${keyFingerprint}: ${identity.mspId} will not send its updates under it`,
                );
              }
              participant = newCkksParticipant({
                run,
                settings,
                spec,
                secretKey,
                downloadRoundModel: (r) => client.downloadRoundModel(run.runId, r),
              });
            }
            return participant.roundModel(round, model);
          },
        },
        resume: () => Promise.resolve(),
        updateBytes(update) {
          if (!participant) {
            throw new KeyStoreError(`${identity.mspId}: no CKKS model was opened before training`);
          }
          return participant.encryptUpdate(update);
        },
        close: () => undefined,
      };
    },
    modelReader(initial, spec) {
      let theta: Tensor[] = initial.map((t) => ({ ...t, shape: [...t.shape] }));
      return async (aggregate) => {
        theta = await applyEncryptedAggregate({
          params: CKKS_PARAMS,
          secretKey,
          spec,
          globalTensors: theta,
          aggregate,
        });
        return theta;
      };
    },
  };
}

/** The protection of a cell in `mode`; CKKS makes the cell's key here. */
export async function newCellProtection(mode: Protection): Promise<CellProtection> {
  if (mode === 'plaintext') return plaintext;
  if (mode === 'secagg') return secagg;
  const secretKey = await generateSecretKey(CKKS_PARAMS);
  return ckks(secretKey, await secretKeyFingerprint(CKKS_PARAMS, secretKey));
}
