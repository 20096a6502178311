// The hospital's client of the REST gateway: read runs and rounds, download models whose bytes are
// checked against the ledger's hash, and submit updates through the offline-signing protocol
// (upload, sign the proposal digest, sign the transaction digest) without the key leaving here.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AuditTrail,
  CommitInfo,
  ModelSpec,
  RoundDetails,
  RoundRecord,
  RunRecord,
  RunStatus,
  SecAggSettings,
  UpdateRecord,
} from '@fedledger/protocol';
import { CONTAINER_MEDIA_TYPE, sha256Hex } from '@fedledger/protocol';
import { GatewayReplyError, HashMismatchError, RoundWaitTimeoutError, isTransient } from './errors';
import type { GatewayTransport } from './https-transport';
import { newHttpsTransport } from './https-transport';
import type { OwnLedgerView } from './own-ledger';
import { GATEWAY_SOURCE } from './own-ledger';
import { header, json } from './replies';
import { verifiedRunRecord } from './run-check';
import type { LedgerExpectation } from './signing-check';
import type { SubmitUpdateInput, SubmittedUpdate } from './update-submission';
import { submitSignedUpdate } from './update-submission';

export type { SubmitUpdateInput, SubmittedUpdate } from './update-submission';
export { GATEWAY_SOURCE } from './own-ledger';

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
  /** Where the hash the bytes were checked against came from (own peer, or the gateway). */
  checkedAgainst: string;
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
  /** Largest L2 norm of an update; the gateway's default (10 √P) when left out. */
  updateNormBound?: number;
  roundDeadlineSeconds?: number;
  /** Each participant's declared sample count: an update may claim at most this many. */
  sampleCounts: Record<string, number>;
  dp?: Record<string, unknown> | null;
  he?: Record<string, unknown> | null;
  /** SHA-256 of the shared preprocessing every hospital must apply (preprocess combine). */
  preprocessingSha256?: string | null;
  /** Secure aggregation: settings over the gateway's defaults (threshold, phaseSeconds …). */
  secagg?: Partial<SecAggSettings>;
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
  /**
   * The run as the hospital's own peer records it, once the gateway's copy is checked to say the
   * same about everything a hospital trains by; without a peer of its own, the gateway's copy.
   * @throws {RunRecordMismatchError} naming the fields that differ.
   */
  verifiedRun(fromGateway: RunRecord): Promise<{ run: RunRecord; source: string }>;
  /**
   * The update record of `mspId` in a round, read from the hospital's own peer when it has one,
   * else through the gateway; `source` says which.
   */
  recordedUpdate(
    runId: string,
    round: number,
    mspId: string,
  ): Promise<{ record?: UpdateRecord; source: string }>;
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
  /** Replaces the HTTPS transport (tests, in-process simulations). */
  transport?: GatewayTransport;
  /**
   * The ledger this hospital signs for (HospitalIdentity.ledger); submitUpdate refuses to sign
   * without it.
   */
  ledger?: LedgerExpectation;
  /**
   * The hospital's own view of the ledger (its peer). With it, commits are confirmed and models
   * checked there; without it (simulated ledger), the gateway's reply and headers are used.
   */
  ownLedger?: OwnLedgerView;
  /** Longest wait for the own peer to show a commit the gateway reported, ms (default 30 000). */
  confirmTimeoutMs?: number;
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
  return new HttpsGatewayClient(options.url, transport, {
    certificatePem: Buffer.from(options.certPem).toString('utf8'),
    ...(options.ledger ? { ledger: options.ledger } : {}),
    ...(options.ownLedger ? { ownLedger: options.ownLedger } : {}),
    confirmTimeoutMs: options.confirmTimeoutMs ?? 30_000,
  });
}

const seg = encodeURIComponent;

class HttpsGatewayClient implements GatewayClient {
  constructor(
    readonly url: string,
    private readonly transport: GatewayTransport,
    private readonly signing: {
      certificatePem: string;
      ledger?: LedgerExpectation;
      ownLedger?: OwnLedgerView;
      confirmTimeoutMs: number;
    },
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
    const own = this.signing.ownLedger;
    let ledgerHash: string | undefined;
    let checkedAgainst = GATEWAY_SOURCE;
    if (options.ledgerCheck) {
      ledgerHash = await options.ledgerCheck(runId, round);
      checkedAgainst = 'the ledger check given';
    } else if (own) {
      ledgerHash = (await own.getRound(runId, round))?.inputModelHash;
      checkedAgainst = own.source;
      if (ledgerHash === undefined) {
        throw new HashMismatchError(
          `round ${round} of run ${runId} is not on the ledger as ${own.source} reads it; refusing the model the gateway serves.`,
          '',
          actual,
        );
      }
    } else {
      ledgerHash = record?.inputModelHash;
    }
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
        `the model of round ${round} of run ${runId} hashes to ${actual}, but the ledger records ${ledgerHash} (read from ${checkedAgainst}); refusing it.`,
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
      checkedAgainst,
    };
  }

  async downloadFinalModel(
    runId: string,
    options: { expectedSha256?: string } = {},
  ): Promise<VerifiedModel> {
    let expected = options.expectedSha256;
    const own = this.signing.ownLedger;
    const checkedAgainst = own?.source ?? GATEWAY_SOURCE;
    if (expected === undefined || own) {
      const run = own ? await own.getRun(runId) : (await this.getRun(runId)).run;
      if (expected !== undefined && run?.finalModelHash !== expected) {
        throw new HashMismatchError(
          `run ${runId}'s final model on the ledger (${checkedAgainst}) is ${run?.finalModelHash ?? 'not recorded'}, not ${expected}; refusing it.`,
          run?.finalModelHash ?? '',
          expected,
        );
      }
      expected = run?.finalModelHash;
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
    return { bytes: reply.body, sha256: actual, checkedAgainst };
  }

  verifiedRun(fromGateway: RunRecord): Promise<{ run: RunRecord; source: string }> {
    return verifiedRunRecord(this.signing.ownLedger, this.signing.confirmTimeoutMs, fromGateway);
  }

  async recordedUpdate(
    runId: string,
    round: number,
    mspId: string,
  ): Promise<{ record?: UpdateRecord; source: string }> {
    const own = this.signing.ownLedger;
    const record = own
      ? await own.getUpdate(runId, round, mspId)
      : (await this.getRound(runId, round)).updates.find((u) => u.mspId === mspId);
    return { ...(record ? { record } : {}), source: own?.source ?? GATEWAY_SOURCE };
  }

  submitUpdate(input: Readonly<SubmitUpdateInput>): Promise<SubmittedUpdate> {
    return submitSignedUpdate({ transport: this.transport, ...this.signing }, input);
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
