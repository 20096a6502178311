// A real gateway in this process on the simulated ledger, with dev certificates for three
// hospitals, an auditor and the coordinator, and gateway clients for each of them. The ledger
// object outlives gateway restarts, as a Fabric network outlives its gateway.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedLedger } from '@fedledger/chaincode';
import type { IdentityFiles, RunningGateway, TlsFiles } from '@fedledger/gateway';
import {
  SimulatedLedgerClient,
  ensureDevIdentities,
  ensureServerTls,
  startGateway,
} from '@fedledger/gateway';
import type { SigningLie } from '@fedledger/gateway/testing';
import { withSigningLie } from '@fedledger/gateway/testing';
import type { ModelSpec, SecAggSettings, Tensor } from '@fedledger/protocol';
import { ckksAggregator } from '@fedledger/rules';
import {
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
} from '@fedledger/protocol';
import type { GatewayClient, GatewayClientOptions } from '../src/client/gateway-client';
import type { GatewayTransport } from '../src/client/https-transport';
import { newHttpsTransport } from '../src/client/https-transport';
import type { OwnLedgerView } from '../src/client/own-ledger';
import { newGatewayClient } from '../src/client/gateway-client';
import type { HospitalIdentity } from '../src/client/identity';
import { loadHospitalIdentity } from '../src/client/identity';

export const ORGS = [
  { name: 'hospital1', mspId: 'Hospital1MSP', role: 'hospital' },
  { name: 'hospital2', mspId: 'Hospital2MSP', role: 'hospital' },
  { name: 'hospital3', mspId: 'Hospital3MSP', role: 'hospital' },
  { name: 'auditor', mspId: 'AuditorMSP', role: 'auditor' },
  { name: 'coordinator', mspId: 'CoordinatorMSP', role: 'coordinator' },
] as const;

export type OrgName = (typeof ORGS)[number]['name'];

/** A gateway on a simulated ledger, restartable on the same state folder and ledger. */
export class GatewayFixture {
  /** The trainer CLI's options that reach this gateway as `identity`. */
  cliArgs(identity: string): string[] {
    return [
      ...['--gateway', this.url, '--gateway-ca', this.tls.caCertPath],
      ...['--identities', this.identitiesFile, '--identity', identity],
    ];
  }

  readonly ledger = new SimulatedLedger();
  gateway: RunningGateway | undefined;
  /** The URL of the last gateway started (a restart asks for the same port). */
  url = '';
  private readonly clients: GatewayClient[] = [];

  private constructor(
    readonly dir: string,
    readonly identities: Record<string, IdentityFiles>,
    readonly tls: TlsFiles,
  ) {}

  static async create(): Promise<GatewayFixture> {
    const dir = await mkdtemp(join(tmpdir(), 'fedledger-client-'));
    const identities = await ensureDevIdentities(join(dir, 'pki'), ORGS);
    const tls = await ensureServerTls(join(dir, 'tls'));
    const fixture = new GatewayFixture(dir, identities, tls);
    await fixture.start();
    return fixture;
  }

  /** The identities file that `ensureDevIdentities` wrote. */
  get identitiesFile(): string {
    return join(this.dir, 'pki', 'identities.json');
  }

  private pem(name: OrgName, what: 'certPath' | 'keyPath' | 'caCertPath'): string {
    return readFileSync((this.identities[name] as IdentityFiles)[what], 'utf8');
  }

  /**
   * What the gateway (altered in tests that set it) asks hospitals to sign instead of their own
   * SubmitUpdate; undefined: an honest gateway.
   */
  signingLie: SigningLie | undefined;

  /** Starts a gateway (on the previous port after a stop, so clients find it again). */
  async start(): Promise<void> {
    const ledger = withSigningLie(
      new SimulatedLedgerClient(this.ledger, {
        mspId: 'CoordinatorMSP',
        certificatePem: this.pem('coordinator', 'certPath'),
      }),
      () => this.signingLie,
    );
    const port = this.url === '' ? 0 : Number(new URL(this.url).port);
    this.gateway = await startGateway({
      ledger,
      stateDir: join(this.dir, 'state'),
      tls: this.tls,
      port,
      // As `fedledger-gateway serve` runs: encrypted (CKKS) runs are aggregated too.
      encrypted: ckksAggregator(),
      organisations: ORGS.map((o) => ({
        mspId: o.mspId,
        role: o.role,
        caCertificatesPem: [this.pem(o.name, 'caCertPath')],
      })),
    });
    await this.gateway.ready;
    this.url = this.gateway.url;
  }

  async stop(): Promise<void> {
    await this.gateway?.close();
    this.gateway = undefined;
  }

