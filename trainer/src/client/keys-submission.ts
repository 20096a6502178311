// A hospital's key advertisement for a secure-aggregation round, through the same offline-signing
// protocol as its updates: the gateway prepares AdvertiseKeys under the hospital's certificate,
// the hospital checks the proposal and the endorsed transaction (signing-check.ts: its own keys,
// byte for byte, written under its own key and nothing else) and signs both digests, then confirms
// the record on its own peer. A gateway that slipped in another key would have the hospital's
// peers mask and encrypt to a key the gateway holds; this is where that is refused.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  CommitInfo,
  KeyAdvertisement,
  KeysRecord,
  KeysSubmission,
  KeysUploadReply,
} from '@fedledger/protocol';
import { CommitNotConfirmedError } from './errors';
import type { DigestSigner } from './identity';
import { json } from './replies';
import type { KeysSigningExpectation } from './signing-expectation';
import { SigningRefusedError } from './signing-check';
import type { SubmissionContext } from './update-submission';
import { checkAndSign } from './update-submission';

/** Keys advertised on the ledger. */
export interface AdvertisedKeys {
  commit: CommitInfo;
  record: KeysRecord;
  /** Where the record was confirmed: the hospital's own peer, or the gateway's word. */
  confirmedBy: string;
}

/** What an advertisement needs. */
export interface AdvertiseKeysInput {
  runId: string;
  round: number;
  /** The hospital's advertisement of its round secrets (`advertise` of protocol/secagg). */
  advertisement: KeyAdvertisement;
  signer: DigestSigner;
}

/** How a hospital reads a round's key advertisements from the source it trusts most. */
export type KeysReader = (
  runId: string,
  round: number,
) => Promise<{ records: KeysRecord[]; source: string }>;

const seg = encodeURIComponent;

/**
 * Advertises keys: checks and signs the AdvertiseKeys proposal and transaction, then confirms the
 * record through `readKeys` (the own peer when the hospital has one).
 * @throws {SigningRefusedError} when the gateway asks to sign anything but these keys;
 * {CommitNotConfirmedError}; what the transport throws (FL_ERR_KEYS_EXIST, FL_ERR_SECAGG_PHASE …).
 */
export async function advertiseSignedKeys(
  ctx: Readonly<SubmissionContext>,
  readKeys: KeysReader,
  input: Readonly<AdvertiseKeysInput>,
): Promise<AdvertisedKeys> {
  const ledger = ctx.ledger;
  if (!ledger) {
    throw new SigningRefusedError(
      'ledger',
      'this client was not told which ledger it signs for (channel and chaincode)',
    );
  }
  const ad = input.advertisement;
  const submission: KeysSubmission = {
    runId: input.runId,
    round: input.round,
    mspId: ad.mspId,
    encryptionKey: ad.encryptionKey,
    maskKey: ad.maskKey,
    selfMaskCommitment: ad.selfMaskCommitment,
  };
  const expect: KeysSigningExpectation = {
    call: 'AdvertiseKeys',
    ledger,
    certificatePem: ctx.certificatePem,
    mspId: ad.mspId,
    submission,
  };
  const path = `/v1/runs/${seg(input.runId)}/rounds/${input.round}/secagg/keys`;
  const body = new TextEncoder().encode(
    JSON.stringify({
      encryptionKey: ad.encryptionKey,
      maskKey: ad.maskKey,
      selfMaskCommitment: ad.selfMaskCommitment,
    }),
  );
  const upload = json<KeysUploadReply>(
    await ctx.transport.send({ method: 'POST', path, body, contentType: 'application/json' }),
    path,
  );
  const { proposal, committed } = await checkAndSign(ctx, upload, expect, input.signer);
  const confirmed = await confirmKeys(ctx, readKeys, submission, proposal.txId);
  return { commit: committed.commit, ...confirmed };
}

/**
 * Waits until the ledger view shows this hospital's keys recorded by the transaction it signed,
 * and (on its own peer) that transaction valid.
 * @throws {CommitNotConfirmedError} when another record is there, or none within the timeout.
 */
async function confirmKeys(
  ctx: Readonly<SubmissionContext>,
  readKeys: KeysReader,
  submission: KeysSubmission,
  txId: string,
): Promise<{ record: KeysRecord; confirmedBy: string }> {
  const what = `the keys of ${submission.mspId} for round ${submission.round} of run ${submission.runId}`;
  const deadline = Date.now() + ctx.confirmTimeoutMs;
  let wait = 100;
  for (;;) {
    const { records, source } = await readKeys(submission.runId, submission.round);
    const record = records.find((r) => r.mspId === submission.mspId);
    if (record) {
      if (
        record.txId !== txId ||
        record.encryptionKey !== submission.encryptionKey ||
        record.maskKey !== submission.maskKey ||
        record.selfMaskCommitment !== submission.selfMaskCommitment
      ) {
        throw new CommitNotConfirmedError(
          `${source} holds other ${what} (tx ${record.txId}), not the ones signed under tx ${txId}.`,
        );
      }
      const status = ctx.ownLedger ? await ctx.ownLedger.transactionStatus(txId) : 'VALID';
      if (status === 'VALID') return { record, confirmedBy: source };
      if (status !== undefined) {
        throw new CommitNotConfirmedError(`${source} marks tx ${txId} ${status}.`);
      }
    }
    if (Date.now() > deadline) {
      throw new CommitNotConfirmedError(
        `the gateway reports ${what} committed (tx ${txId}), but ${source} does not show them after ${ctx.confirmTimeoutMs} ms.`,
      );
    }
    await sleep(wait);
    wait = Math.min(2_000, wait * 2);
  }
}
