// `npm run experiment`: the reference study's protocol — centralised vs federated (FedAvg) vs
// federated + DP-SGD at each ε, repeated with different seeds — on the synthetic hospitals or on
// given CSVs. Federated runs go through the coordinator and the ledger (SIMULATED by default),
// with the hospitals' updates in plaintext, masked (secure aggregation) or encrypted (CKKS) as
// --protection asks, each mode an arm of its own.
// Each finished cell is saved at once; running the same command again skips finished cells.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { referenceModelSpec } from '@fedledger/protocol';
import type { BackendName } from '@fedledger/trainer';
import {
  generateHospitals,
  imputationWarnings,
  tableWarnings,
  initialModelTensors,
  selectBackend,
} from '@fedledger/trainer';
import type { Arm, CellResult } from './cells';
import { CellStore, armAccountant, armId, armLabel, armProtection, withProtection } from './cells';
import type { Cohort, HospitalSource } from './cohort';
import { loadCohort, splitCohort } from './cohort';
import { epochsToConverge } from './convergence';
import { runCentralisedCell } from './centralised-cell';
import type { ExperimentLedger } from './experiment-ledger';
import { openExperimentLedger } from './experiment-ledger';
import { defaultNetworkDir } from '@fedledger/gateway';
import { chainBytes } from '../network-files/chain-size';
import { localNetwork } from '../network-files/local-network';
import { onInterrupt, stopAll } from '../demo/processes';
import { formatDuration, progressLine } from '../demo/eta';
import { runFederatedCell } from './federated-cell';
import { AUDIT_FAILED_EXIT, cellId, runCellsInJobs } from './cell-jobs';
import type { ExperimentOptions } from './options';
import {
  SYNTHETIC_DATA_SEED,
  USAGE,
  UsageError,
  configurationOf,
  parseExperimentOptions,
} from './options';
import type { ArmSummary } from './results-report';
import {
  ledgerSection,
  ledgerTotals,
  calibrationGainTable,
  privacyTable,
  spreadNote,
  summariseArm,
  warningsSection,
  tableOne,
  writeResults,
} from './results-report';

function say(line: string): void {
  process.stdout.write(`[experiment] ${line}\n`);
}

const minutes = formatDuration;

/** The arms in Table I order: each federated arm in each protection mode, next to each other. */
export function armsOf(options: Readonly<ExperimentOptions>): Arm[] {
  const federated: Arm[] = [
    { kind: 'federated' },
    ...options.epsilons.map((epsilon): Arm => ({ kind: 'federated-dp', epsilon })),
    ...options.rdpEpsilons.map((epsilon): Arm => ({ kind: 'federated-dp-rdp', epsilon })),
  ];
  return [
    { kind: 'centralised' },
    ...federated.flatMap((arm) => options.protections.map((mode) => withProtection(arm, mode))),
  ];
}

/** The hospitals' CSVs and schema: given, or synthetic ones generated once under --out. */
function dataSources(options: Readonly<ExperimentOptions>): {
  files: string[];
  schema: string;
  description: string;
} {
  if (options.data && options.schema) {
    return {
      files: [...options.data],
      schema: options.schema,
      description: `${options.data.length} hospital CSVs (${options.data.join(', ')})`,
    };
  }
  const dir = join(options.out, 'data', `synthetic-${options.patients}-${SYNTHETIC_DATA_SEED}`);
  const manifest = join(dir, 'manifest.json');
  let files: string[];
  if (existsSync(manifest)) {
    say(`reusing the synthetic hospitals in ${dir}`);
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as {
      hospitals: { file: string }[];
    };
    files = parsed.hospitals.map((h) => join(dir, h.file));
  } else {
    say(
      `generating 3 synthetic hospitals × ${options.patients.toLocaleString('en')} patients in ${dir}`,
    );
    files = generateHospitals({
      outDir: dir,
      patientsPerHospital: options.patients,
      seed: SYNTHETIC_DATA_SEED,
    }).hospitals.map((h) => h.csvFile);
  }
  return {
    files,
    schema: join(dir, 'schema.json'),
    description: `3 synthetic hospitals × ${options.patients.toLocaleString('en')} patients (seed ${SYNTHETIC_DATA_SEED})`,
  };
}

/** What every cell of one repeat starts from. */
interface RepeatStart {
  repeat: number;
  seed: number;
  data: ReturnType<typeof splitCohort>;
  spec: ReturnType<typeof referenceModelSpec>;
  initialTensors: ReturnType<typeof initialModelTensors>;
}

