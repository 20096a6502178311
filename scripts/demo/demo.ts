// `npm run demo`: a whole federated run on a real Fabric network (or, with --ledger simulated, on
// the in-process SIMULATED ledger): network up, gateway, three synthetic hospitals training with
// DP-SGD at ε = 1 (updates in plaintext, or CKKS-encrypted with --protection ckks), every round
// recorded on the ledger, the audit verification, a summary table and a report folder. Everything
// it starts, it stops (also on Ctrl-C).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { AuditTrail } from '@fedledger/protocol';
import { validateModelSpec } from '@fedledger/protocol';
import { ckksAggregator } from '@fedledger/rules';
import {
  createRun,
  loadHospitalIdentity,
  loadRunFile,
  newGatewayClient,
  newHttpsTransport,
} from '@fedledger/trainer';
import { demoProtection } from './demo-protection';
import { formatDuration, progressLine } from './eta';
import { evaluateRounds } from './evaluate-rounds';
import type { DemoSummary } from './report';
import {
  finalModelTable,
  ledgerLines,
  protectionLine,
  reauditLines,
  roundsTable,
  warningLines,
  writeReport,
} from './report';
import { pointLatest, reportFolderFor } from './report-folder';
import type { DemoOptions } from './demo-options';
import { USAGE, parseOptions } from './demo-options';
import { onInterrupt, run, start, stopAll } from './processes';
import type { Child } from './processes';
import type { RunVerification } from '@fedledger/trainer';
import { Verifier, connectFabricAuditor, newDirBlobSource } from '@fedledger/gateway';
import { chainBytes } from '../network-files/chain-size';
import { localNetwork } from '../network-files/local-network';

const ROOT = resolve(__dirname, '..', '..', '..');
const TRAINER = join(ROOT, 'trainer', 'dist', 'src', 'cli', 'main.js');
const GATEWAY = join(ROOT, 'gateway', 'dist', 'src', 'cli', 'gateway.js');
/** The demo's hospitals: hospital1 … hospitalN. */
function hospitalsOf(count: number): { name: string; mspId: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `hospital${i + 1}`,
    mspId: `Hospital${i + 1}MSP`,
  }));
}

