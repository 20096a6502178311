// Test support: a real gateway (in this process) on the SIMULATED ledger with dev certificates, or
// on a running Fabric network with its identities, and an HTTPS client that authenticates with an
// organisation's certificate. Used by the gateway's tests and the root integration tests.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signers } from '@hyperledger/fabric-gateway';
import { SimulatedLedger } from '@fedledger/chaincode';
import type { Container, ModelSpec, RoundRecord, Tensor } from '@fedledger/protocol';
import {
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
} from '@fedledger/protocol';
import type { IdentityFiles, TlsFiles } from '../pki/dev-pki';
import type { Organisation } from '../pki/organisations';
import type { LedgerClient } from '../ledger/ledger-client';
import type { GatewayOptions, RunningGateway } from '../server';
import { loadNetworkProfile } from '../ledger/network-profile';
import { fabricLedgerFor } from '../cli/gateway';
import { organisationsOf } from '../pki/organisations';
import { SimulatedLedgerClient } from '../ledger/simulated-ledger-client';
import { ckksAggregator } from '@fedledger/rules';
import { ensureDevIdentities, ensureServerTls } from '../pki/dev-pki';
import type { SigningLie } from './dishonest';
import { withSigningLie } from './dishonest';
import type { Outage } from './outage';
import { newOutage, withOutage } from './outage';
import { startGateway } from '../server';

export const ORGS = [
  { name: 'hospital1', mspId: 'Hospital1MSP', role: 'hospital' },
  { name: 'hospital2', mspId: 'Hospital2MSP', role: 'hospital' },
  { name: 'hospital3', mspId: 'Hospital3MSP', role: 'hospital' },
  { name: 'auditor', mspId: 'AuditorMSP', role: 'auditor' },
  { name: 'coordinator', mspId: 'CoordinatorMSP', role: 'coordinator' },
  // An organisation the gateway does not know (certificates from an unknown CA).
  { name: 'stranger', mspId: 'StrangerMSP', role: 'hospital' },
] as const;

export type OrgName = (typeof ORGS)[number]['name'];

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

export class Harness {
  gateway!: RunningGateway;
  ledger = new SimulatedLedger();
  identities!: Record<string, IdentityFiles>;
  tls!: TlsFiles;
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Which ledger the harness's gateways use. */
  backend: 'simulated' | 'fabric' = 'simulated';
  private fabricOrganisations: Organisation[] = [];

  /**
   * How the gateway's coordinator decides rounds. Only tests that play a dishonest gateway set
   * it (before `start`); everyone else gets the rules' decideRound.
   */
  decide: GatewayOptions['decide'];

  /** A gateway on the simulated ledger with dev certificates (a "stranger" org it does not know). */
  static async create(options: { decide?: GatewayOptions['decide'] } = {}): Promise<Harness> {
    const h = new Harness(await mkdtemp(join(tmpdir(), 'fedledger-gw-')));
    h.decide = options.decide;
    h.identities = await ensureDevIdentities(join(h.dir, 'pki'), ORGS);
    h.tls = await ensureServerTls(join(h.dir, 'tls'));
    await h.start();
    return h;
  }

  /**
   * A gateway on the running Fabric network described by `connection.json` (default: the one
   * scripts/network.sh writes), with the network's identities.
   */
  static async createOnFabric(
    connectionJson?: string,
    options: { decide?: GatewayOptions['decide'] } = {},
  ): Promise<Harness> {
    const h = new Harness(await mkdtemp(join(tmpdir(), 'fedledger-gw-fabric-')));
    h.decide = options.decide;
    h.backend = 'fabric';
    const profile = loadNetworkProfile(connectionJson);
    h.identities = profile.identities;
    h.fabricOrganisations = organisationsOf(profile.identities);
    h.tls = await ensureServerTls(join(h.dir, 'tls'));
    h.connectionJson = connectionJson;
    await h.start();
    return h;
  }

  private connectionJson: string | undefined;

  organisations(): Organisation[] {
    if (this.backend === 'fabric') return this.fabricOrganisations;
    return ORGS.filter((o) => o.name !== 'stranger').map((o) => ({
      mspId: o.mspId,
      role: o.role,
      caCertificatesPem: [
        readFileSync((this.identities[o.name] as IdentityFiles).caCertPath, 'utf8'),
      ],
    }));
  }

  /**
   * What the gateway asks hospitals to sign instead of their own SubmitUpdate, in tests that
   * play a dishonest gateway; undefined: honest.
   */
  signingLie: SigningLie | undefined;

  /** Writes that fail while set, as with too few orderers for consensus (simulated ledger). */
  readonly outage: Outage = newOutage();

  /** Delays between the coordinator's tries of a failed ledger step (short in tests). */
  retryBackoff: GatewayOptions['retryBackoff'] = { initialMs: 50, maxMs: 400 };

  private async newLedger(): Promise<LedgerClient> {
    if (this.backend === 'fabric') {
      const fabric = fabricLedgerFor(loadNetworkProfile(this.connectionJson), 'coordinator');
      await fabric.start();
      return withSigningLie(fabric, () => this.signingLie);
    }
    const simulated = new SimulatedLedgerClient(this.ledger, {
      mspId: 'CoordinatorMSP',
      certificatePem: this.pem('coordinator', 'certPath'),
    });
    return withSigningLie(withOutage(simulated, this.outage), () => this.signingLie);
  }

  pem(name: OrgName, what: 'certPath' | 'keyPath'): string {
    return readFileSync((this.identities[name] as IdentityFiles)[what], 'utf8');
  }