function repeatStart(
  options: Readonly<ExperimentOptions>,
  cohort: Cohort,
  repeat: number,
): RepeatStart {
  const seed = options.seed + repeat;
  const data = splitCohort(cohort, seed, options.preprocessing);
  const first = data.hospitals[0]?.trainOriginal;
  if (!first) throw new Error('no hospital data');
  const spec = referenceModelSpec(first.featureDim, first.classes.length);
  return { repeat, seed, data, spec, initialTensors: initialModelTensors(spec, seed) };
}

/**
 * Loads the hospitals' tables; with `warn`, says which cells will be imputed (per column, the
 * first ones by file and line). A job of a parent experiment is quiet: the parent said it.
 */
function loadSources(
  data: { files: string[]; schema: string },
  ledger: ExperimentLedger | undefined,
  warn: boolean,
): Cohort {
  const sources: HospitalSource[] = data.files.map((csvFile, i) => ({
    name: csvFile,
    mspId: ledger?.hospitals[i]?.mspId ?? `Hospital${i + 1}MSP`,
    csvFile,
  }));
  const started = performance.now();
  const cohort = loadCohort(sources, data.schema);
  say(
    `loaded ${cohort.hospitals.map((h) => h.table.rows).join(' + ')} rows in ${minutes((performance.now() - started) / 1000)}`,
  );
  if (warn) {
    for (const h of cohort.hospitals) {
      for (const line of imputationWarnings(h.table.imputed)) say(`warning: ${line}`);
      for (const line of tableWarnings(h.table)) say(`warning: ${line}`);
    }
  }
  return cohort;
}

/** Runs one cell (one arm in one repeat) to its result; federated arms go through `ledger`. */
async function runCell(
  options: Readonly<ExperimentOptions>,
  fingerprint: string,
  start: RepeatStart,
  arm: Arm,
  ledger: ExperimentLedger | undefined,
  log: (line: string) => void,
): Promise<CellResult> {
  const started = performance.now();
  const common = {
    format: 'fedledger-experiment-cell/1' as const,
    fingerprint,
    arm: arm.kind,
    epsilon: arm.epsilon ?? null,
    ...(arm.protection ? { protection: arm.protection } : {}),
    repeat: start.repeat,
    seed: start.seed,
  };
  if (arm.kind === 'centralised') {
    const out = await runCentralisedCell({
      data: start.data,
      spec: start.spec,
      initialTensors: start.initialTensors,
      epochs: options.rounds * options.epochs,
      log,
    });
    return {
      ...common,
      ...out,
      epochsPerPoint: 1,
      epochsToConverge: epochsToConverge(out.validationAccuracy, 1),
      wallSeconds: (performance.now() - started) / 1000,
      finishedAt: new Date().toISOString(),
    };
  }
  if (!ledger) throw new Error('the ledger is not open');
  const runId = `exp-${fingerprint.slice(0, 8)}-${armId(arm)}-r${start.repeat}-${Date.now().toString(36)}`;
  const chainBefore =
    ledger.kind === 'fabric' ? chainBytes(defaultNetworkDir(), 'peer0.auditor') : undefined;
  const accountant = armAccountant(arm);
  const out = await runFederatedCell({
    ledger,
    workDir: join(options.out, '.work', runId),
    data: start.data,
    spec: start.spec,
    initialTensors: start.initialTensors,
    rounds: options.rounds,
    epochs: options.epochs,
    ...(accountant && arm.epsilon !== undefined
      ? { dp: { epsilon: arm.epsilon, delta: options.delta, accountant } }
      : { shuffleSeed: start.seed }),
    runId,
    protection: armProtection(arm),
    measureCkks: options.ckks,
    log,
  });
  const chainAfter =
    ledger.kind === 'fabric' ? chainBytes(defaultNetworkDir(), 'peer0.auditor') : undefined;
  if (chainBefore !== undefined && chainAfter !== undefined) {
    out.ledger.chainBytes = chainAfter - chainBefore;
  }
  if (!out.ledger.verified) log(`✗ audit verification FAILED: ${out.ledger.problems.join('; ')}`);
  else log(`✓ run ${runId} verified from the ledger`);
  return {
    ...common,
    ...out,
    epochsPerPoint: options.epochs,
    epochsToConverge: epochsToConverge(out.validationAccuracy, options.epochs),
    wallSeconds: (performance.now() - started) / 1000,
    finishedAt: new Date().toISOString(),
  };
}

