// The update submission routes with offline signing: a hospital uploads its container, the gateway
// stores it and prepares the SubmitUpdate proposal under the hospital's certificate, and the
// hospital signs the proposal digest, then the transaction digest, in a short-lived session.
import { randomUUID } from 'node:crypto';
import type express from 'express';
import type { Request, RequestHandler } from 'express';
import type {
  CommitReply,
  DpAccounting,
  EndorseReply,
  KeysSubmission,
  KeysUploadReply,
  RunRecord,
  SubmissionStatus,
  UpdateSubmission,
  UploadReply,
} from '@fedledger/protocol';
import { CONTAINER_MEDIA_TYPE, dpFromExtra, keysKey, updateKey } from '@fedledger/protocol';
import type { EncryptedAggregator } from '@fedledger/rules';
import {
  UpdateCheckError,
  checkUpdateBytes,
  maxUpdateBytes,
  updateReadLimits,
} from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { crashPoint } from '../crash-points';
import type { Coordinator } from '../coordinator/coordinator';
import {
  AccessDeniedError,
  BadRequestError,
  GatewayError,
  NotFoundError,
  SignatureError,
  SubmissionStateError,
  UpdateRejectedError,
} from '../errors';
import type { LedgerClient, OfflineSubmission } from '../ledger/ledger-client';
import type { OrgRole, Principal } from '../pki/organisations';
import type { AppLimits } from './limits';
import type { GatewayMetrics } from './metrics';
import type { ProblemCode } from './problem-registry';
import { b64, intParam, param, signatureFrom } from './request-helpers';

interface Session {
  /** What the hospital signs: its update (SubmitUpdate) or its round keys (AdvertiseKeys). */
  kind: 'update' | 'keys';
  id: string;
  principal: Principal;
  runId: string;
  round: number;
  sha256: string;
  offline: OfflineSubmission;
  state: SubmissionStatus['state'];
  expiresAt: number;
}

/** What the submission routes need from the application around them. */
export interface SubmissionRouteDeps {
  ledger: LedgerClient;
  blobs: BlobStore;
  coordinator: Coordinator;
  metrics: GatewayMetrics;
  limits: AppLimits;
  encrypted?: EncryptedAggregator;
  log: (level: 'info' | 'warn' | 'error', message: string, context?: object) => void;
  json: RequestHandler;
  requireRole: (req: Request, ...roles: OrgRole[]) => Principal;
  runOr404: (runId: string) => Promise<RunRecord>;
}

/** Opens signing sessions for transactions other than updates (secure-aggregation keys). */
export interface SigningSessions {
  /**
   * Prepares a hospital's AdvertiseKeys under its certificate and opens a signing session; the
   * hospital signs through the same endpoints as an update.
   * @throws {SubmissionStateError} when the hospital already has a keys session for the round.
   */
  openKeysSession(p: Principal, submission: KeysSubmission): Promise<KeysUploadReply>;
}

