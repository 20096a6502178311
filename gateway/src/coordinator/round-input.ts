// What the coordinator decides a round from, gathered from its ledger client and blob store, and
// how a round that cannot be decided is reported (a problem code, retried or final).
import type { RecoveryEntry, RoundRecord, RunRecord, UpdateRecord } from '@fedledger/protocol';
import type { EncryptedAggregator, RoundInput } from '@fedledger/rules';
import { RoundDecisionError, runSettings } from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { GatewayError } from '../errors';
import type { ProblemCode } from '../http/problem-registry';
import type { LedgerClient } from '../ledger/ledger-client';
import type { UploadNotes } from './upload-notes';

/** Where the round's inputs come from. */
export interface RoundInputSources {
  ledger: LedgerClient;
  blobs: BlobStore;
  uploads: UploadNotes;
  encrypted?: EncryptedAggregator;
}

/**
 * The inputs of a round's decision: its records, bytes read when the rules ask (one update at a
 * time for FedAvg; as stored, not re-hashed here: the rules tell altered bytes from missing
 * ones), the input model, uploads that never reached the ledger, and for secure aggregation the
 * round's keys and the reveals to recover with.
 */
export async function roundInput(
  sources: RoundInputSources,
  run: RunRecord,
  round: RoundRecord,
  records: UpdateRecord[],
  recovery?: RecoveryEntry[],
): Promise<RoundInput> {
  const encoding = runSettings(run).encoding;
  return {
    run,
    round,
    records,
    bytes: { get: (sha256: string) => sources.blobs.getUnverified(sha256) },
    ...(encoding !== 'ckks' ? { inputModel: await sources.blobs.get(round.inputModelHash) } : {}),
    ...(encoding === 'secagg'
      ? {
          secagg: {
            keys: await sources.ledger.listKeys(run.runId, round.round),
            reveals: recovery ?? [],
          },
        }
      : {}),
    offLedger: await sources.uploads.list(run.runId, round.round),
    ...(sources.encrypted ? { encrypted: sources.encrypted } : {}),
  };
}

/**
 * True when a secure-aggregation round cannot be recovered and its reveal phase is over: the
 * coordinator then abandons it (AbandonRound) instead of trying again for ever.
 */
export function abandonable(err: unknown, run: RunRecord, round: RoundRecord, now: Date): boolean {
  const settings = runSettings(run).secagg;
  const since = round.secagg?.unmaskingAt;
  return (
    err instanceof RoundDecisionError &&
    err.code === 'SECAGG_UNRECOVERABLE' &&
    settings !== undefined &&
    since !== undefined &&
    now.getTime() >= Date.parse(since) + settings.phaseSeconds * 1000
  );
}

/** A round that cannot be decided, as the gateway's problem (others are passed on). */
export function undecidable(err: unknown): never {
  if (err instanceof RoundDecisionError) {
    const code = (
      {
        ENCRYPTED_UNSUPPORTED: 'FL_ERR_CONFIG',
        // Too few valid updates for the strategy's parameters (Krum's 2f + 3).
        STRATEGY_FAILED: 'FL_ERR_QUORUM_NOT_MET',
        INPUT_MODEL_UNAVAILABLE: 'FL_ERR_HASH_MISMATCH',
        SECAGG_UNRECOVERABLE: 'FL_ERR_SECAGG_UNRECOVERABLE',
      } as const satisfies Record<RoundDecisionError['code'], ProblemCode>
    )[err.code];
    throw new GatewayError(code, err.message, { cause: err });
  }
  throw err;
}