/** Runs the pending cells; returns false when a federated run failed its audit. */
async function runPendingCells(
  options: Readonly<ExperimentOptions>,
  store: CellStore,
  fingerprint: string,
  pending: { arm: Arm; repeat: number }[],
  data: { files: string[]; schema: string },
): Promise<boolean> {
  const needsLedger = pending.some((p) => p.arm.kind !== 'centralised');
  let ledger: ExperimentLedger | undefined;
  let allVerified = true;
  try {
    if (needsLedger) {
      ledger = await openExperimentLedger(
        options.ledger,
        data.files.length,
        join(options.out, '.work', 'pki'),
      );
      say(`LEDGER: ${ledger.label}`);
    }
    const cohort = loadSources(data, ledger, options.onlyCell === undefined);
    const cellSeconds: number[] = [];
    let done = 0;
    const repeats = [...new Set(pending.map((p) => p.repeat))];
    for (const repeat of repeats) {
      const start = repeatStart(options, cohort, repeat);
      for (const { arm } of pending.filter((p) => p.repeat === repeat)) {
        const name = `${armLabel(arm)} r${repeat}`;
        const log = (line: string): void => say(`${name}: ${line}`);
        log(`started (seed ${start.seed})`);
        const cell = await runCell(options, fingerprint, start, arm, ledger, log);
        if (cell.ledger && !cell.ledger.verified) allVerified = false;
        const file = store.write(cell);
        done += 1;
        cellSeconds.push(cell.wallSeconds);
        const elapsed = cellSeconds.reduce((a, b) => a + b, 0);
        const perCell = elapsed / cellSeconds.length;
        const left = pending.length - done;
        log(
          `test accuracy ${(cell.test.accuracy * 100).toFixed(1)} %, F1 ${(cell.test.f1 * 100).toFixed(1)} %, ${minutes(cell.wallSeconds)}; saved ${file}`,
        );
        for (const w of cell.test.warnings ?? []) log(`WARNING: ${w}`);
        if (left > 0) {
          say(progressLine({ done, total: pending.length, elapsedSeconds: elapsed }, 'cell'));
          if (done === 1 && left * perCell > 1800 && options.patients > 10_000 && !options.data) {
            say(
              'this will take a while; for a quick look use --patients 10000 (and fewer --rounds/--epochs/--repeats). Finished cells are kept: rerun the same command to continue.',
            );
          }
        }
      }
    }
  } finally {
    await ledger?.close();
  }
  return allVerified;
}

/**
 * The arm whose Fabric run gives the ledger table: DP at the ε nearest the reference ε = 1, in the
 * first protection mode asked for.
 */
export function ledgerFiguresArm(options: Readonly<ExperimentOptions>): Arm {
  const nearest = [...options.epsilons].sort((a, b) => Math.abs(a - 1) - Math.abs(b - 1))[0];
  const arm: Arm =
    nearest === undefined ? { kind: 'federated' } : { kind: 'federated-dp', epsilon: nearest };
  return withProtection(arm, options.protections[0] ?? 'plaintext');
}

/**
 * The federated run on the local Fabric network behind the ledger table (first repeat), run
 * unless it finished earlier. The network is brought up when it is not running and taken down
 * again if this run started it, also on Ctrl-C.
 */
async function fabricLedgerCell(
  options: Readonly<ExperimentOptions>,
  store: CellStore,
  fingerprint: string,
  data: { files: string[]; schema: string },
): Promise<CellResult> {
  const arm = ledgerFiguresArm(options);
  const finished = store.read(arm, 0, 'fabric');
  if (finished) {
    say(
      `the Fabric run for the ledger table finished earlier (${finished.ledger?.runId ?? '?'}): skipped`,
    );
    return finished;
  }
  const name = `${armLabel(arm)} r0 on Fabric`;
  const log = (line: string): void => say(`${name}: ${line}`);
  say(
    `ledger table: one ${armLabel(arm)} run on the local Fabric network (4 BFT orderers, 4 peers)`,
  );
  const network = localNetwork(say);
  stopOnInterrupt = () => network.stop();
  let ledger: ExperimentLedger | undefined;
  try {
    await network.ensureUp();
    ledger = await openExperimentLedger(
      'fabric',
      data.files.length,
      join(options.out, '.work', 'pki'),
    );
    say(`LEDGER: ${ledger.label}`);
    const start = repeatStart(options, loadSources(data, ledger, true), 0);
    log(`started (seed ${start.seed})`);
    const cell = await runCell(options, fingerprint, start, arm, ledger, log);
    log(`saved ${store.write(cell, 'fabric')}`);
    return cell;
  } finally {
    await ledger?.close();
    await network.stop();
    stopOnInterrupt = undefined;
  }
}

