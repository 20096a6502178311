// The update submission protocol from the hospital's side: upload the update, check the proposal
// the gateway prepares and sign it, check the endorsed transaction and sign it, then confirm the
// commit on the hospital's own peer. The key never leaves the hospital, and it signs nothing it
// did not check (signing-check.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  SigningFormat,
  CommitInfo,
  CommitReply,
  EndorseReply,
  UpdateRecord,
  UpdateSubmission,
  UploadReply,
} from '@fedledger/protocol';
import { CONTAINER_MEDIA_TYPE, decodeContainer, dpFromExtra, sha256Hex } from '@fedledger/protocol';
import { CommitNotConfirmedError, HashMismatchError } from './errors';
import type { GatewayTransport } from './https-transport';
import type { DigestSigner } from './identity';
import type { OwnLedgerView } from './own-ledger';
import { GATEWAY_SOURCE } from './own-ledger';
import { fromBase64, json } from './replies';
import type { ProposalView, TransactionView } from './signed-bytes';
import type { LedgerExpectation, SigningExpectation } from './signing-check';
import { SigningRefusedError, checkProposal, checkTransaction } from './signing-check';

/** An update committed on the ledger. */
export interface SubmittedUpdate {
  submissionId: string;
  sha256: string;
  commit: CommitInfo;
  /** The ledger's update record, as the source that confirmed the commit read it. */
  record: CommitReply['record'];
  /** Ledger key of the record, `update/<run>/<round>/<msp>`. */
  key: string;
  /** Where the commit was confirmed: the hospital's own peer, or the gateway's reply. */
  confirmedBy: string;
}

/** What {@link GatewayClient.submitUpdate} needs. */
export interface SubmitUpdateInput {
  runId: string;
  round: number;
  /** The encoded update container. */
  bytes: Uint8Array;
  /** Signs the two digests with the hospital's key. */
  signer: DigestSigner;
}

/** What a submission needs from the client making it. */
export interface SubmissionContext {
  transport: GatewayTransport;
  /** The hospital's certificate (PEM), the only creator it accepts. */
  certificatePem: string;
  /** The ledger it signs for; without it nothing is signed. */
  ledger?: LedgerExpectation;
  /** Its own peer, where commits are confirmed; the gateway's reply otherwise. */
  ownLedger?: OwnLedgerView;
  /** Longest wait for the own peer to show a commit, ms. */
  confirmTimeoutMs: number;
}

const seg = encodeURIComponent;

/**
 * Uploads an update, checks and signs the proposal, checks and signs the endorsed transaction,
 * and confirms the commit.
 * @throws {SigningRefusedError} when the gateway asks to sign anything but this update;
 * {CommitNotConfirmedError}; {HashMismatchError}; what the transport throws.
 */
export async function submitSignedUpdate(
  ctx: Readonly<SubmissionContext>,
  input: Readonly<SubmitUpdateInput>,
): Promise<SubmittedUpdate> {
  const sha256 = sha256Hex(input.bytes);
  const ledger = ctx.ledger;
  if (!ledger) {
    throw new SigningRefusedError(
      'ledger',
      'this client was not told which ledger it signs for (channel and chaincode)',
    );
  }
  // What the hospital's own update calls for; the gateway's proposal must say exactly this.
  const { metadata, extra } = decodeContainer(input.bytes);
  const dp = dpFromExtra(extra);
  const expect: SigningExpectation = {
    ledger,
    certificatePem: ctx.certificatePem,
    mspId: metadata.mspId,
    submission: {
      runId: input.runId,
      round: input.round,
      mspId: metadata.mspId,
      sha256,
      sampleCount: metadata.sampleCount,
      byteLength: input.bytes.byteLength,
      encoding: metadata.encoding,
      ...(dp ? { dp } : {}),
    },
  };
  const uploadPath = `/v1/runs/${seg(input.runId)}/rounds/${input.round}/updates`;
  const upload = json<UploadReply>(
    await ctx.transport.send({
      method: 'POST',
      path: uploadPath,
      body: input.bytes,
      contentType: CONTAINER_MEDIA_TYPE,
    }),
    uploadPath,
  );
  const { proposal, committed } = await checkAndSign(ctx, upload, expect, input.signer, () => {
    if (upload.sha256 !== sha256) {
      throw new HashMismatchError(
        `the gateway stored the update as ${upload.sha256}, but it hashes to ${sha256}.`,
        sha256,
        upload.sha256,
      );
    }
  });
  const confirmed = await confirmCommit(ctx, expect.submission, proposal.txId, committed);
  return {
    submissionId: upload.submissionId,
    sha256,
    commit: committed.commit,
    record: confirmed.record,
    key: committed.key,
    confirmedBy: confirmed.source,
  };
}

