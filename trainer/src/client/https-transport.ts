// The gateway client's I/O edge: HTTPS requests over one keep-alive agent that presents the
// organisation's client certificate and trusts only the gateway's server CA, or the same requests
// over in-memory connections to a gateway in this process (simulations). Error statuses become
// GatewayRequestError (from the problem+json body); network failures GatewayUnavailableError.
import type {
  ClientRequest,
  IncomingHttpHeaders,
  IncomingMessage,
  RequestOptions,
} from 'node:http';
import { request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Problem } from './errors';
import { GatewayRequestError, GatewayUnavailableError } from './errors';

/** One request to the gateway. */
export interface TransportRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/v1/runs/run-1`. */
  path: string;
  body?: Uint8Array;
  contentType?: string;
}

/** A successful (2xx) reply. */
export interface TransportReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/** Sends requests to one gateway as one identity. */
export interface GatewayTransport {
  /**
   * Sends a request and reads the whole reply.
   * @throws {GatewayRequestError} for a status of 400 or more.
   * @throws {GatewayUnavailableError} when the gateway cannot be reached or does not answer.
   */
  send(req: Readonly<TransportRequest>): Promise<TransportReply>;
  /** Closes idle connections. */
  close(): void;
}

/** Options of {@link newHttpsTransport}. */
export interface HttpsTransportOptions {
  /** Base URL of the gateway, `https://127.0.0.1:8443`. */
  url: string;
  /** The CA that issued the gateway's server certificate (PEM). */
  caCertPem: string | Uint8Array;
  /** The organisation's client certificate and key (PEM). */
  certPem: string | Uint8Array;
  keyPem: string | Uint8Array;
  /** Milliseconds a request may stay without progress; default 120 000. */
  timeoutMs?: number;
}

function problemOf(status: number, headers: IncomingHttpHeaders, body: Buffer): Problem {
  const type = headers['content-type'] ?? '';
  if (/json/.test(type)) {
    try {
      const p = JSON.parse(body.toString('utf8')) as Partial<Problem>;
      if (typeof p.code === 'string') {
        return {
          status,
          code: p.code,
          detail: typeof p.detail === 'string' ? p.detail : (p.title ?? ''),
          ...(typeof p.type === 'string' ? { type: p.type } : {}),
          ...(typeof p.title === 'string' ? { title: p.title } : {}),
        };
      }
    } catch {
      // not problem+json after all; described below
    }
  }
  const text = body.toString('utf8', 0, Math.min(body.length, 200)).trim();
  return { status, code: `FL_ERR_HTTP_${status}`, detail: text || `HTTP ${status}` };
}

/** Sends one request with `requestFn` and reads the whole reply (shared by the transports). */
export function exchange(
  requestFn: (
    url: URL,
    options: RequestOptions,
    onReply: (res: IncomingMessage) => void,
  ) => ClientRequest,
  base: URL,
  options: RequestOptions,
  req: Readonly<TransportRequest>,
  timeoutMs: number,
): Promise<TransportReply> {
  const label = `${req.method} ${req.path}`;
  const headers: Record<string, string> = { accept: 'application/json, */*' };
  if (req.body) {
    headers['content-type'] = req.contentType ?? 'application/octet-stream';
    headers['content-length'] = String(req.body.byteLength);
  }
  return new Promise<TransportReply>((resolve, reject) => {
    const outgoing = requestFn(
      new URL(req.path, base),
      { ...options, method: req.method, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new GatewayUnavailableError(label, err)));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 400 || status < 200) {
            reject(new GatewayRequestError(label, problemOf(status, res.headers, body)));
            return;
          }
          // A copy, not a view into Node's pooled buffer (protocol's decoder slices its input).
          resolve({ status, headers: res.headers, body: new Uint8Array(body) });
        });
      },
    );
    outgoing.setTimeout(timeoutMs, () =>
      outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)),
    );
    outgoing.on('error', (err) => reject(new GatewayUnavailableError(label, err)));
    outgoing.end(
      req.body ? Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength) : undefined,
    );
  });
}

/** A transport over node:https with a keep-alive agent. */
export function newHttpsTransport(options: Readonly<HttpsTransportOptions>): GatewayTransport {
  const base = new URL(options.url);
  if (base.protocol !== 'https:') {
    throw new TypeError(`The gateway URL must be https://, not ${options.url}.`);
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 8,
    ca: toBuffer(options.caCertPem),
    cert: toBuffer(options.certPem),
    key: toBuffer(options.keyPem),
  });
  return {
    send: (req) => exchange(request, base, { agent }, req, timeoutMs),
    close() {
      agent.destroy();
    },
  };
}

/** Options of {@link newInProcessTransport}. */
export interface InProcessTransportOptions {
  /** Opens a new connection to a gateway in this process (InProcessGateway.connect). */
  connect(): Duplex;
  /** Milliseconds a request may stay without progress; default 120 000. */
  timeoutMs?: number;
}

/**
 * A transport to a gateway running in this process, over in-memory connections: the same REST
 * requests and replies as over HTTPS, for simulations that run the deployment's client code.
 */
export function newInProcessTransport(
  options: Readonly<InProcessTransportOptions>,
): GatewayTransport {
  const base = new URL('http://in-process.invalid');
  const timeoutMs = options.timeoutMs ?? 120_000;
  return {
    send: (req) =>
      exchange(httpRequest, base, { createConnection: () => options.connect() }, req, timeoutMs),
    close() {},
  };
}

function toBuffer(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}