/** What Ctrl-C must stop besides the child processes (the Fabric network it started). */
let stopOnInterrupt: (() => Promise<void>) | undefined;

/** Runs the experiment; returns the process exit code. */
export async function experiment(argv: readonly string[]): Promise<number> {
  let options: ExperimentOptions | undefined;
  try {
    options = parseExperimentOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`experiment: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const wallStarted = performance.now();
  const { fingerprint, settings } = configurationOf(options);
  const store = new CellStore(options.out, fingerprint, settings);
  const arms = armsOf(options);
  const all = Array.from({ length: options.repeats }, (_, repeat) =>
    arms.map((arm) => ({ arm, repeat })),
  ).flat();
  const pending = all.filter(({ arm, repeat }) => !store.read(arm, repeat));
  const finished = all.length - pending.length;
  if (finished > 0) {
    say(
      `${finished} of ${all.length} cells finished earlier in ${options.out}/cells: skipped (delete a cell's JSON to rerun it)`,
    );
  }
  const data = dataSources(options);
  if (options.onlyCell !== undefined) {
    // A job of a parent experiment: this one cell, then exit (0, or 1 when its audit failed).
    const cell = pending.find((p) => cellId(p.arm, p.repeat) === options.onlyCell);
    if (!cell) {
      say(`cell ${options.onlyCell} is finished already or not part of this configuration`);
      return 0;
    }
    await selectBackend(options.backend as BackendName | 'auto');
    return (await runPendingCells(options, store, fingerprint, [cell], data))
      ? 0
      : AUDIT_FAILED_EXIT;
  }
  onInterrupt(async () => {
    await stopAll();
    await stopOnInterrupt?.();
  });
  let verified = true;
  if (pending.length > 0) {
    const backend = await selectBackend(options.backend as BackendName | 'auto');
    say(`${pending.length} cells to run on the ${backend.name} backend`);
    const inJobs = options.jobs > 1 && pending.length > 1;
    // The jobs load the data quietly: bad data is reported (or stops the run) here, once.
    if (inJobs) loadSources(data, undefined, true);
    verified = inJobs
      ? await runCellsInJobs(options, __filename, argv, pending, data.files.length)
      : await runPendingCells(options, store, fingerprint, pending, data);
  }
  let ledgerCells: CellResult[] | undefined;
  if (options.ledger === 'simulated' && options.ledgerFigures === 'fabric') {
    const cell = await fabricLedgerCell(options, store, fingerprint, data);
    if (cell.ledger && !cell.ledger.verified) verified = false;
    ledgerCells = [cell];
  }
  const summaries: ArmSummary[] = arms.map((arm) =>
    summariseArm(
      arm,
      all
        .filter((c) => armId(c.arm) === armId(arm))
        .map((c) => store.read(c.arm, c.repeat))
        .filter((c): c is CellResult => c !== undefined),
    ),
  );
  const files = await writeResults(
    options.out,
    {
      command: `npm run experiment -- ${argv.join(' ')}`.trim(),
      dataDescription: data.description,
      rounds: options.rounds,
      epochs: options.epochs,
      repeats: options.repeats,
      delta: options.delta,
      study: options.data === undefined,
      preprocessing: options.preprocessing,
    },
    summaries,
    ledgerCells,
  );
  const totals = ledgerTotals(ledgerCells ?? summaries.flatMap((s) => s.cells));
  process.stdout.write(
    [
      '',
      `Table I — ${data.description}; ${options.rounds} rounds × ${options.epochs} local epochs; ${spreadNote(options.repeats)}; pooled test split`,
      tableOne(summaries, { study: options.data === undefined }),
      '',
      `${privacyTable(summaries)}\n\n${calibrationGainTable(summaries)}`,
      ...warningsSection(summaries).map((l) => (l === '' ? l : `WARNING: ${l}`)),
      '',
      'Ledger figures beside the study’s Table II',
      ...ledgerSection(totals),
      '',
      `results: ${files.join(', ')}`,
      `finished in ${minutes((performance.now() - wallStarted) / 1000)}${verified ? '' : ' — AN AUDIT VERIFICATION FAILED'}`,
      '',
    ].join('\n'),
  );
  return verified ? 0 : 1;
}

if (require.main === module) {
  experiment(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`\n[experiment] failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
