// `npm run demo`: a whole federated run on a real Fabric network (or, with --ledger simulated, on
// the in-process SIMULATED ledger): network up, gateway, three synthetic hospitals training with
// DP-SGD at ε = 1, every round recorded on the ledger, the audit verification, a summary table and
// a report folder. Everything it starts, it stops (also on Ctrl-C).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditTrail } from '@fedledger/protocol';
import { decodeContainer, validateModelSpec } from '@fedledger/protocol';
import type { Dataset } from '@fedledger/trainer';
import {
  createRun,
  loadHospitalIdentity,
  loadRunFile,
  newGatewayClient,
  newHttpsTransport,
  concatDatasets,
  evaluateTensors,
  prepareHospitalData,
  selectBackend,
} from '@fedledger/trainer';
import type { DemoSummary, RoundSummary, SplitMetrics } from './report';
import { finalModelTable, roundsTable, ledgerLines, writeReport } from './report';
import { onInterrupt, run, start, stopAll } from './processes';
import type { Child } from './processes';
import type { RunVerification } from '@fedledger/trainer';
import { Verifier, connectFabricAuditor, newDirBlobSource } from '@fedledger/gateway';
import { chainBytes } from '../network-files/chain-size';
import { localNetwork } from '../network-files/local-network';

const ROOT = resolve(__dirname, '..', '..', '..');
const TRAINER = join(ROOT, 'trainer', 'dist', 'src', 'cli', 'main.js');
const GATEWAY = join(ROOT, 'gateway', 'dist', 'src', 'cli', 'gateway.js');
const HOSPITALS = [
  { name: 'hospital1', mspId: 'Hospital1MSP' },
  { name: 'hospital2', mspId: 'Hospital2MSP' },
  { name: 'hospital3', mspId: 'Hospital3MSP' },
];

export interface DemoOptions {
  ledger: 'fabric' | 'simulated';
  rounds: number;
  epochs: number;
  patients: number;
  epsilon: number;
  delta: number;
  seed: number;
  out: string;
  keepNetwork: boolean;
  runId: string;
}

function parseOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ledger: { type: 'string', default: 'fabric' },
      rounds: { type: 'string', default: '10' },
      epochs: { type: 'string', default: '5' },
      patients: { type: 'string', default: '50000' },
      epsilon: { type: 'string', default: '1' },
      delta: { type: 'string', default: '1e-5' },
      seed: { type: 'string', default: '20240917' },
      out: { type: 'string', default: 'report' },
      'run-id': { type: 'string' },
      'keep-network': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout
      .write(`Usage: npm run demo -- [--ledger fabric|simulated] [--rounds 10] [--epochs 5]
       [--patients 50000] [--epsilon 1] [--delta 1e-5] [--seed N] [--out report] [--keep-network]
`);
    process.exit(0);
  }
  const positive = (name: string, value: string, integer: boolean): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new Error(
        `--${name} must be a positive ${integer ? 'integer' : 'number'}; got "${value}"`,
      );
    }
    return n;
  };
  if (values.ledger !== 'fabric' && values.ledger !== 'simulated') {
    throw new Error('--ledger must be fabric or simulated');
  }
  return {
    ledger: values.ledger,
    rounds: positive('rounds', values.rounds, true),
    epochs: positive('epochs', values.epochs, true),
    patients: positive('patients', values.patients, true),
    epsilon: positive('epsilon', values.epsilon, false),
    delta: positive('delta', values.delta, false),
    seed: positive('seed', values.seed, true),
    out: resolve(values.out),
    keepNetwork: values['keep-network'],
    runId:
      values['run-id'] ??
      `demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`,
  };
}

let stepNo = 0;
const STEPS = 8;
function step(text: string): void {
  stepNo += 1;
  process.stdout.write(`\n[demo] step ${stepNo}/${STEPS}: ${text}\n`);
}

interface GatewayInfo {
  url: string;
  caCertPath: string;
  dashboardUrl: string | null;
  identities: string;
}

