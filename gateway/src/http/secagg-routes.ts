// The secure-aggregation routes: a hospital's key advertisement (signed by the hospital through
// the usual signing session), its share bundle, and its reveal. The gateway relays and stores;
// it cannot read a share (each is encrypted to its recipient under keys from the ledger), cannot
// substitute a key (the hospitals read keys from their own peers), and stores every bundle and
// reveal as a blob whose hash the ledger names (mask set, close record).
import express from 'express';
import type { Request } from 'express';
import type { KeysRecord, KeysSubmission, RunRecord, SecAggBlobReply } from '@fedledger/protocol';
import {
  SecAggError,
  checkAdvertisement,
  decodeReveal,
  decodeShareBundle,
  encodeReveal,
  encodeShareBundle,
} from '@fedledger/protocol/secagg';
import type { BlobStore } from '../blob/blob-store';
import type { Coordinator } from '../coordinator/coordinator';
import {
  AccessDeniedError,
  BadRequestError,
  GatewayError,
  NotFoundError,
  UpdateRejectedError,
} from '../errors';
import type { LedgerClient } from '../ledger/ledger-client';
import type { OrgRole, Principal } from '../pki/organisations';
import type { AppLimits } from './limits';
import { intParam, param } from './request-helpers';
import type { SecAggNoteKind } from '../coordinator/secagg-phases';
import type { SigningSessions } from './submission-routes';

/** What the secure-aggregation routes need from the application around them. */
export interface SecAggRouteDeps {
  ledger: LedgerClient;
  blobs: BlobStore;
  coordinator: Coordinator;
  limits: AppLimits;
  sessions: SigningSessions;
  requireRole: (req: Request, ...roles: OrgRole[]) => Principal;
  runOr404: (runId: string) => Promise<RunRecord>;
}

const BASE = '/v1/runs/:runId/rounds/:round/secagg';

