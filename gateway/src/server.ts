// Assembles and starts a gateway: ledger client, blob store, coordinator, verifier, HTTPS server
// with client-certificate authentication, and (optionally) a read-only dashboard listener; or the
// same gateway in this process with no listener, reached over in-memory connections.
import { isIPv6 } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { STATUS_CODES, createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { join } from 'node:path';
import type { Organisation } from './pki/organisations';
import { OrganisationDirectory } from './pki/organisations';
import type { TlsFiles } from './pki/dev-pki';
import { newFsBlobStore } from './blob/fs-blob-store';
import type { FsBlobStore } from './blob/fs-blob-store';
import { Coordinator } from './coordinator/coordinator';
import type { CoordinatorObserver, CoordinatorOptions } from './coordinator/coordinator';
import type { EncryptedAggregator } from '@fedledger/rules';
import { Verifier } from './audit/verify';
import type { LedgerClient } from './ledger/ledger-client';
import type { AppLimits } from './http/limits';
import type { AppOptions } from './http/app';
import { PUBLIC_DIR, createApp } from './http/app';
import { newGatewayMetrics } from './http/metrics';
import { PROBLEM_REGISTRY, PROBLEM_TYPE_BASE } from './http/problem-registry';

export type LogFn = (level: 'info' | 'warn' | 'error', message: string, context?: object) => void;

/** What a gateway is made of, however it is reached. */
export interface GatewayCoreOptions {
  ledger: LedgerClient;
  /** Folder for blobs and coordinator notes. */
  stateDir: string;
  organisations: Organisation[];
  encrypted?: EncryptedAggregator;
  limits?: Partial<AppLimits>;
  log?: LogFn;
  /** How the coordinator decides rounds; only tests that play a dishonest gateway set it. */
  decide?: CoordinatorOptions['decide'];
  /** Told of every round the coordinator closes, besides the gateway's logs and metrics. */
  observer?: CoordinatorObserver;
  /** Delays between tries of a ledger step that failed (default 1 s doubling to 15 s). */
  retryBackoff?: CoordinatorOptions['backoff'];
  /**
   * Resume every active run on the ledger at start (default true). A simulation sharing a
   * channel with other runs turns it off, so it does not take those over.
   */
  resume?: boolean;
}

export interface GatewayOptions extends GatewayCoreOptions {
  tls: TlsFiles;
  /** The address the API (and the dashboard) listen on; 127.0.0.1 by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * Port of a read-only dashboard listener on `host`: HTTPS with the gateway's certificate,
   * answering only callers with a consortium client certificate, as the API does.
   */
  dashboardPort?: number;
  /**
   * Makes the dashboard listener plain HTTP for anonymous callers, serving ledger records and
   * hashes only (never model or update bytes, metrics or verify).
   */
  dashboardPublic?: boolean;
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

/**
 * Answers requests Node cannot even parse (headers over the limit, a malformed request line) with
 * a problem+json 431 or 400, as the application answers everything else.
 */
function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const code = tooLarge ? 'FL_ERR_HEADER_TOO_LARGE' : 'FL_ERR_BAD_REQUEST';
    const { status, title } = PROBLEM_REGISTRY[code];
    const body = JSON.stringify({
      type: `${PROBLEM_TYPE_BASE}${code}`,
      title,
      status,
      code,
      detail: tooLarge ? 'the request headers exceed 16 KiB' : 'the request cannot be parsed',
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** What every way of running a gateway shares: blob store, coordinator, verifier, app options. */
interface GatewayCore {
  blobs: FsBlobStore;
  coordinator: Coordinator;
  app: AppOptions;
  /** Resumes every active run from the ledger (unless told not to) and marks the app ready. */
  begin(onReady: () => void): { ready: Promise<void>; stop(): void };
}

async function assemble(options: GatewayCoreOptions): Promise<GatewayCore> {
  const log: LogFn = options.log ?? (() => undefined);
  await mkdir(options.stateDir, { recursive: true });
  const blobs = newFsBlobStore({ root: join(options.stateDir, 'blobs') });
  const metrics = newGatewayMetrics();
  const directory = new OrganisationDirectory(options.organisations);
  const extra = options.observer ?? {};
  const coordinator = new Coordinator({
    ledger: options.ledger,
    blobs,
    stateDir: options.stateDir,
    ...(options.encrypted ? { encrypted: options.encrypted } : {}),
    ...(options.decide ? { decide: options.decide } : {}),
    ...(options.retryBackoff ? { backoff: options.retryBackoff } : {}),
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
          // From the close's start (reading the updates) to the next round open.
          durationMs: ms,
          aggregate: e.aggregateHash,
          included: e.included,
          excluded: e.excluded.map((x) => `${x.mspId}: ${x.code}`),
        });
        extra.roundClosed?.(e, ms);
      },
      updateExcluded: (runId, round, excluded) => {
        metrics.updateExcluded(excluded.code);
        extra.updateExcluded?.(runId, round, excluded);
      },
      error: (message, err) => {
        log('warn', message, { error: String(err) });
        extra.error?.(message, err);
      },
    },
  });
  const verifier = new Verifier(
    options.ledger,
    { get: (sha256) => blobs.getUnverified(sha256) },
    options.encrypted,
  );
  let ready = false;
  const app: AppOptions = {
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
  return {
    blobs,
    coordinator,
    app,
    begin(onReady) {
      // An update committed while the gateway was down (or between signing steps) still closes
      // its round.
      const stopEvents = options.ledger.onEvent((event) => {
        if (event.name !== 'UpdateSubmitted') return;
        const p = event.payload as { runId?: string; round?: number };
        if (typeof p.runId === 'string' && typeof p.round === 'number') {
          coordinator.updateCommitted(p.runId, p.round).catch(() => undefined);
        }
      });
      const resumed = options.resume === false ? Promise.resolve() : coordinator.resume();
      const readyPromise = resumed.then(() => {
        ready = true;
        onReady();
      });
      readyPromise.catch((err: unknown) =>
        log('error', 'could not resume from the ledger', { error: String(err) }),
      );
      return {
        ready: readyPromise,
        stop() {
          stopEvents();
          coordinator.stop();
        },
      };
    },
  };
}

/** The host part of a URL for a listening address (a wildcard is reached on loopback). */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}

