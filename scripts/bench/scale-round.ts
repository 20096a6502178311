// One measurement of bench:scale: a gateway process of its own, a run of n hospitals, one round
// from the first upload to the next round open, and the gateway's memory while it happens.
//
// The gateway runs as a child process (fedledger-gateway serve) so that its memory is its own:
// its resident set is read from /proc/<pid>/status every 20 ms. The hospitals are this process:
// each signs its own submission (offline signing, as the trainer does) with its own identity,
// at most `concurrency` at a time. The run has two rounds and needs every hospital's update, so
// round 0 closes when the n-th update commits; the gateway's "round closed" log line gives the
// split of the close (deciding: reading, checking and aggregating the updates and storing the
// model; CloseRound; OpenRound of round 1).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import {
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
} from '@fedledger/protocol';
import type { HospitalIdentity } from '@fedledger/trainer';
import { loadHospitalIdentity, newGatewayClient } from '@fedledger/trainer';

const ROOT = resolve(__dirname, '..', '..', '..');
const GATEWAY = join(ROOT, 'gateway', 'dist', 'src', 'cli', 'gateway.js');

/** What one measurement needs. */
export interface ScaleRoundOptions {
  ledger: 'simulated' | 'fabric';
  hospitals: number;
  model: { label: string; spec: ModelSpec };
  /** Submissions in flight at once. */
  concurrency: number;
  /** Fabric: the network folder (connection.json); simulated: where dev identities are kept. */
  networkDir?: string;
  pkiDir?: string;
}

/** What one measurement found; times in seconds, memory in MiB. */
export interface ScaleRoundResult {
  ledger: string;
  model: string;
  parameters: number;
  hospitals: number;
  /** First upload to the last update committed. */
  uploadS: number;
  /** Last commit to round 1 open, as the bench sees it. */
  closeS: number;
  /** Reading, checking and aggregating the updates and storing the model (gateway's figure). */
  decideS: number;
  closeRoundS: number;
  openRoundS: number;
  /** uploadS + closeS. */
  roundS: number;
  /** Gateway resident set once ready, before the run. */
  idleRssMiB: number;
  /** Largest gateway resident set seen during the round. */
  peakRssMiB: number;
  /** Gateway resident set when the last update committed, and the largest during the close. */
  rssAtCloseMiB: number;
  closePeakRssMiB: number;
}

interface RoundClosedLine {
  round: number;
  closeLatencyMs?: number;
  openLatencyMs?: number;
  durationMs?: number;
  included: string[];
}

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