/**
 * Confirms that the update record is committed with this hospital's hash under the transaction
 * it signed: on its own peer when it has one (waiting for the block to arrive there), else from
 * the gateway's reply.
 * @throws {CommitNotConfirmedError} when the ledger does not show the commit.
 */
async function confirmCommit(
  ctx: Readonly<SubmissionContext>,
  submission: UpdateSubmission,
  txId: string,
  committed: CommitReply,
): Promise<{ record: UpdateRecord; source: string }> {
  const own = ctx.ownLedger;
  const what = `round ${submission.round} of run ${submission.runId}`;
  const matches = (r: UpdateRecord | null | undefined): boolean =>
    !!r && r.sha256 === submission.sha256 && r.txId === txId;
  if (!own) {
    if (committed.record && matches(committed.record)) {
      return { record: committed.record, source: GATEWAY_SOURCE };
    }
    throw new CommitNotConfirmedError(
      `the gateway reports a commit for ${what}, but its record is not this update's (tx ${txId}).`,
    );
  }
  const deadline = Date.now() + ctx.confirmTimeoutMs;
  let wait = 100;
  for (;;) {
    const record = await own.getUpdate(submission.runId, submission.round, submission.mspId);
    if (record && !matches(record)) {
      throw new CommitNotConfirmedError(
        `${own.source} holds another record for ${what} (SHA-256 ${record.sha256}, tx ${record.txId}), not this update under tx ${txId}.`,
      );
    }
    if (record) {
      const status = await own.transactionStatus(txId);
      if (status === 'VALID') return { record, source: own.source };
      if (status !== undefined) {
        throw new CommitNotConfirmedError(`${own.source} marks tx ${txId} ${status}.`);
      }
    }
    if (Date.now() > deadline) {
      throw new CommitNotConfirmedError(
        `the gateway reports tx ${txId} committed in block ${committed.commit.blockNumber}, but ${own.source} shows no such commit for ${what} after ${ctx.confirmTimeoutMs} ms.`,
      );
    }
    await sleep(wait);
    wait = Math.min(2_000, wait * 2);
  }
}

/** Signs `digest` and posts the signature to a signing step of the session; returns its reply. */
export async function signed<T>(
  ctx: Readonly<SubmissionContext>,
  path: string,
  digest: Uint8Array,
  signer: DigestSigner,
): Promise<T> {
  const signature = Buffer.from(await signer(digest)).toString('base64');
  const body = new TextEncoder().encode(JSON.stringify({ signature }));
  return json<T>(
    await ctx.transport.send({ method: 'POST', path, body, contentType: 'application/json' }),
    path,
  );
}

/**
 * The two signing steps of a session the gateway opened: checks the proposal and signs it,
 * checks the endorsed transaction and signs it. A refusal (or a failed `precheck`) abandons the
 * session, so that the next attempt is not a 409 (best effort; a session left behind expires).
 * @throws {SigningRefusedError} naming what differs from `expect`; what `precheck` throws.
 */
export async function checkAndSign(
  ctx: Readonly<SubmissionContext>,
  upload: { submissionId: string; proposal?: { format: SigningFormat; bytes: string } },
  expect: SigningExpectation,
  signer: DigestSigner,
  precheck: () => void = () => undefined,
): Promise<{ proposal: ProposalView; committed: CommitReply }> {
  const session = `/v1/submissions/${seg(upload.submissionId)}`;
  let proposal: ProposalView;
  let transaction: TransactionView;
  try {
    precheck();
    proposal = checkProposal(
      upload.proposal?.format ?? (ctx.ledger as LedgerExpectation).format,
      fromBase64(upload.proposal?.bytes, 'proposal'),
      expect,
    );
    const endorsed = await signed<EndorseReply>(
      ctx,
      `${session}/proposal-signature`,
      proposal.digest,
      signer,
    );
    transaction = checkTransaction(
      fromBase64(endorsed.transaction, 'transaction'),
      expect,
      proposal,
    );
  } catch (err) {
    if (err instanceof SigningRefusedError || err instanceof HashMismatchError) {
      await ctx.transport.send({ method: 'DELETE', path: session }).catch(() => undefined);
    }
    throw err;
  }
  const committed = await signed<CommitReply>(
    ctx,
    `${session}/transaction-signature`,
    transaction.digest,
    signer,
  );
  return { proposal, committed };
}
