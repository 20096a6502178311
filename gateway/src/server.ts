// Assembles and starts a gateway: ledger client, blob store, coordinator, verifier, HTTPS server
// with client-certificate authentication, and (optionally) a read-only dashboard listener.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Organisation } from './pki/organisations';
import { OrganisationDirectory } from './pki/organisations';
import type { TlsFiles } from './pki/dev-pki';
import { newFsBlobStore } from './blob/fs-blob-store';
import type { FsBlobStore } from './blob/fs-blob-store';
import { Coordinator } from './coordinator/coordinator';
import type { CoordinatorOptions } from './coordinator/coordinator';
import type { EncryptedAggregator } from '@fedledger/rules';
import { Verifier } from './audit/verify';
import type { LedgerClient } from './ledger/ledger-client';
import type { AppLimits } from './http/limits';
import { PUBLIC_DIR, createApp } from './http/app';
import { newGatewayMetrics } from './http/metrics';

export type LogFn = (level: 'info' | 'warn' | 'error', message: string, context?: object) => void;

export interface GatewayOptions {
  ledger: LedgerClient;
  /** Folder for blobs and coordinator notes. */
  stateDir: string;
  organisations: Organisation[];
  tls: TlsFiles;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Port of a read-only dashboard listener on 127.0.0.1 (HTTP, no client certificate). */
  dashboardPort?: number;
  encrypted?: EncryptedAggregator;
  limits?: Partial<AppLimits>;
  log?: LogFn;
  /** How the coordinator decides rounds; only tests that play a dishonest gateway set it. */
  decide?: CoordinatorOptions['decide'];
}

export interface RunningGateway {
  url: string;
  dashboardUrl?: string;
  coordinator: Coordinator;
  blobs: FsBlobStore;
  ledger: LedgerClient;
  /** Resolves once the coordinator has resumed every active run from the ledger. */
  ready: Promise<void>;
  /** Stops listening and timers; closes the ledger client. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Starts a gateway. Servers bind to 127.0.0.1 unless `host` says otherwise. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log: LogFn = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  await mkdir(options.stateDir, { recursive: true });
  const blobs = newFsBlobStore({ root: join(options.stateDir, 'blobs') });
  const metrics = newGatewayMetrics();
  const directory = new OrganisationDirectory(options.organisations);
  const coordinator = new Coordinator({
    ledger: options.ledger,
    blobs,
    stateDir: options.stateDir,
    ...(options.encrypted ? { encrypted: options.encrypted } : {}),
    ...(options.decide ? { decide: options.decide } : {}),
    observer: {
      roundClosed: (e, ms) => {
        metrics.roundClosed(ms / 1000);
        log('info', 'round closed', {
          runId: e.runId,
          round: e.round,
          block: e.close.blockNumber,
          closeLatencyMs: e.closeLatencyMs,
          nextRoundBlock: e.next?.blockNumber,
          openLatencyMs: e.openLatencyMs,
          aggregate: e.aggregateHash,
          included: e.included,
          excluded: e.excluded.map((x) => `${x.mspId}: ${x.code}`),
        });
      },
      updateExcluded: (_runId, _round, excluded) => metrics.updateExcluded(excluded.code),
      error: (message, err) => log('warn', message, { error: String(err) }),
    },
  });
  const verifier = new Verifier(
    options.ledger,
    { get: (sha256) => blobs.getUnverified(sha256) },
    options.encrypted,
  );
  let ready = false;
  const common = {
    ledger: options.ledger,
    blobs,
    coordinator,
    directory,
    verifier,
    metrics,
    publicDir: PUBLIC_DIR,
    ...(options.encrypted ? { encrypted: options.encrypted } : {}),
    isReady: () => ready,
    log,
    ...(options.limits ? { limits: options.limits } : {}),
  };
  const caCerts = options.organisations.flatMap((o) => o.caCertificatesPem);
  const server = createHttpsServer(
    {
      key: readFileSync(options.tls.keyPath),
      cert: readFileSync(options.tls.certPath),
      ca: caCerts,
      requestCert: true,
      // The application answers an unknown or missing certificate with a problem+json 401.
      rejectUnauthorized: false,
      maxHeaderSize: 16 * 1024,
    },
    createApp(common),
  );
  server.requestTimeout = 10 * 60 * 1000;
  const port = await listen(server, options.port ?? 0, host);
  let dashboard: Server | undefined;
  let dashboardUrl: string | undefined;
  if (options.dashboardPort !== undefined) {
    dashboard = createHttpServer(
      { maxHeaderSize: 16 * 1024 },
      createApp({ ...common, readOnlyViewer: true }),
    );
    const dashPort = await listen(dashboard, options.dashboardPort, '127.0.0.1');
    dashboardUrl = `http://127.0.0.1:${dashPort}`;
  }
  // An update committed while the gateway was down (or between signing steps) still closes its round.
  const stopEvents = options.ledger.onEvent((event) => {
    if (event.name !== 'UpdateSubmitted') return;
    const p = event.payload as { runId?: string; round?: number };
    if (typeof p.runId === 'string' && typeof p.round === 'number') {
      coordinator.updateCommitted(p.runId, p.round).catch(() => undefined);
    }
  });
  const readyPromise = coordinator.resume().then(() => {
    ready = true;
    log('info', 'gateway ready', { url: `https://${host}:${port}`, ledger: options.ledger.label });
  });
  readyPromise.catch((err: unknown) =>
    log('error', 'could not resume from the ledger', { error: String(err) }),
  );
  return {
    url: `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    ...(dashboardUrl ? { dashboardUrl } : {}),
    coordinator,
    blobs,
    ledger: options.ledger,
    ready: readyPromise,
    async close() {
      stopEvents();
      coordinator.stop();
      await closeServer(server);
      if (dashboard) await closeServer(dashboard);
      await options.ledger.close();
    },
  };
}

/** The stored bytes without the integrity check (the verifier reports altered bytes itself). */
