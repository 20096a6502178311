// Aggregation of CKKS-encrypted updates: the gateway computes Σ (n_k/n)·Enc(Δ_k) with the run's
// public parameters only. It never receives a secret key, so it cannot decrypt anything.
import type { RunRecord } from '@fedledger/protocol';
import { sha256Hex } from '@fedledger/protocol';
import type { CkksParams } from '@fedledger/protocol/ckks';
import {
  CkksError,
  aggregateEncrypted,
  checkEncryptedUpdate,
  checkParams,
} from '@fedledger/protocol/ckks';
import { runSettings } from './run-settings';
import { UpdateCheckError } from './update-check';

/** One encrypted update, in the order the aggregate is computed (MSP ID order). */
export interface EncryptedInput {
  mspId: string;
  sampleCount: number;
  bytes: Uint8Array;
}

/** Computes the encrypted aggregate container of a round (the next round's input). */
export interface EncryptedAggregator {
  aggregate(
    run: RunRecord,
    nextRound: number,
    inputs: readonly EncryptedInput[],
  ): Promise<{ bytes: Uint8Array; sha256: string }>;
  /**
   * Checks an encrypted update's parameters, key fingerprint and sizes (not its norm: the gateway
   * cannot read it).
   * @throws {UpdateCheckError} with the CKKS_* code.
   */
  check(run: RunRecord, bytes: Uint8Array): Promise<void>;
}

/** HE settings a run records: the parameters and the fingerprint of the hospitals' key. */
export interface HeSettings {
  params: CkksParams;
  keyFingerprint: string;
}

function heOf(run: Pick<RunRecord, 'settings'>): HeSettings {
  const he = runSettings(run).he as Partial<HeSettings> | null;
  if (!he || typeof he.keyFingerprint !== 'string') {
    throw new UpdateCheckError(
      'UNSUPPORTED_ENCODING',
      'the run records no CKKS parameters and key fingerprint',
    );
  }
  return { params: checkParams(he.params), keyFingerprint: he.keyFingerprint };
}

function asCheckError(err: unknown): unknown {
  if (err instanceof CkksError) {
    // Key-file codes never arise from checking or summing ciphertexts; treat them as malformed.
    const code =
      err.code === 'CKKS_PARAMS_MISMATCH' || err.code === 'CKKS_KEY_MISMATCH'
        ? err.code
        : 'CKKS_MALFORMED';
    return new UpdateCheckError(code, err.message);
  }
  return err;
}

/** The CKKS aggregator (node-seal). */
export function ckksAggregator(): EncryptedAggregator {
  return {
    async aggregate(run, nextRound, inputs) {
      const he = heOf(run);
      try {
        const bytes = await aggregateEncrypted(
          he.params,
          inputs.map((i) => ({ bytes: i.bytes, sampleCount: i.sampleCount })),
          {
            runId: run.runId,
            round: nextRound,
            modelSpecHash: run.modelSpecHash,
            keyFingerprint: he.keyFingerprint,
          },
        );
        return { bytes, sha256: sha256Hex(bytes) };
      } catch (err) {
        throw asCheckError(err);
      }
    },
    async check(run, bytes) {
      const he = heOf(run);
      try {
        await checkEncryptedUpdate(he.params, bytes, he.keyFingerprint);
      } catch (err) {
        throw asCheckError(err);
      }
    },
  };
}
