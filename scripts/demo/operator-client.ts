// What the consortium operator does through the gateway in the demo: upload the initial model,
// create the run, and read the trail and the verification (as the coordinator identity).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AuditTrail, ModelSpec } from '@fedledger/protocol';

interface IdentityEntry {
  mspId: string;
  certPath: string;
  keyPath: string;
}

export interface VerificationReply {
  ok: boolean;
  rounds: { round: number; ok: boolean; problems: { message: string }[] }[];
}

export interface CreateRunInput {
  runId: string;
  participants: string[];
  roundsPlanned: number;
  minUpdatesPerRound: number;
  modelSpec: ModelSpec;
  initialModel: Uint8Array;
  roundDeadlineSeconds: number;
  dp?: Record<string, unknown>;
  he?: Record<string, unknown>;
  updateNormBound?: number | null;
}

export class OperatorClient {
  constructor(
    private readonly baseUrl: string,
    private readonly ca: Buffer,
    private readonly cert: Buffer,
    private readonly key: Buffer,
  ) {}

  /** A client for identity `name` of an identities file (connection.json or identities.json). */
  static fromIdentities(
    baseUrl: string,
    caPath: string,
    identitiesPath: string,
    name: string,
  ): OperatorClient {
    const file = JSON.parse(readFileSync(identitiesPath, 'utf8')) as {
      identities: Record<string, IdentityEntry>;
    };
    const id = file.identities[name];
    if (!id) throw new Error(`no identity "${name}" in ${identitiesPath}`);
    return new OperatorClient(
      baseUrl,
      readFileSync(caPath),
      readFileSync(id.certPath),
      readFileSync(id.keyPath),
    );
  }

  private call(
    method: string,
    path: string,
    body?: Buffer,
    type?: string,
  ): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.baseUrl),
        {
          method,
          ca: this.ca,
          cert: this.cert,
          key: this.key,
          headers: body
            ? { 'content-type': type ?? 'application/json', 'content-length': String(body.length) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private async json<T>(method: string, path: string, body?: Buffer, type?: string): Promise<T> {
    const res = await this.call(method, path, body, type);
    if (res.status >= 400) {
      let detail = res.body.toString('utf8');
      try {
        const p = JSON.parse(detail) as { code?: string; detail?: string };
        detail = `${p.code ?? ''}: ${p.detail ?? ''}`;
      } catch {
        // not problem+json
      }
      throw new Error(`${method} ${path} → ${res.status} ${detail}`);
    }
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  /** Uploads the initial model and records the run on the ledger (round 0 opens). */
  async createRun(input: CreateRunInput): Promise<void> {
    const { sha256 } = await this.json<{ sha256: string }>(
      'POST',
      '/v1/models',
      Buffer.from(input.initialModel),
      'application/vnd.fedledger.container',
    );
    const { initialModel: _bytes, ...rest } = input;
    await this.json(
      'POST',
      '/v1/runs',
      Buffer.from(JSON.stringify({ ...rest, initialModelSha256: sha256 })),
    );
  }

  trail(runId: string): Promise<AuditTrail> {
    return this.json('GET', `/v1/audit/runs/${encodeURIComponent(runId)}/trail`);
  }

  verify(runId: string): Promise<VerificationReply> {
    return this.json('POST', `/v1/audit/runs/${encodeURIComponent(runId)}/verify`);
  }

  async blob(sha256: string): Promise<Uint8Array> {
    const res = await this.call('GET', `/v1/blobs/${sha256}`);
    if (res.status !== 200) throw new Error(`GET /v1/blobs/${sha256} → ${res.status}`);
    return res.body;
  }
}