async function waitForFile(path: string, child: Child, what: string): Promise<void> {
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 120_000;
  while (!existsSync(path)) {
    if (exited) throw new Error(`${what} exited before it was ready (see its output above)`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready within 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function metricsOf(
  split: string,
  m: { accuracy: number; macroPrecision: number; macroRecall: number; macroF1: number },
): SplitMetrics {
  return {
    split,
    accuracy: m.accuracy,
    precision: m.macroPrecision,
    recall: m.macroRecall,
    f1: m.macroF1,
  };
}

export async function demo(options: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const work = join(ROOT, '.fedledger', 'demo', options.runId);
  const networkDir = process.env['FEDLEDGER_NETWORK_DIR'] ?? join(ROOT, '.fedledger', 'network');
  const network = localNetwork((line) => process.stdout.write(`[demo] ${line}\n`));
  const cleanup = async (): Promise<void> => {
    await stopAll();
    if (!options.keepNetwork) await network.stop();
  };
  onInterrupt(cleanup);
  try {
    if (options.ledger === 'simulated') {
      process.stdout.write(
        '[demo] LEDGER: SIMULATED (in-process, not Hyperledger Fabric). Learning is identical; ledger figures are not Fabric figures.\n',
      );
    }
    // 1. The network.
    step(
      options.ledger === 'fabric'
        ? 'Fabric network (4 BFT orderers, 4 peers)'
        : 'no network (simulated ledger)',
    );
    if (options.ledger === 'fabric') await network.ensureUp();
    const chainBefore =
      options.ledger === 'fabric' ? chainBytes(networkDir, 'peer0.auditor') : undefined;

    // 2. Synthetic hospitals.
    step(`three synthetic hospitals, ${options.patients.toLocaleString('en')} patients each`);
    const dataDir = join(ROOT, '.fedledger', 'demo', `data-${options.patients}-${options.seed}`);
    if (existsSync(join(dataDir, 'manifest.json'))) {
      process.stdout.write(`[demo] reusing ${dataDir}\n`);
    } else {
      await run('generate', process.execPath, [
        TRAINER,
        'generate',
        '--out',
        dataDir,
        '--patients',
        String(options.patients),
        '--seed',
        String(options.seed),
      ]);
    }
    const schema = join(dataDir, 'schema.json');

    // 3. The gateway.
    step(`gateway (${options.ledger === 'fabric' ? 'Fabric' : 'SIMULATED'} ledger)`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const latencies: number[] = [];
    const closes = new Map<number, { block: number; included: string[] }>();
    const gatewayDir = join(work, 'gateway');
    const gateway = start(
      'gateway',
      process.execPath,
      [
        GATEWAY,
        'serve',
        '--ledger',
        options.ledger,
        '--state-dir',
        gatewayDir,
        '--port',
        '0',
        '--dashboard-port',
        '0',
      ],
      {
        onLine: (line) => {
          let entry: Record<string, unknown>;
          try {
            entry = JSON.parse(line) as Record<string, unknown>;
          } catch {
            process.stdout.write(`[gateway] ${line}\n`);
            return;
          }
          if (entry['msg'] === 'update committed' && typeof entry['latencyMs'] === 'number') {
            latencies.push(entry['latencyMs'] / 1000);
          } else if (entry['msg'] === 'round closed') {
            const round = entry['round'] as number;
            const block = entry['block'] as number;
            closes.set(round, { block, included: entry['included'] as string[] });
            if (typeof entry['closeLatencyMs'] === 'number')
              latencies.push(entry['closeLatencyMs'] / 1000);
            if (typeof entry['openLatencyMs'] === 'number')
              latencies.push(entry['openLatencyMs'] / 1000);
            const excluded = (entry['excluded'] as string[]).length;
            process.stdout.write(
              `[ledger] round ${round} closed in block ${block}: ${(entry['included'] as string[]).length} updates aggregated${excluded ? `, ${excluded} excluded` : ''}, model ${String(entry['aggregate']).slice(0, 12)}…${entry['nextRoundBlock'] !== undefined ? `; round ${round + 1} opened in block ${entry['nextRoundBlock'] as number}` : ''}\n`,
            );
          } else if (entry['level'] !== 'info') {
            process.stdout.write(`[gateway] ${String(entry['level'])}: ${String(entry['msg'])}\n`);
          }
        },
      },
    );
    await waitForFile(join(gatewayDir, 'gateway.json'), gateway, 'the gateway');
    const info = JSON.parse(readFileSync(join(gatewayDir, 'gateway.json'), 'utf8')) as GatewayInfo;
    process.stdout.write(
      `[demo] gateway at ${info.url}${info.dashboardUrl ? `, dashboard ${info.dashboardUrl}` : ''}\n`,
    );

    // 4. The run: initial model, then the run record on the ledger.
    step(
      `run ${options.runId}: ${options.rounds} rounds × ${options.epochs} local epochs, DP-SGD ε = ${options.epsilon}, δ = ${options.delta}`,
    );
    const initial = join(work, 'initial-model.safetensors');
    const specPath = join(work, 'model-spec.json');
    await run('init', process.execPath, [
      TRAINER,
      'init',
      '--out',
      initial,
      '--run-id',
      options.runId,
      '--data',
      join(dataDir, 'hospital1.csv'),
      '--schema',
      schema,
      '--save-spec',
      specPath,
    ]);
    const coordinator = loadHospitalIdentity(info.identities, 'coordinator');
    const operator = newGatewayClient({
      url: info.url,
      caCertPem: readFileSync(info.caCertPath, 'utf8'),
      certPem: coordinator.certPem,
      keyPem: coordinator.keyPem,
    });
    const modelSpec = validateModelSpec(JSON.parse(readFileSync(specPath, 'utf8')));
    const createStarted = Date.now();
    // The run is created as an operator creates one: a run file, read by fedledger-run's code.
    const runFile = join(work, 'run.json');
    writeFileSync(
      runFile,
      `${JSON.stringify(
        {
          runId: options.runId,
          model: { spec: relative(work, specPath), initial: relative(work, initial) },
          // Declared before training, public on the ledger: each hospital's patients (its
          // training split is 80 % of them), so no update can claim a larger FedAvg weight.
          participants: Object.fromEntries(HOSPITALS.map((h) => [h.mspId, options.patients])),
          rounds: options.rounds,
          quorum: 2,
          deadline: '1h',
          dp: { mechanism: 'dp-sgd', epsilon: options.epsilon, delta: options.delta },
        },
        null,
        2,
      )}\n`,
    );
    const coordinatorTransport = newHttpsTransport({
      url: info.url,
      caCertPem: readFileSync(info.caCertPath, 'utf8'),
      certPem: coordinator.certPem,
      keyPem: coordinator.keyPem,
    });
    await createRun(coordinatorTransport, loadRunFile(runFile));
    coordinatorTransport.close();
    latencies.push((Date.now() - createStarted) / 1000);

    // 5. Three hospitals, each with its own identity and process.
    step('three hospital trainers (own identity, own process)');
    const trainers = HOSPITALS.map((h) =>
      start(h.mspId, process.execPath, [
        TRAINER,
        'run',
        '--gateway',
        info.url,
        '--gateway-ca',
        info.caCertPath,
        '--identities',
        info.identities,
        '--identity',
        h.name,
        '--run',
        options.runId,
        '--data',
        join(dataDir, `${h.name}.csv`),
        '--schema',
        schema,
        '--workdir',
        join(work, h.name),
        '--epochs',
        String(options.epochs),
        '--dp',
        'dp-sgd',
        '--epsilon',
        String(options.epsilon),
        '--delta',
        String(options.delta),
        '--rounds',
        String(options.rounds),
      ]),
    );
    const codes = await Promise.all(trainers.map((t) => t.exited));
    const failed = trainers.filter((_, i) => codes[i] !== 0);
    if (failed.length > 0)
      throw new Error(`trainer ${failed.map((t) => t.name).join(', ')} failed (see above)`);

    // 6. The audit, from the ledger.
    step('audit verification of the whole run');
    // On Fabric the auditor checks through its own peer with the stored bytes; the simulated
    // ledger lives inside the gateway process, so there the gateway's verifier is asked.
    const blobDir = join(gatewayDir, 'blobs');
    let report: RunVerification;
    if (options.ledger === 'fabric') {
      const auditor = connectFabricAuditor({
        networkDir,
        identity: 'auditor',
        peer: 'peer0.auditor',
      });
      try {
        report = await new Verifier(auditor.ledger, newDirBlobSource({ dir: blobDir })).verifyRun(
          options.runId,
        );
      } finally {
        await auditor.close();
      }
    } else {
      report = await operator.verifyRun(options.runId);
    }
    for (const r of report.rounds) {
      process.stdout.write(
        `[audit] round ${r.round}: ${r.ok ? '✓' : `✗ ${r.problems.map((p) => p.message).join('; ')}`}\n`,
      );
    }
    process.stdout.write(
      `[audit] ${report.ok ? '✓ every hash, aggregate and chain-of-custody link verified' : '✗ verification FAILED'}\n`,
    );
    const trail: AuditTrail = await operator.getAuditTrail(options.runId);
    operator.close();
    const chainAfter =
      options.ledger === 'fabric' ? chainBytes(networkDir, 'peer0.auditor') : undefined;

    // 7. Each round's model on each hospital's test split and pooled.
    step('evaluating every round’s model on the hospitals’ test splits');
    await selectBackend('auto');
    const tests: Dataset[] = HOSPITALS.map(
      (h) => prepareHospitalData({ csvFile: join(dataDir, `${h.name}.csv`), schema }).test,
    );
    const pooled = concatDatasets(tests);
    const rounds: RoundSummary[] = [];
    for (const r of trail.rounds) {
      if (!r.aggregateHash) continue;
      const tensors = decodeContainer(
        readFileSync(join(blobDir, 'sha256', r.aggregateHash.slice(0, 2), r.aggregateHash)),
      ).tensors;
      const evaluations = HOSPITALS.map((h, i) =>
        metricsOf(h.mspId, evaluateTensors(modelSpec, tensors, tests[i] as Dataset)),
      );
      evaluations.push(metricsOf('pooled', evaluateTensors(modelSpec, tensors, pooled)));
      const close = closes.get(r.round);
      rounds.push({
        round: r.round,
        ...(close ? { closeBlock: close.block } : {}),
        aggregateHash: r.aggregateHash,
        included: r.included ?? [],
        evaluations,
        epsilon: Math.max(0, ...r.updates.map((u) => Number(u.dp?.epsilonSpent ?? 0))),
      });
      process.stdout.write(
        `[eval] round ${r.round}: pooled accuracy ${(evaluations[evaluations.length - 1]!.accuracy * 100).toFixed(1)} %\n`,
      );
    }
    const txCount =
      1 +
      trail.rounds.length +
      trail.rounds.filter((r) => r.status === 'closed').length +
      trail.rounds.reduce((n, r) => n + r.updates.length, 0);

    // 8. Summary and report.
    step(`summary and report (${options.out})`);
    const summary: DemoSummary = {
      runId: options.runId,
      wallSeconds: (Date.now() - started) / 1000,
      patientsPerHospital: options.patients,
      epochs: options.epochs,
      targetEpsilon: options.epsilon,
      delta: options.delta,
      rounds,
      ledger: {
        kind: options.ledger,
        txCount,
        latencies,
        ...(chainBefore !== undefined && chainAfter !== undefined
          ? { chainBytes: chainAfter - chainBefore }
          : {}),
      },
      verification: {
        ok: report.ok,
        rounds: report.rounds.map((r) => ({
          round: r.round,
          ok: r.ok,
          problems: r.problems.map((p) => p.message),
        })),
      },
    };
    const files = await writeReport(options.out, summary);
    process.stdout.write(
      `\n${roundsTable(summary)}\n\n${finalModelTable(summary)}\n\n${ledgerLines(summary).join('\n')}\n`,
    );
    process.stdout.write(`\n[demo] report: ${files.join(', ')}\n`);
    process.stdout.write(
      `[demo] finished in ${summary.wallSeconds.toFixed(0)} s${report.ok ? '' : ' — VERIFICATION FAILED'}\n`,
    );
    return summary;
  } finally {
    await cleanup();
  }
}

if (require.main === module) {
  let options: DemoOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    process.exit(2);
  }
  demo(options).then(
    (summary) => process.exit(summary.verification.ok ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`\n[demo] failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