/** "three" for the default federation (the README's excerpt), the number otherwise. */
function countWord(n: number): string {
  return n === 3 ? 'three' : String(n);
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

export async function demo(options: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const HOSPITALS = hospitalsOf(options.hospitals);
  const log = (line: string): void => void process.stdout.write(`[demo] ${line}\n`);
  // Checked first: a second run never writes over an earlier run's report.
  const reportDir = reportFolderFor(options.out, options.runId);
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
        ? `Fabric network (4 BFT orderers, ${options.hospitals + 1} peers)`
        : 'no network (simulated ledger)',
    );
    if (options.ledger === 'fabric') await network.ensureUp(options.hospitals);
    const chainBefore =
      options.ledger === 'fabric' ? chainBytes(networkDir, 'peer0.auditor') : undefined;

    // 2. Synthetic hospitals.
    step(
      `${countWord(options.hospitals)} synthetic hospitals, ${options.patients.toLocaleString('en')} patients each`,
    );
    const dataDir = join(
      ROOT,
      '.fedledger',
      'demo',
      `data-${options.patients}-${options.seed}${options.hospitals === 3 ? '' : `-${options.hospitals}h`}`,
    );
    if (existsSync(join(dataDir, 'manifest.json'))) {
      process.stdout.write(`[demo] reusing ${dataDir}\n`);
    } else {
      await run('generate', process.execPath, [
        TRAINER,
        'generate',
        '--out',
        dataDir,
        '--hospitals',
        String(options.hospitals),
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
    // Set when the trainers start; each round's close then prints an estimate of the time left.
    const training: { started?: number } = {};
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
        ...(options.ledger === 'simulated' ? ['--hospitals', String(options.hospitals)] : []),
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
            if (training.started !== undefined) {
              const progress = {
                done: closes.size,
                total: options.rounds,
                elapsedSeconds: (Date.now() - training.started) / 1000,
              };
              process.stdout.write(
                `[demo] training: ${progressLine(progress, 'round')}${closes.size < options.rounds ? '; then the audit and the evaluation' : ''}\n`,
              );
            }
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

    // 4. The run: its protection (CKKS: the key ceremony), initial model, run record on the ledger.
    step(
      `run ${options.runId}: ${options.rounds} rounds × ${options.epochs} local epochs, DP-SGD ε = ${options.epsilon}, δ = ${options.delta}, ${options.protection} updates`,
    );
    const protection = demoProtection(options.protection, {
      runId: options.runId,
      work,
      hospitals: HOSPITALS,
      trainer: TRAINER,
      log,
    });
    await protection.prepare();
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
          // A majority of the hospitals, as the endorsement policy (2 of 3).
          quorum: Math.floor(options.hospitals / 2) + 1,
          deadline: '1h',
          dp: { mechanism: 'dp-sgd', epsilon: options.epsilon, delta: options.delta },
          protection: protection.runFileField(),
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
    step(`${countWord(options.hospitals)} hospital trainers (own identity, own process)`);
    training.started = Date.now();
    process.stdout.write(
      `[demo] rounds are numbered from 0, as on the ledger; an estimate of the time left follows each round\n`,
    );
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
        ...protection.trainerArgs(h.name),
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
        // The auditor recomputes encrypted aggregates too, from the ciphertexts, without a key.
        report = await new Verifier(
          auditor.ledger,
          newDirBlobSource({ dir: blobDir }),
          ckksAggregator(),
        ).verifyRun(options.runId);
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
    const rounds = await evaluateRounds({
      trail,
      blobDir,
      spec: modelSpec,
      hospitals: HOSPITALS,
      dataDir,
      schema,
      closes,
      openReader: (initialModel, spec) => protection.modelReader(initialModel, spec),
      log: (line) => process.stdout.write(`[eval] ${line}\n`),
    });
    // CreateRun, each OpenRound, CloseRound and SubmitUpdate; secure aggregation adds each
    // hospital's AdvertiseKeys and the coordinator's BeginMasking and BeginUnmasking.
    const txCount =
      1 +
      trail.rounds.length +
      trail.rounds.filter((r) => r.status === 'closed').length +
      trail.rounds.reduce((n, r) => n + r.updates.length, 0) +
      trail.rounds.reduce(
        (n, r) => n + (r.keys?.length ?? 0) + (r.secagg ? 1 : 0) + (r.secagg?.survivors ? 1 : 0),
        0,
      );

    // 8. Summary and report.
    step(`summary and report (${reportDir})`);
    const summary: DemoSummary = {
      runId: options.runId,
      wallSeconds: (Date.now() - started) / 1000,
      patientsPerHospital: options.patients,
      hospitals: options.hospitals,
      epochs: options.epochs,
      targetEpsilon: options.epsilon,
      delta: options.delta,
      protection: { mode: protection.mode, label: protection.label },
      rounds,
      ledger: {
        kind: options.ledger,
        txCount,
        latencies,
        latencyNote: 'CreateRun and round 0’s OpenRound are one request, timed together',
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
      reaudit: {
        blobDir: relative(ROOT, blobDir) || blobDir,
        networkKept: options.ledger === 'fabric' && (options.keepNetwork || !network.startedHere),
      },
    };
    const files = await writeReport(reportDir, summary);
    const latest = pointLatest(options.out, options.runId);
    const warnings = warningLines(summary).map((w) => `WARNING: ${w}`);
    process.stdout.write(
      `\n${protectionLine(summary)}\n\n${roundsTable(summary)}\n\n${finalModelTable(summary)}\n${warnings.length > 0 ? `\n${warnings.join('\n')}\n` : ''}\n${ledgerLines(summary).join('\n')}\n\n${reauditLines(summary).join('\n')}\n`,
    );
    process.stdout.write(
      `\n[demo] report: ${reportDir} (${files.length} files; ${latest} points at it)\n`,
    );
    process.stdout.write(
      `[demo] finished in ${formatDuration(summary.wallSeconds)}${report.ok ? '' : ' — VERIFICATION FAILED'}\n`,
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
    reportFolderFor(options.out, options.runId);
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${USAGE}\n`);
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
