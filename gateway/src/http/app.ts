// REST API v1 of the gateway (express 5). Callers are identified by their TLS client certificate
// (the same certificate as their Fabric identity); hospitals act only as themselves, auditors
// only read. Every error is problem+json with a code from the problem registry.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Static } from '@sinclair/typebox';
import type { AuditTrail, RoundDetails, RunRecord, RunStatus } from '@fedledger/protocol';
import type {
  HealthReplySchema,
  HistoryReplySchema,
  MetricsReplySchema,
  ModelStoredReplySchema,
  ReadyReplySchema,
  RunCreatedReplySchema,
  RunListReplySchema,
} from '@fedledger/protocol/schema';
import {
  CONTAINER_MEDIA_TYPE,
  decodeContainer,
  isSha256Hex,
  metricsFromExtra,
} from '@fedledger/protocol';
import type { BlobStore } from '../blob/blob-store';
import type { Coordinator } from '../coordinator/coordinator';
import { runConfigFromRequest } from '../coordinator/run-settings';
import type { Verifier } from '../audit/verify';
import type { EncryptedAggregator } from '@fedledger/rules';
import {
  AccessDeniedError,
  BadRequestError,
  GatewayError,
  NotFoundError,
  UpdateRejectedError,
} from '../errors';
import type { LedgerClient, LedgerEvent } from '../ledger/ledger-client';
import type { OrganisationDirectory, OrgRole, Principal } from '../pki/organisations';
import type { GatewayMetrics } from './metrics';
import { openApiDocument } from './openapi';
import { PROBLEM_REGISTRY, isProblemCode } from './problem-registry';
import type { AppLimits } from './limits';
import { DEFAULT_LIMITS } from './limits';
import { checkJsonDepth, intParam, param, problem } from './request-helpers';
import { registerSecAggRoutes } from './secagg-routes';
import { registerSubmissionRoutes } from './submission-routes';

export type { AppLimits } from './limits';
export { DEFAULT_LIMITS } from './limits';

export interface AppOptions {
  ledger: LedgerClient;
  blobs: BlobStore;
  coordinator: Coordinator;
  directory: OrganisationDirectory;
  verifier: Verifier;
  metrics: GatewayMetrics;
  /** Checks of encrypted updates (CKKS runs). */
  encrypted?: EncryptedAggregator;
  limits?: Partial<AppLimits>;
  /** Static dashboard files. */
  publicDir?: string;
  /** Serve only reads (and verify), still to callers with a consortium certificate (dashboard). */
  readOnlyViewer?: boolean;
  /**
   * Serve anonymous callers the public reads only: runs, rounds, the audit trail, key histories
   * and events (hashes and ledger records), never model or update bytes, metrics or verify.
   */
  publicViewer?: boolean;
  isReady: () => boolean;
  log?: (level: 'info' | 'warn' | 'error', message: string, context?: object) => void;
}

type AuthedRequest = Request & { principal?: Principal };

/** What the public dashboard serves anonymously: ledger records and hashes, never bytes. */
const PUBLIC_READS: readonly RegExp[] = [
  /^\/v1\/runs$/,
  /^\/v1\/runs\/[^/]+$/,
  /^\/v1\/runs\/[^/]+\/rounds\/[^/]+$/,
  /^\/v1\/audit\/runs\/[^/]+\/trail$/,
  /^\/v1\/audit\/history$/,
  /^\/v1\/events$/,
];