  async start(limits?: { maxUploadBytes?: number }): Promise<void> {
    const ledger = await this.newLedger();
    this.gateway = await startGateway({
      encrypted: ckksAggregator(),
      ledger,
      stateDir: join(this.dir, 'state'),
      organisations: this.organisations(),
      tls: this.tls,
      ...(limits ? { limits } : {}),
      ...(this.decide ? { decide: this.decide } : {}),
      ...(this.retryBackoff ? { retryBackoff: this.retryBackoff } : {}),
    });
    await this.gateway.ready;
  }

  async stop(): Promise<void> {
    await this.gateway.close();
  }

  async dispose(): Promise<void> {
    await this.gateway.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** An HTTPS request as `who` (or with no client certificate). */
  call(
    who: OrgName | null,
    method: string,
    path: string,
    body?: Uint8Array | object | string,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const url = new URL(path, this.gateway.url);
    let payload: Buffer | undefined;
    const h: Record<string, string> = { ...headers };
    if (body instanceof Uint8Array) {
      payload = Buffer.from(body);
      h['content-type'] ??= 'application/vnd.fedledger.container';
    } else if (typeof body === 'string') {
      payload = Buffer.from(body);
    } else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      h['content-type'] ??= 'application/json';
    }
    if (payload) h['content-length'] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: h,
          ca: readFileSync(this.tls.caCertPath),
          ...(who ? { cert: this.pem(who, 'certPath'), key: this.pem(who, 'keyPath') } : {}),
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const buf = Buffer.concat(chunks);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: buf,
              json: <T>() => JSON.parse(buf.toString('utf8')) as T,
            });
          });
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Signs a digest with `who`'s key, as a hospital's trainer does. */
  async sign(who: OrgName, digestB64: string): Promise<string> {
    const signer = signers.newPrivateKeySigner(createPrivateKey(this.pem(who, 'keyPath')));
    return Buffer.from(await signer(Buffer.from(digestB64, 'base64'))).toString('base64');
  }

  /** Uploads and signs an update through all three steps; returns the final reply. */
  async submit(who: OrgName, runId: string, round: number, bytes: Uint8Array): Promise<Reply> {
    const upload = await this.call(who, 'POST', `/v1/runs/${runId}/rounds/${round}/updates`, bytes);
    if (upload.status !== 201) return upload;
    const { submissionId, proposalDigest } = upload.json<{
      submissionId: string;
      proposalDigest: string;
    }>();
    const endorsed = await this.call(
      who,
      'POST',
      `/v1/submissions/${submissionId}/proposal-signature`,
      {
        signature: await this.sign(who, proposalDigest),
      },
    );
    if (endorsed.status !== 200) return endorsed;
    const { transactionDigest } = endorsed.json<{ transactionDigest: string }>();
    return this.call(who, 'POST', `/v1/submissions/${submissionId}/transaction-signature`, {
      signature: await this.sign(who, transactionDigest),
    });
  }
}

/** A small model spec (4 inputs, 3 classes, one hidden layer). */
export const SPEC: ModelSpec = {
  name: 'tiny',
  inputDim: 4,
  layers: [
    { units: 5, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
};

/** Deterministic tensors for the spec, scaled by `scale` and shifted by `seed`. */
export function tensors(seed: number, scale = 0.01): Tensor[] {
  return modelTensorShapes(SPEC).map(({ name, shape }, t) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 7.1 + t * 3.3 + i * 0.37) * scale;
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

export function initialModel(runId: string): { bytes: Uint8Array; sha256: string } {
  return sealContainer({
    metadata: {
      kind: 'model',
      runId,
      round: 0,
      mspId: '',
      sampleCount: 0,
      modelSpecHash: modelSpecHash(SPEC),
      encoding: 'float32',
    },
    extra: {},
    tensors: tensors(0, 0.1),
  });
}

export function update(
  runId: string,
  round: number,
  mspId: string,
  sampleCount: number,
  seed: number,
  change: (c: Container) => void = () => undefined,
): Uint8Array {
  const c: Container = {
    metadata: {
      kind: 'update',
      runId,
      round,
      mspId,
      sampleCount,
      modelSpecHash: modelSpecHash(SPEC),
      encoding: 'float32',
    },
    extra: {},
    tensors: tensors(seed),
  };
  change(c);
  return encodeContainer(c);
}

/** Creates a run through the API (coordinator) and returns its ID. */
export async function createRun(
  h: Harness,
  runId: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const model = initialModel(runId);
  const up = await h.call('coordinator', 'POST', '/v1/models', model.bytes);
  if (up.status !== 201) throw new Error(`model upload: ${up.body.toString()}`);
  const res = await h.call('coordinator', 'POST', '/v1/runs', {
    runId,
    participants: ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'],
    roundsPlanned: 3,
    minUpdatesPerRound: 2,
    modelSpec: SPEC,
    initialModelSha256: model.sha256,
    updateNormBound: 10,
    sampleCounts: { Hospital1MSP: 1000, Hospital2MSP: 1000, Hospital3MSP: 1000 },
    ...extra,
  });
  if (res.status !== 201) throw new Error(`run: ${res.body.toString()}`);
}

/** Polls the ledger (through the gateway) until the round is closed. */
export async function waitClosed(h: Harness, runId: string, round: number): Promise<RoundRecord> {
  for (let i = 0; i < 200; i++) {
    const res = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${round}`);
    if (res.status === 200) {
      const record = res.json<{ round: RoundRecord }>().round;
      if (record.status === 'closed') return record;
    }
    await new Promise((resolve) => setImmediate(resolve));
    await h.gateway.coordinator.updateCommitted(runId, round);
  }
  throw new Error(`round ${round} of ${runId} did not close`);
}
