// Where an auditor gets the bytes that the ledger names: a folder (a copy of the gateway's blob
// store, or a flat folder of files named by their SHA-256) or the gateway's API over mutual TLS.
// Neither source is trusted: the verifier re-hashes everything they return.
import { readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { isSha256Hex } from '@fedledger/protocol';
import type { BlobSource } from './verify';

/** The blob source cannot be used at all (as opposed to one blob being missing). */
export class BlobSourceError extends Error {
  readonly code: 'BLOBS_NOT_FOUND' | 'BLOBS_UNREACHABLE' | 'BLOBS_REFUSED';

  constructor(code: BlobSourceError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options of {@link newDirBlobSource}. */
export interface DirBlobSourceOptions {
  /** `<dir>/sha256/<first two hex>/<sha256>` (the gateway's layout) or `<dir>/<sha256>`. */
  dir: string;
}

/**
 * A folder of blobs, in the gateway's blob store layout or flat.
 * @throws BlobSourceError (`BLOBS_NOT_FOUND`) when `dir` is not a readable folder.
 */
export function newDirBlobSource(options: Readonly<DirBlobSourceOptions>): BlobSource {
  const { dir } = options;
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new BlobSourceError('BLOBS_NOT_FOUND', `the blobs folder ${dir} does not exist`, {
      cause: err,
    });
  }
  if (!isDir) throw new BlobSourceError('BLOBS_NOT_FOUND', `${dir} is not a folder`);
  const candidates = (sha256: string): string[] => [
    join(dir, 'sha256', sha256.slice(0, 2), sha256),
    join(dir, sha256),
  ];
  return {
    name: `folder ${dir}`,
    async get(sha256) {
      // The name goes into a path: only a SHA-256 in hex may.
      if (!isSha256Hex(sha256)) return undefined;
      for (const path of candidates(sha256)) {
        try {
          if ((await stat(path)).isFile()) return new Uint8Array(await readFile(path));
        } catch {
          // Not in this layout; try the next.
        }
      }
      return undefined;
    },
  };
}

/** Options of {@link newGatewayBlobSource}. */
export interface GatewayBlobSourceOptions {
  /** The gateway's base URL, `https://host:port`. */
  url: string;
  /** PEM of the CA that issued the gateway's TLS certificate (omit to use the system CAs). */
  caPem?: string;
  /** The auditor's client certificate and key (PEM), the same as its Fabric identity. */
  certPem: string;
  keyPem: string;
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/** A gateway blob source; `probe()` checks that the gateway answers and accepts the identity. */
export interface GatewayBlobSource extends BlobSource {
  roundModel(runId: string, round: number): Promise<Uint8Array | undefined>;
  /** @throws BlobSourceError when the gateway cannot be reached or refuses the certificate. */
  probe(): Promise<void>;
  close(): void;
}

interface HttpReply {
  status: number;
  body: Buffer;
}

/**
 * Blobs fetched from the gateway (`GET /v1/blobs/:sha256`) and the models it serves per round
 * (`GET /v1/runs/:id/rounds/:r/model`), authenticated with the auditor's certificate.
 */
export function newGatewayBlobSource(
  options: Readonly<GatewayBlobSourceOptions>,
): GatewayBlobSource {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (err) {
    throw new BlobSourceError('BLOBS_NOT_FOUND', `${options.url} is not a URL`, { cause: err });
  }
  if (base.protocol !== 'https:') {
    throw new BlobSourceError(
      'BLOBS_NOT_FOUND',
      `the gateway URL must be https://, not ${base.protocol}`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agent = new Agent({
    keepAlive: true,
    cert: options.certPem,
    key: options.keyPem,
    ...(options.caPem ? { ca: options.caPem } : {}),
  });

  const get = (path: string): Promise<HttpReply> =>
    new Promise((resolve, reject) => {
      const req = request(
        new URL(path, base),
        { method: 'GET', agent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });

  const bytesOr404 = async (path: string): Promise<Uint8Array | undefined> => {
    const reply = await get(path);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) {
      throw new BlobSourceError(
        'BLOBS_REFUSED',
        `GET ${path} answered ${reply.status}: ${detailOf(reply.body)}`,
      );
    }
    return new Uint8Array(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
  };

  return {
    name: `the gateway at ${base.origin}`,
    get(sha256) {
      if (!isSha256Hex(sha256)) return Promise.resolve(undefined);
      return bytesOr404(`/v1/blobs/${sha256}`);
    },
    roundModel(runId, round) {
      return bytesOr404(`/v1/runs/${encodeURIComponent(runId)}/rounds/${round}/model`);
    },
    async probe() {
      let reply: HttpReply;
      try {
        reply = await get('/v1/runs');
      } catch (err) {
        throw new BlobSourceError(
          'BLOBS_UNREACHABLE',
          `cannot reach the gateway at ${base.origin}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (reply.status !== 200) {
        throw new BlobSourceError(
          'BLOBS_REFUSED',
          `the gateway at ${base.origin} answered ${reply.status}: ${detailOf(reply.body)}`,
        );
      }
    },
    close() {
      agent.destroy();
    },
  };
}

/** The `detail` of a problem+json body, or the start of the body. */
function detailOf(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { detail?: unknown };
    if (typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // Not JSON; show the text.
  }
  return text.slice(0, 200);
}
