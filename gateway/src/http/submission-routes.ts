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
  RunRecord,
  SubmissionStatus,
  UpdateSubmission,
  UploadReply,
} from '@fedledger/protocol';
import { CONTAINER_MEDIA_TYPE, dpFromExtra, updateKey } from '@fedledger/protocol';
import type { EncryptedAggregator } from '@fedledger/rules';
import { UpdateCheckError, checkUpdateBytes } from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { crashPoint } from '../crash-points';
import type { Coordinator } from '../coordinator/coordinator';
import {
  AccessDeniedError,
  BadRequestError,
  GatewayError,
  NotFoundError,
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

/** Adds the upload and signing-step routes to `app`. */
export function registerSubmissionRoutes(app: express.Express, deps: SubmissionRouteDeps): void {
  const { ledger, blobs, coordinator, metrics, limits, log, json, requireRole, runOr404 } = deps;
  const sessions = new Map<string, Session>();
  const sweep = (): void => {
    const now = Date.now();
    for (const [id, s] of sessions) if (s.expiresAt < now - 60_000) sessions.delete(id);
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
    let sampleCount = 0;
    let dp: DpAccounting | undefined;
    const stored = await blobs.put(req, {
      maxBytes: limits.maxUploadBytes,
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
      encoding: run.settings['encoding'] === 'ckks' ? 'ckks' : 'float32',
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
    res.status(201).json(reply);
  });

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
      session.state = 'proposed';
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
      session.state = 'endorsed';
      throw err;
    }
    session.state = 'committed';
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
}