/** Starts a gateway. Servers bind to 127.0.0.1 unless `host` says otherwise. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log: LogFn = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  const core = await assemble(options);
  const caCerts = options.organisations.flatMap((o) => o.caCertificatesPem);
  const tlsOptions = {
    key: readFileSync(options.tls.keyPath),
    cert: readFileSync(options.tls.certPath),
    ca: caCerts,
    requestCert: true,
    // The application answers an unknown or missing certificate with a problem+json 401.
    rejectUnauthorized: false,
  };
  const server = createHttpsServer(
    { ...tlsOptions, maxHeaderSize: 16 * 1024 },
    createApp(core.app),
  );
  server.requestTimeout = 10 * 60 * 1000;
  answerClientErrors(server);
  const port = await listen(server, options.port ?? 0, host);
  let dashboard: Server | undefined;
  let dashboardUrl: string | undefined;
  if (options.dashboardPort !== undefined) {
    if (options.dashboardPublic) {
      dashboard = createHttpServer(
        { maxHeaderSize: 16 * 1024 },
        createApp({ ...core.app, publicViewer: true }),
      );
    } else {
      dashboard = createHttpsServer(
        { ...tlsOptions, maxHeaderSize: 16 * 1024 },
        createApp({ ...core.app, readOnlyViewer: true }),
      );
    }
    answerClientErrors(dashboard);
    const dashPort = await listen(dashboard, options.dashboardPort, host);
    dashboardUrl = `${options.dashboardPublic ? 'http' : 'https'}://${urlHost(host)}:${dashPort}`;
  }
  const running = core.begin(() =>
    log('info', 'gateway ready', {
      url: `https://${urlHost(host)}:${port}`,
      ledger: options.ledger.label,
    }),
  );
  return {
    url: `https://${urlHost(host)}:${port}`,
    ...(dashboardUrl ? { dashboardUrl } : {}),
    coordinator: core.coordinator,
    blobs: core.blobs,
    ledger: options.ledger,
    ready: running.ready,
    async close() {
      running.stop();
      await closeServer(server);
      if (dashboard) await closeServer(dashboard);
      await options.ledger.close();
    },
  };
}

/** A gateway with no listener: each caller reaches its REST API over an in-memory connection. */
export interface InProcessGateway {
  coordinator: Coordinator;
  blobs: FsBlobStore;
  ledger: LedgerClient;
  /** Resolves once the coordinator has resumed (or, with `resume: false`, at once). */
  ready: Promise<void>;
  /**
   * A new in-memory connection to the REST API as the holder of `certificatePem`, as if TLS had
   * verified that client certificate (the application still checks it against the organisations'
   * CAs). Nothing listens on a port; only code in this process can connect.
   */
  connect(certificatePem: string): Duplex;
  /** Stops timers; the ledger client stays open (it is the caller's). */
  close(): Promise<void>;
}

/**
 * Starts a gateway inside this process, for simulations that must run the same REST API, the
 * same coordinator and the same client code as a deployment, with only the transport swapped.
 */
export async function startInProcessGateway(
  options: GatewayCoreOptions,
): Promise<InProcessGateway> {
  const core = await assemble(options);
  const server = createHttpServer({ maxHeaderSize: 16 * 1024 }, createApp(core.app));
  const running = core.begin(() => undefined);
  return {
    coordinator: core.coordinator,
    blobs: core.blobs,
    ledger: options.ledger,
    ready: running.ready,
    connect(certificatePem) {
      const raw = new X509Certificate(certificatePem).raw;
      const [client, serverSide] = socketPair();
      Object.assign(serverSide, { getPeerCertificate: () => ({ raw }) });
      server.emit('connection', serverSide);
      return client;
    },
    close() {
      running.stop();
      return Promise.resolve();
    },
  };
}

/** An in-memory stream with the parts of a socket's API that node:http calls. */
class MemorySocket extends Duplex {
  peer: MemorySocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleMs = 0;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error) => void): void {
    this.touch();
    this.peer?.touch();
    this.peer?.push(chunk);
    done();
  }

  override _final(done: (err?: Error) => void): void {
    this.peer?.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    clearTimeout(this.timer);
    if (this.peer && !this.peer.destroyed) this.peer.destroy();
    done(err);
  }

  /** Emits 'timeout' after `ms` without traffic, as net.Socket does (0 turns it off). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleMs = ms;
    if (onTimeout) this.once('timeout', onTimeout);
    this.touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  private touch(): void {
    clearTimeout(this.timer);
    if (this.idleMs > 0 && !this.destroyed) {
      this.timer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.timer.unref();
    }
  }
}

/** Two connected in-memory sockets: what one writes, the other reads. */
function socketPair(): [Duplex, Duplex] {
  const a = new MemorySocket();
  const b = new MemorySocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