/** Builds the express application. */
export function createApp(options: AppOptions): express.Express {
  const { ledger, blobs, coordinator, directory, metrics } = options;
  const limits: AppLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? (() => undefined);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const json = express.json({
    limit: limits.maxJsonBytes,
    type: ['application/json'],
    verify: (_req, _res, raw) => checkJsonDepth(raw),
  });

  // --- open routes ---------------------------------------------------------------------------
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' } satisfies Static<typeof HealthReplySchema>);
  });
  app.get('/readyz', (_req, res) => {
    if (options.isReady())
      res.json({ status: 'ready', ledger: ledger.label } satisfies Static<typeof ReadyReplySchema>);
    else problem(res, 'FL_ERR_NOT_READY', 'the gateway is still resuming from the ledger');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.render());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  if (options.publicDir) app.use(express.static(options.publicDir, { index: 'index.html' }));

  // --- authentication ------------------------------------------------------------------------
  const authenticate = (req: AuthedRequest, _res: Response, next: NextFunction): void => {
    if (options.publicViewer) {
      const path = req.originalUrl.split('?')[0] ?? '';
      if (req.method !== 'GET' || !PUBLIC_READS.some((pattern) => pattern.test(path))) {
        throw new AccessDeniedError(
          'FL_ERR_FORBIDDEN',
          'the public dashboard serves ledger records only; models, updates, metrics and verify need a consortium certificate',
        );
      }
      next();
      return;
    }
    if (options.readOnlyViewer && req.method !== 'GET' && !req.path.endsWith('/verify')) {
      throw new AccessDeniedError('FL_ERR_READ_ONLY', 'the dashboard listener is read-only');
    }
    const socket = (req as IncomingMessage).socket as Partial<TLSSocket>;
    const cert =
      typeof socket.getPeerCertificate === 'function'
        ? socket.getPeerCertificate(false)
        : undefined;
    if (!cert || !cert.raw) {
      throw new AccessDeniedError(
        'FL_ERR_UNAUTHENTICATED',
        'present your organisation client certificate (TLS)',
      );
    }
    req.principal = directory.identify(cert.raw);
    next();
  };
  app.use('/v1', authenticate);

  const principalOf = (req: Request): Principal => {
    const p = (req as AuthedRequest).principal;
    if (!p)
      throw new AccessDeniedError(
        'FL_ERR_UNAUTHENTICATED',
        'present your organisation client certificate (TLS)',
      );
    return p;
  };
  const requireRole = (req: Request, ...roles: OrgRole[]): Principal => {
    const p = principalOf(req);
    if (!roles.includes(p.role)) {
      if (p.role === 'auditor')
        throw new AccessDeniedError('FL_ERR_READ_ONLY', 'auditors have read-only access');
      throw new AccessDeniedError('FL_ERR_FORBIDDEN', `a ${p.role} may not do this`);
    }
    return p;
  };
  const runOr404 = async (runId: string) => {
    const run = await ledger.getRun(runId);
    if (!run) throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${runId} does not exist`);
    return run;
  };

  // --- runs and models -------------------------------------------------------------------------
  app.get('/v1/runs', async (_req, res) => {
    const runs = await ledger.listRuns();
    res.json({
      ledger: ledger.label,
      runs: runs.map((r) => ({
        runId: r.runId,
        status: r.status,
        roundsPlanned: r.roundsPlanned,
        participants: r.participants,
        strategy: r.strategy,
        createdAt: r.createdAt,
      })),
    } satisfies Static<typeof RunListReplySchema>);
  });

  app.post('/v1/models', async (req, res) => {
    requireRole(req, 'coordinator');
    if (!req.is(CONTAINER_MEDIA_TYPE)) {
      throw new BadRequestError(
        'FL_ERR_UNSUPPORTED_MEDIA_TYPE',
        `send the model as ${CONTAINER_MEDIA_TYPE}`,
      );
    }
    const stored = await blobs.put(req, {
      maxBytes: limits.maxUploadBytes,
      inspect: async (staged) => {
        try {
          const c = decodeContainer(await staged.readBytes());
          if (c.metadata.kind !== 'model') throw new Error('the container is not a model');
        } catch (err) {
          throw new UpdateRejectedError('FL_ERR_MALFORMED_CONTAINER', (err as Error).message);
        }
      },
    });
    res.status(201).json({
      sha256: stored.sha256,
      byteLength: stored.byteLength,
    } satisfies Static<typeof ModelStoredReplySchema>);
  });

  app.post('/v1/runs', json, async (req, res) => {
    requireRole(req, 'coordinator');
    const config = runConfigFromRequest(req.body);
    const { run, created, opened } = await coordinator.createRun(config);
    const reply: Omit<Static<typeof RunCreatedReplySchema>, 'run'> & { run: RunRecord } = {
      run,
      created,
      opened,
    };
    res.status(201).json(reply);
  });

  app.get('/v1/runs/:runId', async (req, res) => {
    const trail = await ledger.getAuditTrail(param(req, 'runId'));
    if (!trail)
      throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${param(req, 'runId')} does not exist`);
    const open = trail.rounds.find((r) => r.status === 'open');
    const status: RunStatus = {
      run: trail.run,
      currentRound: open?.round ?? null,
      rounds: trail.rounds.map((r) => ({
        round: r.round,
        status: r.status,
        inputModelHash: r.inputModelHash,
        aggregateHash: r.aggregateHash ?? null,
        submitted: r.updates.map((u) => u.mspId),
      })),
    };
    res.json(status);
  });

  app.get('/v1/runs/:runId/rounds/:round', async (req, res) => {
    const runId = param(req, 'runId');
    const round = intParam(param(req, 'round'), 'round');
    const record = await ledger.getRound(runId, round);
    if (!record)
      throw new NotFoundError('FL_ERR_NOT_FOUND', `round ${round} of run ${runId} does not exist`);
    const details: RoundDetails = {
      round: record,
      updates: await ledger.listUpdates(runId, round),
    };
    res.json(details);
  });

  /** The input model of a round, with its ledger record. */
  app.get('/v1/runs/:runId/rounds/:round/model', async (req, res) => {
    const runId = param(req, 'runId');
    const round = intParam(param(req, 'round'), 'round');
    const record = await ledger.getRound(runId, round);
    if (!record)
      throw new NotFoundError('FL_ERR_NOT_FOUND', `round ${round} of run ${runId} does not exist`);
    const bytes = await blobs.get(record.inputModelHash);
    res
      .status(200)
      .set({
        'Content-Type': CONTAINER_MEDIA_TYPE,
        'X-Model-SHA256': record.inputModelHash,
        'X-Ledger-Tx-Id': record.openTxId,
        'X-Ledger-Record': Buffer.from(JSON.stringify(record)).toString('base64'),
      })
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  /** The final model of a completed run. */
  app.get('/v1/runs/:runId/model', async (req, res) => {
    const run = await runOr404(param(req, 'runId'));
    if (!run.finalModelHash) {
      throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${run.runId} has not completed yet`);
    }
    const bytes = await blobs.get(run.finalModelHash);
    res
      .set({ 'Content-Type': CONTAINER_MEDIA_TYPE, 'X-Model-SHA256': run.finalModelHash })
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  /** Local validation metrics and ε reported in each included update (ledger-anchored bytes). */
  app.get('/v1/runs/:runId/metrics', async (req, res) => {
    const trail = await ledger.getAuditTrail(param(req, 'runId'));
    if (!trail)
      throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${param(req, 'runId')} does not exist`);
    res.json({ metrics: await metricsOf(trail, blobs) } satisfies Static<
      typeof MetricsReplySchema
    >);
  });

  app.post('/v1/runs/:runId/close', async (req, res) => {
    requireRole(req, 'coordinator');
    const closed = await coordinator.closeNow(param(req, 'runId'));
    if (!closed) throw new NotFoundError('FL_ERR_NOT_FOUND', 'the run has no open round');
    res.json(closed);
  });

  // --- blobs ---------------------------------------------------------------------------------
  app.get('/v1/blobs/:sha256', async (req, res) => {
    const p = principalOf(req);
    const sha256 = param(req, 'sha256');
    if (!isSha256Hex(sha256))
      throw new BadRequestError('FL_ERR_BAD_REQUEST', 'the name must be a SHA-256');
    const bytes = await blobs.get(sha256);
    if (p.role === 'hospital') checkHospitalMayRead(p, sha256, bytes);
    res
      .set({ 'Content-Type': CONTAINER_MEDIA_TYPE, 'X-Content-SHA256': sha256 })
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  // --- update submission with offline signing ---------------------------------------------------
  const signing = registerSubmissionRoutes(app, {
    ledger,
    blobs,
    coordinator,
    metrics,
    limits,
    ...(options.encrypted ? { encrypted: options.encrypted } : {}),
    log,
    json,
    requireRole,
    runOr404,
  });
  registerSecAggRoutes(app, {
    ledger,
    blobs,
    coordinator,
    limits,
    sessions: signing,
    requireRole,
    runOr404,
  });

  // --- audit ---------------------------------------------------------------------------------
  app.get('/v1/audit/runs/:runId/trail', async (req, res) => {
    const trail = await ledger.getAuditTrail(param(req, 'runId'));
    if (!trail)
      throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${param(req, 'runId')} does not exist`);
    res.json(trail);
  });

  app.get('/v1/audit/history', async (req, res) => {
    const key = typeof req.query['key'] === 'string' ? req.query['key'] : '';
    if (!/^(run|round|update|secagg-keys)\/[A-Za-z0-9._/-]{1,200}$/.test(key)) {
      throw new BadRequestError(
        'FL_ERR_BAD_REQUEST',
        'key must be a readable ledger key such as update/<run>/<round>/<msp>',
      );
    }
    res.json({
      key,
      history: await ledger.getHistory(key),
    } satisfies Static<typeof HistoryReplySchema>);
  });

  app.post('/v1/audit/runs/:runId/verify', async (req, res) => {
    const report = await options.verifier.verifyRun(param(req, 'runId'));
    res.json(report);
  });

  // --- events --------------------------------------------------------------------------------
  app.get('/v1/events', (req, res) => {
    res.set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    const send = (event: LedgerEvent): void => {
      res.write(`event: ${event.name}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const stop = ledger.onEvent(send);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      stop();
      clearInterval(ping);
    });
  });

  // --- errors --------------------------------------------------------------------------------
  app.use((req: Request, res: Response) => {
    problem(res, 'FL_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof GatewayError) {
      const code = isProblemCode(err.code) ? err.code : 'FL_ERR_INTERNAL';
      if (PROBLEM_REGISTRY[code].status >= 500) log('error', err.message, { code, path: req.path });
      problem(res, code, err.message);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      problem(res, 'FL_ERR_BODY_TOO_LARGE', `the body is larger than ${limits.maxJsonBytes} bytes`);
      return;
    }
    if (e.type === 'entity.parse.failed') {
      problem(res, 'FL_ERR_BAD_REQUEST', 'the body is not valid JSON');
      return;
    }
    // The body parser's and the router's own refusals (a charset it cannot read, an aborted
    // body, a path that does not decode) carry a 4xx status: the caller's fault, said as such.
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      const code =
        e.status === 413
          ? 'FL_ERR_BODY_TOO_LARGE'
          : e.status === 415
            ? 'FL_ERR_UNSUPPORTED_MEDIA_TYPE'
            : 'FL_ERR_BAD_REQUEST';
      problem(res, code, e.message ?? 'the request cannot be read');
      return;
    }
    log('error', 'unexpected failure', { path: req.path, error: String(err) });
    problem(res, 'FL_ERR_INTERNAL', 'the gateway failed; see its logs');
  });
  return app;
}