/** Adds the upload and signing-step routes to `app`. */
export function registerSubmissionRoutes(
  app: express.Express,
  deps: SubmissionRouteDeps,
): SigningSessions {
  const { ledger, blobs, coordinator, metrics, limits, log, json, requireRole, runOr404 } = deps;
  const sessions = new Map<string, Session>();
  /**
   * One submission at a time per (run, round, hospital): the upload in flight, then its signing
   * session until it commits, fails or expires. A concurrent second upload is a 409, not a race.
   */
  const claims = new Map<string, { sessionId?: string }>();
  const claimKey = (runId: string, round: number, mspId: string, kind = 'update'): string =>
    JSON.stringify([runId, round, mspId, kind]);
  const liveClaim = (key: string): Session | 'uploading' | undefined => {
    const claim = claims.get(key);
    if (!claim) return undefined;
    if (claim.sessionId === undefined) return 'uploading';
    const session = sessions.get(claim.sessionId);
    if (session && session.state !== 'committed' && session.expiresAt >= Date.now()) {
      return session;
    }
    claims.delete(key);
    return undefined;
  };
  /**
   * Ends a session (a signing step failed at the ledger, or the hospital abandoned it) and frees
   * its claim: the hospital's next upload starts afresh. The session goes with its claim, so that
   * no two sessions of one hospital and round are ever alive at once.
   */
  const end = (session: Session): void => {
    sessions.delete(session.id);
    const key = claimKey(session.runId, session.round, session.principal.mspId, session.kind);
    if (claims.get(key)?.sessionId === session.id) claims.delete(key);
  };
  const sweep = (): void => {
    const now = Date.now();
    for (const [id, s] of sessions) if (s.expiresAt < now - 60_000) sessions.delete(id);
    for (const key of claims.keys()) liveClaim(key);
  };

  app.post('/v1/runs/:runId/rounds/:round/updates', async (req, res) => {
    const p = requireRole(req, 'hospital');
    const runId = param(req, 'runId');
    const round = intParam(param(req, 'round'), 'round');
    if (!req.is(CONTAINER_MEDIA_TYPE)) {
      throw new BadRequestError(
        'FL_ERR_UNSUPPORTED_MEDIA_TYPE',
        `send the update as ${CONTAINER_MEDIA_TYPE}`,
      );
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limits.maxUploadBytes) {
      req.resume();
      throw new UpdateRejectedError(
        'FL_ERR_BODY_TOO_LARGE',
        `the update is larger than ${limits.maxUploadBytes} bytes`,
      );
    }
    const run = await runOr404(runId);
    if (!run.participants.includes(p.mspId)) {
      throw new AccessDeniedError(
        'FL_ERR_NOT_PARTICIPANT',
        `${p.mspId} is not a participant of run ${runId}`,
      );
    }
    const record = await ledger.getRound(runId, round);
    if (!record || record.status !== 'open') {
      throw new GatewayError('FL_ERR_ROUND_NOT_OPEN', `round ${round} of run ${runId} is not open`);
    }
    if (await ledger.getUpdate(runId, round, p.mspId)) {
      throw new GatewayError(
        'FL_ERR_UPDATE_EXISTS',
        `${p.mspId} already submitted for round ${round}`,
      );
    }
    const key = claimKey(runId, round, p.mspId);
    const live = liveClaim(key);
    if (live !== undefined) {
      req.resume();
      throw new SubmissionStateError(
        'FL_ERR_SUBMISSION_IN_PROGRESS',
        live === 'uploading'
          ? `another upload of ${p.mspId} for round ${round} is being received`
          : `${p.mspId} has a submission for round ${round} in progress (session ${live.id}, ${live.state}, until ${new Date(live.expiresAt).toISOString()}); finish it, or upload again once it has failed or expired`,
      );
    }
    const claim: { sessionId?: string } = {};
    claims.set(key, claim);
    try {
      const reply = await receiveUpload(req, p, run, runId, round);
      claim.sessionId = reply.submissionId;
      res.status(201).json(reply);
    } catch (err) {
      if (claims.get(key) === claim) claims.delete(key);
      // Refused before the body was read to its end: the rest is discarded, not stored.
      if (!req.complete) req.resume();
      throw err;
    }
  });

  /** Stores, checks and records an upload, and opens its signing session. */
  const receiveUpload = async (
    req: Request,
    p: Principal,
    run: RunRecord,
    runId: string,
    round: number,
  ): Promise<UploadReply> => {
    let sampleCount = 0;
    let dp: DpAccounting | undefined;
    const readLimits = updateReadLimits(run);
    // Not destroyed when reading stops early: a refused body is drained, and the refusal reaches
    // the hospital instead of a reset connection.
    const stored = await blobs.put(req.iterator({ destroyOnReturn: false }), {
      // No more than an update of this run's model can be: refused while streaming, not after.
      maxBytes: Math.min(limits.maxUploadBytes, maxUpdateBytes(run) ?? Number.POSITIVE_INFINITY),
      // The header's announced size, from the first 8 bytes: a container announcing more than
      // an update of this run's model needs is refused before the rest arrives.
      inspectHead: (head) => {
        const announced = head.length < 8 ? 0n : Buffer.from(head).readBigUInt64LE(0);
        if (announced > BigInt(readLimits.maxHeaderBytes)) {
          metrics.updateRejected('MALFORMED_CONTAINER');
          throw new UpdateRejectedError(
            'FL_ERR_MALFORMED_CONTAINER',
            `the header announces ${announced} bytes; an update of this run's model (${readLimits.maxTensors} tensors) needs at most ${readLimits.maxHeaderBytes}`,
          );
        }
      },
      inspect: async (staged) => {
        try {
          const bytes = await staged.readBytes();
          const checked = await checkUpdateBytes(bytes, run, round, p.mspId, deps.encrypted);
          sampleCount = checked.container.metadata.sampleCount;
          dp = dpFromExtra(checked.container.extra);
        } catch (err) {
          if (err instanceof UpdateCheckError) {
            metrics.updateRejected(err.code);
            throw new UpdateRejectedError(`FL_ERR_${err.code}` satisfies ProblemCode, err.message);
          }
          throw err;
        }
      },
    });
    const submission: UpdateSubmission = {
      runId,
      round,
      mspId: p.mspId,
      sha256: stored.sha256,
      sampleCount,
      byteLength: stored.byteLength,
      encoding:
        run.settings['encoding'] === 'ckks' || run.settings['encoding'] === 'secagg'
          ? run.settings['encoding']
          : 'float32',
      ...(dp ? { dp } : {}),
    };
    await coordinator.noteUpload({
      runId,
      round,
      mspId: p.mspId,
      sha256: stored.sha256,
      byteLength: stored.byteLength,
      uploadedAt: new Date().toISOString(),
    });
    const offline = await ledger.newSubmission(
      { mspId: p.mspId, certificatePem: p.certificatePem },
      submission,
    );
    sweep();
    const session: Session = {
      kind: 'update',
      id: randomUUID(),
      principal: p,
      runId,
      round,
      sha256: stored.sha256,
      offline,
      state: 'proposed',
      expiresAt: Date.now() + limits.submissionTtlSeconds * 1000,
    };
    sessions.set(session.id, session);
    log('info', 'update uploaded', { runId, round, mspId: p.mspId, sha256: stored.sha256 });
    crashPoint('after-upload', runId);
    const reply: UploadReply = {
      submissionId: session.id,
      sha256: stored.sha256,
      byteLength: stored.byteLength,
      submission,
      proposal: { format: offline.format, bytes: b64(offline.proposalBytes) },
      proposalDigest: b64(offline.proposalDigest),
      expiresAt: new Date(session.expiresAt).toISOString(),
    };
    return reply;
  };

  const sessionFor = (req: Request, expected: Session['state']): Session => {
    const p = requireRole(req, 'hospital');
    const session = sessions.get(param(req, 'id'));
    if (!session)
      throw new NotFoundError('FL_ERR_SUBMISSION_NOT_FOUND', 'no signing session has this ID');
    if (session.principal.fingerprint !== p.fingerprint) {
      throw new AccessDeniedError(
        'FL_ERR_IDENTITY_MISMATCH',
        'the signing session belongs to another identity',
      );
    }
    if (session.expiresAt < Date.now()) {
      sessions.delete(session.id);
      throw new SubmissionStateError(
        'FL_ERR_SUBMISSION_EXPIRED',
        'the signing session expired; upload the update again',
      );
    }
    if (session.state !== expected) {
      throw new SubmissionStateError(
        'FL_ERR_SUBMISSION_STATE',
        `the session is ${session.state}, not ${expected}`,
      );
    }
    return session;
  };

  app.post('/v1/submissions/:id/proposal-signature', json, async (req, res) => {
    const session = sessionFor(req, 'proposed');
    const signature = signatureFrom(req.body);
    session.state = 'endorsing';
    try {
      const endorsed = await session.offline.endorse(signature);
      session.state = 'endorsed';
      crashPoint('between-signatures', session.runId);
      const reply: EndorseReply = {
        submissionId: session.id,
        transaction: b64(endorsed.bytes),
        transactionDigest: b64(endorsed.digest),
      };
      res.json(reply);
    } catch (err) {
      // A signature that does not verify reached nothing: the hospital may sign again, and its
      // claim stays. Anything else ends the session.
      if (err instanceof SignatureError) session.state = 'proposed';
      else end(session);
      throw err;
    }
  });

  app.post('/v1/submissions/:id/transaction-signature', json, async (req, res) => {
    const session = sessionFor(req, 'endorsed');
    const signature = signatureFrom(req.body);
    session.state = 'submitting';
    const started = Date.now();
    let commit;
    try {
      commit = await session.offline.submit(signature);
    } catch (err) {
      if (err instanceof SignatureError) session.state = 'endorsed';
      else end(session);
      throw err;
    }
    session.state = 'committed';
    if (session.kind === 'keys') {
      log('info', 'keys committed', {
        runId: session.runId,
        round: session.round,
        mspId: session.principal.mspId,
        ...commit,
      });
      const reply: CommitReply = {
        submissionId: session.id,
        commit,
        record: null,
        key: keysKey(session.runId, session.round, session.principal.mspId),
      };
      res.json(reply);
      coordinator.secaggNoted(session.runId);
      return;
    }
    crashPoint('after-commit', session.runId);
    metrics.ledgerLatency('SubmitUpdate', (Date.now() - started) / 1000);
    metrics.updateAccepted();
    log('info', 'update committed', {
      latencyMs: Date.now() - started,
      runId: session.runId,
      round: session.round,
      mspId: session.principal.mspId,
      ...commit,
    });
    const record =
      (await ledger.getUpdate(session.runId, session.round, session.principal.mspId)) ?? null;
    const reply: CommitReply = {
      submissionId: session.id,
      commit,
      record,
      key: updateKey(session.runId, session.round, session.principal.mspId),
    };
    res.json(reply);
    // Close the round if this was the last participant (after answering the hospital).
    coordinator.updateCommitted(session.runId, session.round).catch((err: unknown) => {
      log('warn', 'round close deferred', {
        runId: session.runId,
        round: session.round,
        error: String(err),
      });
    });
  });

  /**
   * The hospital abandons its submission (it refused to sign what the gateway prepared, or will
   * upload again): possible until the signed transaction is handed over, since nothing of it can
   * reach the ledger without that signature.
   */
  app.delete('/v1/submissions/:id', (req, res) => {
    const p = requireRole(req, 'hospital');
    const session = sessions.get(param(req, 'id'));
    if (!session || session.principal.fingerprint !== p.fingerprint) {
      throw new NotFoundError('FL_ERR_SUBMISSION_NOT_FOUND', 'no signing session has this ID');
    }
    if (session.state !== 'proposed' && session.state !== 'endorsed') {
      throw new SubmissionStateError(
        'FL_ERR_SUBMISSION_STATE',
        `the session is ${session.state}; only a proposed or endorsed one can be abandoned`,
      );
    }
    end(session);
    res.status(204).end();
  });

  app.get('/v1/submissions/:id', (req, res) => {
    const p = requireRole(req, 'hospital');
    const session = sessions.get(param(req, 'id'));
    if (!session || session.principal.fingerprint !== p.fingerprint) {
      throw new NotFoundError('FL_ERR_SUBMISSION_NOT_FOUND', 'no signing session has this ID');
    }
    const status: SubmissionStatus = {
      submissionId: session.id,
      state: session.state,
      runId: session.runId,
      round: session.round,
      sha256: session.sha256,
    };
    res.json(status);
  });

  return {
    async openKeysSession(p, submission) {
      const { runId, round } = submission;
      const key = claimKey(runId, round, p.mspId, 'keys');
      const live = liveClaim(key);
      if (live !== undefined) {
        throw new SubmissionStateError(
          'FL_ERR_SUBMISSION_IN_PROGRESS',
          `${p.mspId} has a key advertisement for round ${round} in progress`,
        );
      }
      const offline = await ledger.newKeysSubmission(
        { mspId: p.mspId, certificatePem: p.certificatePem },
        submission,
      );
      sweep();
      const session: Session = {
        kind: 'keys',
        id: randomUUID(),
        principal: p,
        runId,
        round,
        sha256: '',
        offline,
        state: 'proposed',
        expiresAt: Date.now() + limits.submissionTtlSeconds * 1000,
      };
      sessions.set(session.id, session);
      claims.set(key, { sessionId: session.id });
      return {
        submissionId: session.id,
        submission,
        proposal: { format: offline.format, bytes: b64(offline.proposalBytes) },
        proposalDigest: b64(offline.proposalDigest),
        expiresAt: new Date(session.expiresAt).toISOString(),
      };
    },
  };
}
