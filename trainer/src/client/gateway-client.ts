// The hospital's client of the REST gateway: read runs and rounds, download models whose bytes are
// checked against the ledger's hash, and submit updates through the offline-signing protocol
// (upload, sign the proposal digest, sign the transaction digest) without the key leaving here.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AuditTrail,
  CommitInfo,
  CommitReply,
  EndorseReply,
  ModelSpec,
  RoundDetails,
  RoundRecord,
  RunRecord,
  RunStatus,
  UploadReply,
} from '@fedledger/protocol';
import { CONTAINER_MEDIA_TYPE, sha256Hex } from '@fedledger/protocol';
import { GatewayReplyError, HashMismatchError, RoundWaitTimeoutError, isTransient } from './errors';
import type { GatewayTransport, TransportReply } from './https-transport';
import { newHttpsTransport } from './https-transport';
import type { DigestSigner } from './identity';

/**
 * Reads the input model hash of a round from a source the hospital trusts more than the gateway
 * (its own peer, for instance).
 */
export type LedgerCheck = (runId: string, round: number) => Promise<string>;

/** Model bytes whose SHA-256 agrees with the gateway's header and the ledger. */
export interface VerifiedModel {
  bytes: Uint8Array;
  sha256: string;
  /** The transaction that recorded the hash (the round's open transaction), when known. */
  ledgerTxId?: string;
  /** The round record the gateway returned with the model (round models only). */
  record?: RoundRecord;
}