/**
 * Hospitals read models and their own updates, never another hospital's update (in every run,
 * plaintext or encrypted); the coordinator and auditors read everything. The submitter is the
 * container's own `mspId`, which the upload checked against the uploader's certificate, and the
 * bytes were re-hashed on read, so no one can relabel an update to get it served.
 * @throws {AccessDeniedError} FL_ERR_UPDATE_NOT_YOURS for another hospital's update;
 * FL_ERR_FORBIDDEN for bytes that are not a container at all (nothing a hospital needs).
 */
function checkHospitalMayRead(p: Principal, sha256: string, bytes: Uint8Array): void {
  let metadata: { kind: string; mspId: string };
  try {
    metadata = decodeContainer(bytes).metadata;
  } catch {
    throw new AccessDeniedError(
      'FL_ERR_FORBIDDEN',
      `blob ${sha256} is not a model container; hospitals read models and their own updates only`,
    );
  }
  if (metadata.kind === 'update' && metadata.mspId !== p.mspId) {
    throw new AccessDeniedError(
      'FL_ERR_UPDATE_NOT_YOURS',
      `blob ${sha256} is an update of ${metadata.mspId}; it is served to that hospital, the coordinator and auditors, never to ${p.mspId}`,
    );
  }
}

/** One point of GET /v1/runs/{run}/metrics: the update's round and organisation, ε and its metrics. */
export type MetricsPoint = Static<typeof MetricsReplySchema>['metrics'][number] &
  Record<string, number | string>;

/** One point per included update: local validation metrics and ε, read from its container. */
export async function metricsOf(trail: AuditTrail, blobs: BlobStore): Promise<MetricsPoint[]> {
  const out: MetricsPoint[] = [];
  for (const round of trail.rounds) {
    for (const u of round.updates) {
      const point: MetricsPoint = { round: round.round, mspId: u.mspId };
      if (u.dp) point['epsilon'] = Number(u.dp.epsilonSpent);
      try {
        const c = decodeContainer(await blobs.get(u.sha256));
        Object.assign(point, metricsFromExtra(c.extra));
      } catch {
        // The audit reports missing or altered blobs; metrics skip them.
      }
      out.push(point);
    }
  }
  return out;
}

/** Where the dashboard's static files are. */
export const PUBLIC_DIR = join(__dirname, '..', '..', '..', 'public');