  async dispose(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  identity(name: OrgName): HospitalIdentity {
    return loadHospitalIdentity(this.identitiesFile, name);
  }

  client(
    name: OrgName,
    options: Pick<GatewayClientOptions, 'ownLedger' | 'transport' | 'confirmTimeoutMs'> = {},
  ): GatewayClient {
    const id = this.identity(name);
    const client = newGatewayClient({
      url: this.url,
      caCertPem: readFileSync(this.tls.caCertPath),
      certPem: id.certPem,
      keyPem: id.keyPem,
      timeoutMs: 10_000,
      ledger: id.ledger,
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  /** The transport a client of `name` uses (to wrap it as a dishonest gateway's voice). */
  transport(name: OrgName): GatewayTransport {
    const id = this.identity(name);
    return newHttpsTransport({
      url: this.url,
      caCertPem: readFileSync(this.tls.caCertPath),
      certPem: id.certPem,
      keyPem: id.keyPem,
    });
  }

  /**
   * A hospital's own ledger view, read straight from the simulated ledger: the stand-in, in
   * tests, for the peer every hospital runs on Fabric.
   */
  ownLedger(name: OrgName): OwnLedgerView {
    const id = this.identity(name);
    const reader = new SimulatedLedgerClient(this.ledger, {
      mspId: id.mspId,
      certificatePem: id.certPem,
    });
    return {
      source: `the simulated ledger read directly by ${id.mspId}`,
      getRun: (runId) => reader.getRun(runId),
      getRound: (runId, round) => reader.getRound(runId, round),
      getUpdate: (runId, round, mspId) => reader.getUpdate(runId, round, mspId),
      getAuditTrail: (runId) => reader.getAuditTrail(runId),
      listKeys: (runId, round) => reader.listKeys(runId, round),
      transactionStatus: (txId) =>
        Promise.resolve(this.ledger.blockOf(txId) === undefined ? undefined : 'VALID'),
      close: () => undefined,
    };
  }

  /** Creates a run as the coordinator with {@link TINY_SPEC} and a seeded initial model. */
  async createRun(
    runId: string,
    extra: {
      participants?: string[];
      roundsPlanned?: number;
      minUpdatesPerRound?: number;
      modelSpec?: ModelSpec;
      initialModel?: Uint8Array;
      preprocessingSha256?: string;
      /** Secure aggregation: settings over the gateway's defaults. */
      secagg?: Partial<SecAggSettings>;
      sampleCounts?: Record<string, number>;
    } = {},
  ): Promise<void> {
    const coordinator = this.client('coordinator');
    await coordinator.coordinatorCreateRun({
      runId,
      participants: extra.participants ?? ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'],
      roundsPlanned: extra.roundsPlanned ?? 2,
      minUpdatesPerRound: extra.minUpdatesPerRound ?? 2,
      modelSpec: extra.modelSpec ?? TINY_SPEC,
      initialModel: extra.initialModel ?? initialModel(runId).bytes,
      updateNormBound: 100,
      roundDeadlineSeconds: 3600,
      ...(extra.preprocessingSha256 ? { preprocessingSha256: extra.preprocessingSha256 } : {}),
      ...(extra.secagg ? { secagg: extra.secagg } : {}),
      sampleCounts:
        extra.sampleCounts ??
        Object.fromEntries(
          (extra.participants ?? ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']).map((msp) => [
            msp,
            1000,
          ]),
        ),
    });
  }
}

/** A small model spec (4 inputs, 3 classes, one hidden layer). */
export const TINY_SPEC: ModelSpec = {
  name: 'tiny',
  inputDim: 4,
  layers: [
    { units: 5, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
};

function tensors(spec: ModelSpec, seed: number, scale: number): Tensor[] {
  return modelTensorShapes(spec).map(({ name, shape }, t) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 7.1 + t * 3.3 + i * 0.37) * scale;
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

/** A deterministic initial model container of {@link TINY_SPEC}. */
export function initialModel(runId: string): { bytes: Uint8Array; sha256: string } {
  return sealContainer({
    metadata: {
      kind: 'model',
      runId,
      round: 0,
      mspId: '',
      sampleCount: 0,
      modelSpecHash: modelSpecHash(TINY_SPEC),
      encoding: 'float32',
    },
    extra: {},
    tensors: tensors(TINY_SPEC, 0, 0.1),
  });
}

/** A deterministic update container of {@link TINY_SPEC}. */
export function tinyUpdate(runId: string, round: number, mspId: string, seed = 1): Uint8Array {
  return encodeContainer({
    metadata: {
      kind: 'update',
      runId,
      round,
      mspId,
      sampleCount: 10 + seed,
      modelSpecHash: modelSpecHash(TINY_SPEC),
      encoding: 'float32',
    },
    extra: {},
    tensors: tensors(TINY_SPEC, seed, 0.01),
  });
}