/** Adds the secure-aggregation routes to `app`. */
export function registerSecAggRoutes(app: express.Express, deps: SecAggRouteDeps): void {
  const { ledger, blobs, coordinator, requireRole, runOr404 } = deps;
  const raw = express.raw({ type: () => true, limit: deps.limits.maxJsonBytes });

  /** The run (a secagg run this hospital takes part in) and round named by the path. */
  const target = async (req: Request, p: Principal) => {
    const runId = param(req, 'runId');
    const round = intParam(param(req, 'round'), 'round');
    const run = await runOr404(runId);
    if (run.settings['encoding'] !== 'secagg') {
      throw new GatewayError('FL_ERR_NOT_SECAGG', `run ${runId} does not use secure aggregation`);
    }
    if (p.role === 'hospital' && !run.participants.includes(p.mspId)) {
      throw new AccessDeniedError(
        'FL_ERR_NOT_PARTICIPANT',
        `${p.mspId} is not a participant of run ${runId}`,
      );
    }
    const record = await ledger.getRound(runId, round);
    if (!record)
      throw new NotFoundError('FL_ERR_NOT_FOUND', `round ${round} of run ${runId} does not exist`);
    return { run, round, record };
  };

  const malformed = (err: unknown): never => {
    if (err instanceof SecAggError) {
      throw new UpdateRejectedError('FL_ERR_SECAGG_MALFORMED', err.message);
    }
    throw err;
  };

  const bodyBytes = (req: Request): Uint8Array => {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new BadRequestError('FL_ERR_BAD_REQUEST', 'send the JSON document as the request body');
    }
    return Uint8Array.from(body);
  };

  /**
   * Decodes a hospital's bundle or reveal (refusing one that names another sender, run or
   * round), stores its canonical bytes and tells the coordinator.
   */
  const keep = async (
    req: Request,
    p: Principal,
    runId: string,
    round: number,
    kind: SecAggNoteKind,
    canonical: (bytes: Uint8Array) => Uint8Array,
  ): Promise<SecAggBlobReply> => {
    let bytes: Uint8Array;
    try {
      bytes = canonical(bodyBytes(req));
      const message = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
        from: string;
        runId: string;
        round: number;
      };
      if (message.from !== p.mspId || message.runId !== runId || message.round !== round) {
        throw new SecAggError(
          'SECAGG_MALFORMED',
          `it is from ${message.from} for ${message.runId}/${message.round}, not from ${p.mspId} for ${runId}/${round}`,
        );
      }
    } catch (err) {
      return malformed(err);
    }
    const stored = await blobs.putBytes(bytes);
    await coordinator.noteSecAgg(kind, { runId, round, mspId: p.mspId, sha256: stored.sha256 });
    return { sha256: stored.sha256, byteLength: stored.byteLength };
  };

  app.post(`${BASE}/keys`, express.json({ limit: deps.limits.maxJsonBytes }), async (req, res) => {
    const p = requireRole(req, 'hospital');
    const { run, round } = await target(req, p);
    let submission: KeysSubmission;
    try {
      const ad = checkAdvertisement({ ...(req.body as object), mspId: p.mspId });
      submission = {
        runId: run.runId,
        round,
        mspId: p.mspId,
        encryptionKey: ad.encryptionKey,
        maskKey: ad.maskKey,
        selfMaskCommitment: ad.selfMaskCommitment,
      };
    } catch (err) {
      return malformed(err);
    }
    res.status(201).json(await deps.sessions.openKeysSession(p, submission));
  });

  app.get(`${BASE}/keys`, async (req, res) => {
    const p = requireRole(req, 'hospital', 'coordinator', 'auditor');
    const { run, round } = await target(req, p);
    const keys: KeysRecord[] = await ledger.listKeys(run.runId, round);
    res.json(keys);
  });

  app.post(`${BASE}/shares`, raw, async (req, res) => {
    const p = requireRole(req, 'hospital');
    const { run, round, record } = await target(req, p);
    if (record.status !== 'open' || record.secagg !== undefined) {
      throw new GatewayError('FL_ERR_SECAGG_PHASE', `round ${round} no longer takes share bundles`);
    }
    res
      .status(201)
      .json(
        await keep(req, p, run.runId, round, 'shares', (bytes) =>
          encodeShareBundle(decodeShareBundle(bytes)),
        ),
      );
  });

  app.get(`${BASE}/shares/:mspId`, async (req, res) => {
    const p = requireRole(req, 'hospital', 'coordinator', 'auditor');
    const { run, round, record } = await target(req, p);
    const dealer = param(req, 'mspId');
    // The ledger's mask set names the bundle once fixed; before that, the last one received.
    const named = record.secagg?.maskSet.find((e) => e.mspId === dealer)?.sharesSha256;
    const sha256 = named ?? (await coordinator.secAggNote('shares', run.runId, round, dealer));
    if (sha256 === undefined) {
      throw new NotFoundError('FL_ERR_NOT_FOUND', `${dealer} dealt no shares in round ${round}`);
    }
    const bytes = await blobs.get(sha256);
    res
      .set({ 'Content-Type': 'application/json', 'X-Content-SHA256': sha256 })
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.post(`${BASE}/reveal`, raw, async (req, res) => {
    const p = requireRole(req, 'hospital');
    const { run, round, record } = await target(req, p);
    if (record.status !== 'open' || record.secagg?.phase !== 'unmasking') {
      throw new GatewayError('FL_ERR_SECAGG_PHASE', `round ${round} is not unmasking`);
    }
    if (!(record.secagg.survivors ?? []).includes(p.mspId)) {
      throw new AccessDeniedError(
        'FL_ERR_NOT_IN_MASK_SET',
        `${p.mspId} is not a survivor of round ${round}`,
      );
    }
    res
      .status(201)
      .json(
        await keep(req, p, run.runId, round, 'reveals', (bytes) =>
          encodeReveal(decodeReveal(bytes)),
        ),
      );
  });
}