/** An update committed on the ledger. */
export interface SubmittedUpdate {
  submissionId: string;
  sha256: string;
  commit: CommitInfo;
  /** The ledger's update record, as the gateway read it after the commit. */
  record: CommitReply['record'];
  /** Ledger key of the record, `update/<run>/<round>/<msp>`. */
  key: string;
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

/** Progress while waiting for a round: after each poll, or after a poll that failed transiently. */
export interface WaitProgress {
  status?: RunStatus;
  error?: Error;
  waitedMs: number;
  nextPollMs: number;
}

/** Options of {@link GatewayClient.waitForRound}. */
export interface WaitForRoundOptions {
  /** Skip an open round in which this MSP already has an update on the ledger. */
  mspId?: string;
  /** Skip open rounds below this number. */
  fromRound?: number;
  /** First poll interval, ms (default 500); grows by half each poll up to `maxPollMs`. */
  pollMs?: number;
  /** Longest poll interval, ms (default 10 000). */
  maxPollMs?: number;
  /** Give up after this many ms (default: never). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: WaitProgress) => void;
}

/** Where a run stands when waiting ends. */
export type RoundWaitResult =
  { state: 'open'; round: number; status: RunStatus } | { state: 'completed'; status: RunStatus };

/** What a coordinator creates a run from; the initial model is uploaded first. */
export interface CreateRunInput {
  runId: string;
  participants: string[];
  roundsPlanned: number;
  minUpdatesPerRound: number;
  modelSpec: ModelSpec;
  /** The encoded initial model container (kind `model`, round 0). */
  initialModel: Uint8Array;
  strategy?: string;
  strategyParams?: Record<string, unknown>;
  updateNormBound?: number | null;
  roundDeadlineSeconds?: number;
  dp?: Record<string, unknown> | null;
  he?: Record<string, unknown> | null;
}

/** A verification report (per-round verdicts with the problems found). */
export interface RunVerification {
  ok: boolean;
  rounds: {
    round: number;
    ok: boolean;
    problems: { code: string; message: string; mspId?: string }[];
  }[];
  problems: { code: string; message: string }[];
}

/** A run created on the ledger, with round 0 open. */
export interface CreatedRun {
  run: RunRecord;
  created: CommitInfo;
  opened: CommitInfo;
  initialModelSha256: string;
}

/** A client of one gateway, authenticated as one organisation. */
export interface GatewayClient {
  readonly url: string;
  /**
   * The run, its open round and its rounds so far.
   * @throws {GatewayRequestError} FL_ERR_NOT_FOUND for an unknown run.
   */
  getRun(runId: string): Promise<RunStatus>;
  /** A round's ledger record and its update records. */
  getRound(runId: string, round: number): Promise<RoundDetails>;
  /** The run's audit trail as the ledger has it. */
  getAuditTrail(runId: string): Promise<AuditTrail>;
  /** The gateway's re-verification of a run (`POST /v1/audit/runs/{run}/verify`). */
  verifyRun(runId: string): Promise<RunVerification>;
  /**
   * Polls, with growing intervals, until a round is open (and, with `mspId`, not yet submitted
   * to by that MSP) or the run has completed. Transient failures (gateway down) are reported to
   * `onProgress` and polled through.
   * @throws {RoundWaitTimeoutError} after `timeoutMs`; the signal's reason when aborted.
   */
  waitForRound(runId: string, options?: WaitForRoundOptions): Promise<RoundWaitResult>;
  /**
   * A round's input model. Its SHA-256 must equal the gateway's X-Model-SHA256 header and the
   * ledger's input model hash: from `ledgerCheck` when given, else from the round record the
   * gateway returns with the model.
   * @throws {HashMismatchError} when any of the three disagree.
   */
  downloadRoundModel(
    runId: string,
    round: number,
    options?: { ledgerCheck?: LedgerCheck },
  ): Promise<VerifiedModel>;
  /**
   * The final model of a completed run, checked against the run's `finalModelHash` (read from
   * the gateway unless `expectedSha256` is given).
   * @throws {HashMismatchError} when the bytes do not hash to it.
   */
  downloadFinalModel(runId: string, options?: { expectedSha256?: string }): Promise<VerifiedModel>;
  /**
   * Uploads an update, signs the proposal and the transaction digests, and returns the commit.
   * @throws {GatewayRequestError} for a refusal (FL_ERR_UPDATE_EXISTS, FL_ERR_ROUND_NOT_OPEN,
   * FL_ERR_SHAPE_MISMATCH …); see `transient` for the ones worth retrying.
   * @throws {GatewayUnavailableError} when the gateway cannot be reached.
   * @throws {HashMismatchError} when the gateway stored the bytes under another hash.
   */
  submitUpdate(input: Readonly<SubmitUpdateInput>): Promise<SubmittedUpdate>;
  /**
   * Coordinator only: uploads the initial model and creates the run (round 0 opens).
   * @throws {GatewayRequestError} FL_ERR_FORBIDDEN for another role, FL_ERR_RUN_EXISTS …
   */
  coordinatorCreateRun(input: Readonly<CreateRunInput>): Promise<CreatedRun>;
  /** Closes idle connections. */
  close(): void;
}

/** Options of {@link newGatewayClient}. */
export interface GatewayClientOptions {
  /** Base URL, `https://127.0.0.1:8443`. */
  url: string;
  /** The gateway's server CA (PEM). */
  caCertPem: string | Uint8Array;
  /** The organisation's certificate and key (PEM): the same identity as on the ledger. */
  certPem: string | Uint8Array;
  keyPem: string | Uint8Array;
  /** Milliseconds a request may stay without progress; default 120 000. */
  timeoutMs?: number;
  /** Replaces the HTTPS transport (tests). */
  transport?: GatewayTransport;
}

/** A client of the gateway at `options.url`. */
export function newGatewayClient(options: Readonly<GatewayClientOptions>): GatewayClient {
  const transport =
    options.transport ??
    newHttpsTransport({
      url: options.url,
      caCertPem: options.caCertPem,
      certPem: options.certPem,
      keyPem: options.keyPem,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
  return new HttpsGatewayClient(options.url, transport);
}

function json<T>(reply: TransportReply, what: string): T {
  try {
    return JSON.parse(Buffer.from(reply.body).toString('utf8')) as T;
  } catch (err) {
    throw new GatewayReplyError(`${what}: the gateway's reply is not JSON.`, { cause: err });
  }
}

function header(reply: TransportReply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function fromBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || value === '') {
    throw new GatewayReplyError(`the gateway's reply has no ${what}.`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

const seg = encodeURIComponent;

class HttpsGatewayClient implements GatewayClient {
  constructor(
    readonly url: string,
    private readonly transport: GatewayTransport,
  ) {}

  async getRun(runId: string): Promise<RunStatus> {
    const path = `/v1/runs/${seg(runId)}`;
    return json<RunStatus>(await this.transport.send({ method: 'GET', path }), path);
  }

  async getRound(runId: string, round: number): Promise<RoundDetails> {
    const path = `/v1/runs/${seg(runId)}/rounds/${round}`;
    return json<RoundDetails>(await this.transport.send({ method: 'GET', path }), path);
  }

  async getAuditTrail(runId: string): Promise<AuditTrail> {
    const path = `/v1/audit/runs/${seg(runId)}/trail`;
    return json<AuditTrail>(await this.transport.send({ method: 'GET', path }), path);
  }

  async verifyRun(runId: string): Promise<RunVerification> {
    const path = `/v1/audit/runs/${seg(runId)}/verify`;
    return json<RunVerification>(await this.transport.send({ method: 'POST', path }), path);
  }

  async waitForRound(runId: string, options: WaitForRoundOptions = {}): Promise<RoundWaitResult> {
    const first = options.pollMs ?? 500;
    const longest = Math.max(first, options.maxPollMs ?? 10_000);
    const started = Date.now();
    let delay = first;
    let seen = '';
    for (;;) {
      options.signal?.throwIfAborted();
      let progress: Omit<WaitProgress, 'waitedMs' | 'nextPollMs'>;
      try {
        const status = await this.getRun(runId);
        if (status.run.status === 'completed') return { state: 'completed', status };
        const open = status.rounds.find((r) => r.round === status.currentRound);
        if (
          open &&
          open.round >= (options.fromRound ?? 0) &&
          !(options.mspId !== undefined && open.submitted.includes(options.mspId))
        ) {
          return { state: 'open', round: open.round, status };
        }
        // Poll quickly again whenever the run moved on (a round closed or opened).
        const now = `${status.currentRound}/${status.rounds.length}`;
        if (now !== seen) delay = first;
        seen = now;
        progress = { status };
      } catch (err) {
        if (!isTransient(err)) throw err;
        progress = { error: err as Error };
      }
      const waitedMs = Date.now() - started;
      if (options.timeoutMs !== undefined && waitedMs + delay > options.timeoutMs) {
        throw new RoundWaitTimeoutError(
          `no round of run ${runId} opened for this hospital within ${options.timeoutMs} ms.`,
        );
      }
      options.onProgress?.({ ...progress, waitedMs, nextPollMs: delay });
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
      delay = Math.min(longest, Math.round(delay * 1.5));
    }
  }

  async downloadRoundModel(
    runId: string,
    round: number,
    options: { ledgerCheck?: LedgerCheck } = {},
  ): Promise<VerifiedModel> {
    const path = `/v1/runs/${seg(runId)}/rounds/${round}/model`;
    const reply = await this.transport.send({ method: 'GET', path });
    const actual = sha256Hex(reply.body);
    const announced = header(reply, 'x-model-sha256');
    let record: RoundRecord | undefined;
    const encoded = header(reply, 'x-ledger-record');
    if (encoded !== undefined) {
      try {
        record = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as RoundRecord;
      } catch (err) {
        throw new GatewayReplyError(`${path}: X-Ledger-Record is not base64 JSON.`, {
          cause: err,
        });
      }
      if (record.runId !== runId || record.round !== round) {
        throw new GatewayReplyError(
          `${path}: the ledger record returned is for run ${record.runId} round ${record.round}.`,
        );
      }
    }
    const ledgerHash = options.ledgerCheck
      ? await options.ledgerCheck(runId, round)
      : record?.inputModelHash;
    if (ledgerHash === undefined) {
      throw new GatewayReplyError(
        `${path}: no ledger hash to check the model against (no X-Ledger-Record, no ledger check).`,
      );
    }
    if (announced !== actual) {
      throw new HashMismatchError(
        `the model of round ${round} of run ${runId} hashes to ${actual}, but the gateway says ${announced ?? '(nothing)'}; refusing it.`,
        announced ?? '',
        actual,
      );
    }
    if (ledgerHash !== actual) {
      throw new HashMismatchError(
        `the model of round ${round} of run ${runId} hashes to ${actual}, but the ledger records ${ledgerHash}; refusing it.`,
        ledgerHash,
        actual,
      );
    }
    const txId = header(reply, 'x-ledger-tx-id');
    return {
      bytes: reply.body,
      sha256: actual,
      ...(txId !== undefined ? { ledgerTxId: txId } : {}),
      ...(record ? { record } : {}),
    };
  }

  async downloadFinalModel(
    runId: string,
    options: { expectedSha256?: string } = {},
  ): Promise<VerifiedModel> {
    let expected = options.expectedSha256;
    if (expected === undefined) {
      const { run } = await this.getRun(runId);
      expected = run.finalModelHash;
      if (expected === undefined) {
        throw new GatewayReplyError(`run ${runId} has no final model on the ledger yet.`);
      }
    }
    const path = `/v1/runs/${seg(runId)}/model`;
    const reply = await this.transport.send({ method: 'GET', path });
    const actual = sha256Hex(reply.body);
    if (actual !== expected || header(reply, 'x-model-sha256') !== expected) {
      throw new HashMismatchError(
        `the final model of run ${runId} hashes to ${actual}, but the ledger records ${expected}; refusing it.`,
        expected,
        actual,
      );
    }
    return { bytes: reply.body, sha256: actual };
  }

  async submitUpdate(input: Readonly<SubmitUpdateInput>): Promise<SubmittedUpdate> {
    const sha256 = sha256Hex(input.bytes);
    const uploadPath = `/v1/runs/${seg(input.runId)}/rounds/${input.round}/updates`;
    const upload = json<UploadReply>(
      await this.transport.send({
        method: 'POST',
        path: uploadPath,
        body: input.bytes,
        contentType: CONTAINER_MEDIA_TYPE,
      }),
      uploadPath,
    );
    if (upload.sha256 !== sha256) {
      throw new HashMismatchError(
        `the gateway stored the update as ${upload.sha256}, but it hashes to ${sha256}.`,
        sha256,
        upload.sha256,
      );
    }
    const session = `/v1/submissions/${seg(upload.submissionId)}`;
    const endorsed = await this.signed<EndorseReply>(
      `${session}/proposal-signature`,
      fromBase64(upload.proposalDigest, 'proposalDigest'),
      input.signer,
    );
    const committed = await this.signed<CommitReply>(
      `${session}/transaction-signature`,
      fromBase64(endorsed.transactionDigest, 'transactionDigest'),
      input.signer,
    );
    return {
      submissionId: upload.submissionId,
      sha256,
      commit: committed.commit,
      record: committed.record,
      key: committed.key,
    };
  }

  private async signed<T>(path: string, digest: Uint8Array, signer: DigestSigner): Promise<T> {
    const signature = Buffer.from(await signer(digest)).toString('base64');
    const body = new TextEncoder().encode(JSON.stringify({ signature }));
    return json<T>(
      await this.transport.send({ method: 'POST', path, body, contentType: 'application/json' }),
      path,
    );
  }

  async coordinatorCreateRun(input: Readonly<CreateRunInput>): Promise<CreatedRun> {
    const sha256 = sha256Hex(input.initialModel);
    const stored = json<{ sha256: string }>(
      await this.transport.send({
        method: 'POST',
        path: '/v1/models',
        body: input.initialModel,
        contentType: CONTAINER_MEDIA_TYPE,
      }),
      '/v1/models',
    );
    if (stored.sha256 !== sha256) {
      throw new HashMismatchError(
        `the gateway stored the initial model as ${stored.sha256}, but it hashes to ${sha256}.`,
        sha256,
        stored.sha256,
      );
    }
    const { initialModel: _bytes, ...settings } = input;
    const body = new TextEncoder().encode(
      JSON.stringify({ ...settings, initialModelSha256: sha256 }),
    );
    const created = json<Omit<CreatedRun, 'initialModelSha256'>>(
      await this.transport.send({
        method: 'POST',
        path: '/v1/runs',
        body,
        contentType: 'application/json',
      }),
      '/v1/runs',
    );
    return { ...created, initialModelSha256: sha256 };
  }

  close(): void {
    this.transport.close();
  }
}