function tensors(spec: ModelSpec, seed: number, scale: number): Tensor[] {
  return modelTensorShapes(spec).map(({ name, shape }, t) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 7.1 + t * 3.3 + i * 0.37) * scale;
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

interface Gateway {
  child: ChildProcess;
  url: string;
  caCertPem: string;
  identities: string;
  closed(round: number): Promise<RoundClosedLine>;
  stop(): Promise<void>;
}

async function startGateway(options: ScaleRoundOptions, stateDir: string): Promise<Gateway> {
  const args = [GATEWAY, 'serve', '--ledger', options.ledger, '--state-dir', stateDir];
  args.push('--port', '0');
  if (options.ledger === 'simulated') {
    args.push('--hospitals', String(options.hospitals));
    if (options.pkiDir) args.push('--pki-dir', options.pkiDir);
  } else if (options.networkDir) {
    args.push('--network-dir', options.networkDir);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const waiting = new Map<number, (line: RoundClosedLine) => void>();
  const seen = new Map<number, RoundClosedLine>();
  let output = '';
  const onLine = (line: string): void => {
    output = `${output}${line}\n`.slice(-4000);
    if (!line.startsWith('{')) return;
    const entry = JSON.parse(line) as { msg?: string } & RoundClosedLine;
    if (entry.msg !== 'round closed') return;
    seen.set(entry.round, entry);
    waiting.get(entry.round)?.(entry);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? 1)));
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setInterval(() => {
      if (/fedledger gateway ready at/.test(output)) {
        clearInterval(timer);
        resolveReady();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`the gateway exited (${code}) before it was ready:\n${output}`));
    });
  });
  await ready;
  const info = JSON.parse(readFileSync(join(stateDir, 'gateway.json'), 'utf8')) as {
    url: string;
    caCertPath: string;
    identities: string;
  };
  return {
    child,
    url: info.url,
    caCertPem: readFileSync(info.caCertPath, 'utf8'),
    identities: info.identities,
    closed: (round) =>
      new Promise((r) => {
        const line = seen.get(round);
        if (line) r(line);
        else waiting.set(round, r);
      }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Runs one round of `options.hospitals` hospitals and measures it.
 * @throws {Error} when the gateway does not start, a submission fails or the round does not close.
 */
export async function measureRound(
  options: Readonly<ScaleRoundOptions>,
): Promise<ScaleRoundResult> {
  const stateDir = await mkdtemp(join(tmpdir(), 'fedledger-scale-'));
  const gateway = await startGateway(options, stateDir);
  const pid = gateway.child.pid as number;
  let peak = 0;
  let closing = false;
  let closePeak = 0;
  const sampler = setInterval(() => {
    const rss = rssMiB(pid) || 0;
    peak = Math.max(peak, rss);
    if (closing) closePeak = Math.max(closePeak, rss);
  }, 20);
  try {
    const idleRssMiB = rssMiB(pid);
    const names = Array.from({ length: options.hospitals }, (_, i) => `hospital${i + 1}`);
    const hospitals: HospitalIdentity[] = names.map((n) =>
      loadHospitalIdentity(gateway.identities, n),
    );
    const coordinator = loadHospitalIdentity(gateway.identities, 'coordinator');
    const operator = newGatewayClient({
      url: gateway.url,
      caCertPem: gateway.caCertPem,
      certPem: coordinator.certPem,
      keyPem: coordinator.keyPem,
    });
    const spec = options.model.spec;
    const runId = `scale-${options.ledger}-${options.model.label}-${options.hospitals}-${Date.now()}`;
    const initial = sealContainer({
      metadata: {
        kind: 'model',
        runId,
        round: 0,
        mspId: '',
        sampleCount: 0,
        modelSpecHash: modelSpecHash(spec),
        encoding: 'float32',
      },
      extra: {},
      tensors: tensors(spec, 0, 0.1),
    });
    await operator.coordinatorCreateRun({
      runId,
      participants: hospitals.map((h) => h.mspId),
      roundsPlanned: 2,
      minUpdatesPerRound: options.hospitals,
      modelSpec: spec,
      initialModel: initial.bytes,
      updateNormBound: 10,
      roundDeadlineSeconds: 3600,
      sampleCounts: Object.fromEntries(hospitals.map((h) => [h.mspId, 1000])),
    });
    operator.close();
    peak = 0;
    const uploadStarted = performance.now();
    let lastCommit = uploadStarted;
    let committed = 0;
    let rssAtCloseMiB = NaN;
    await pool(hospitals, options.concurrency, async (h) => {
      const bytes = encodeContainer({
        metadata: {
          kind: 'update',
          runId,
          round: 0,
          mspId: h.mspId,
          sampleCount: 1000,
          modelSpecHash: modelSpecHash(spec),
          encoding: 'float32',
        },
        extra: {},
        tensors: tensors(spec, hospitals.indexOf(h) + 1, 0.01),
      });
      const client = newGatewayClient({
        url: gateway.url,
        caCertPem: gateway.caCertPem,
        certPem: h.certPem,
        keyPem: h.keyPem,
        ledger: h.ledger,
      });
      try {
        await client.submitUpdate({ runId, round: 0, bytes, signer: h.signer });
        lastCommit = Math.max(lastCommit, performance.now());
        committed += 1;
        if (committed === hospitals.length) {
          rssAtCloseMiB = rssMiB(pid);
          closePeak = rssAtCloseMiB;
          closing = true;
        }
      } finally {
        client.close();
      }
    });
    const closed = await gateway.closed(0);
    const closedAt = performance.now();
    closePeak = Math.max(closePeak, rssMiB(pid) || 0);
    if (closed.included.length !== options.hospitals) {
      throw new Error(
        `round 0 closed with ${closed.included.length} of ${options.hospitals} updates included`,
      );
    }
    const closeRoundS = (closed.closeLatencyMs ?? 0) / 1000;
    const openRoundS = (closed.openLatencyMs ?? 0) / 1000;
    const uploadS = (lastCommit - uploadStarted) / 1000;
    const closeS = Math.max((closedAt - lastCommit) / 1000, (closed.durationMs ?? 0) / 1000);
    return {
      ledger: options.ledger,
      model: options.model.label,
      parameters: modelTensorShapes(spec).reduce(
        (n, t) => n + t.shape.reduce((a, b) => a * b, 1),
        0,
      ),
      hospitals: options.hospitals,
      uploadS,
      closeS,
      decideS: Math.max(0, (closed.durationMs ?? 0) / 1000 - closeRoundS - openRoundS),
      closeRoundS,
      openRoundS,
      roundS: uploadS + closeS,
      idleRssMiB,
      peakRssMiB: Math.max(peak, closePeak),
      rssAtCloseMiB,
      closePeakRssMiB: closePeak,
    };
  } finally {
    clearInterval(sampler);
    await gateway.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
