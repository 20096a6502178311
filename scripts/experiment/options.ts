// Command-line options of `npm run experiment`, validated once and frozen, and the fingerprint of
// the settings that decide a cell's result (so resumed runs never mix configurations).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeParseArgsError } from '@fedledger/gateway';
import type { Protection } from './cells';
import { PROTECTION_MODES } from './cells';
import type { LedgerKind } from './experiment-ledger';

export const USAGE = `Usage: npm run experiment -- [options]

Reproduces the reference study's protocol on three synthetic hospitals (or on your CSVs):
centralised vs federated (FedAvg) vs federated + DP-SGD at each ε, repeated with different
seeds; mean ± sd of accuracy beside the majority rate, balanced accuracy, ROC and PR AUC,
macro precision/recall/F1 on the pooled test split, epochs to
converge, time per run, update sizes and ledger figures. Federated runs go through the real
coordinator and ledger (SIMULATED in-process ledger by default).

  --rounds N           federated rounds (default 10)
  --epochs N           local epochs per round (default 5); the centralised arm trains
                       rounds × epochs epochs on the pooled data (the same budget)
  --patients N         synthetic patients per hospital (default 50000)
  --repeats N          repeats with seeds seed, seed+1, … (default 10)
  --epsilons LIST      DP targets for the whole run (default 0.1,0.5,1,2,5), δ = --delta;
                       σ calibrated by the PLD accountant
  --rdp-epsilons LIST  the same arms with σ calibrated by RDP, to measure what PLD buys
                       (default: the --epsilons; none to skip them)
  --delta X            (default 1e-5)
  --seed N             first repeat's seed (default 1)
  --data A.csv,B.csv   hospital extracts instead of synthetic data (one per hospital), with
  --schema FILE        their shared schema JSON
  --preprocessing shared|per-site
                       shared (default): one transform combined from every hospital's
                       statistics (means, deviations, category counts), as \`fedledger-trainer
                       preprocess\` builds it, so a value means the same input everywhere.
                       per-site: each hospital standardises with its own rows only
  --ledger simulated|fabric
                       the ledger of the sweep. simulated (default): in-process, the real
                       contract, not Fabric (the ledger does not change the learning).
                       fabric: every federated run on the local Fabric network.
  --ledger-figures fabric|sweep
                       where the ledger table (beside the study's Table II) comes from.
                       fabric (default): one more federated + DP run (ε nearest 1, first
                       repeat) on the local Fabric network, which is built and brought up
                       when it is not running and taken down again afterwards; its
                       transactions, latencies and block-file growth fill the table.
                       sweep: the sweep's own runs (SIMULATED figures unless --ledger fabric).
  --protection plaintext|secagg|ckks|all
                       how the hospitals of the federated arms protect their updates:
                       plaintext (default; DP-noised float32 updates the gateway reads),
                       secagg (secure aggregation: masked updates, the gateway recovers
                       only their weighted sum), ckks (encrypted under one key made for
                       the cell; the gateway sums ciphertexts). all, or a comma list, runs
                       every federated arm in each mode, as its own arm named by the mode
                       ("federated [secagg]"); the centralised arm runs once. The Fabric
                       run for the ledger table uses the first mode listed here
  --out DIR            results folder (default experiment-results); finished cells are kept
                       there and skipped when the same command runs again (CSVs are known
                       by their content's SHA-256: a regenerated identical file keeps them)
  --jobs N             cells run at once, each in its own process (default: the number of
                       CPUs); local training is single-threaded, so one job per core
  --no-ckks            skip measuring the CKKS-encrypted update size
  --backend NAME       TensorFlow.js backend: auto (default), wasm, cpu, tensorflow

Runtime, measured on this project's 2-core machine (wasm backend, --jobs 2): the defaults
(50,000 patients, 10 rounds × 5 epochs) take 9.6 min per DP cell and 15-16 min per centralised
or plain federated cell (those train on oversampled rows); --repeats 2 finished in 88.8 min,
the Fabric run for the ledger table included, so 10 repeats take about 7 h there, less with
more cores. For a quick look: --patients 10000 --rounds 5 --epochs 2 --repeats 2 (14 cells in
7.4 min with one job). After the first cell (and inside each cell, after each round or epoch)
it prints an estimate of the time left.

Exit codes: 0 finished and every federated run verified, 1 an audit verification failed or
the experiment stopped on an error, 2 bad command line.`;

/** Thrown for unusable options; the message names the option. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The validated options. */
export interface ExperimentOptions {
  rounds: number;
  epochs: number;
  patients: number;
  repeats: number;
  epsilons: readonly number[];
  /** ε of the arms calibrated by RDP instead of PLD (the comparison); default: `epsilons`. */
  rdpEpsilons: readonly number[];
  delta: number;
  seed: number;
  /** Hospital CSVs; absent: synthetic hospitals. */
  data?: readonly string[];
  schema?: string;
  /** How hospitals preprocess: one shared transform (default) or each its own. */
  preprocessing: 'shared' | 'per-site';
  ledger: LedgerKind;
  /** Where the ledger table's figures come from (see USAGE). */
  ledgerFigures: 'fabric' | 'sweep';
  /** The protection modes each federated arm runs in (PROTECTION_MODES order; default plaintext). */
  protections: readonly Protection[];
  out: string;
  /** Cells run at once, each in a child process. */
  jobs: number;
  /** Internal: run only this cell (`<armId>@<repeat>`) and exit; set by the parent for a job. */
  onlyCell?: string;
  ckks: boolean;
  backend: string;
}

/** Seed of the synthetic hospitals (the demo's), fixed so every repeat sees the same patients. */
export const SYNTHETIC_DATA_SEED = 20240917;

function positive(name: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(
      `--${name} must be a positive ${integer ? 'integer' : 'number'}, not "${value}"`,
    );
  }
  return n;
}

/** The modes of --protection: one, `all`, or a comma list, in PROTECTION_MODES order. */
function protectionsOf(value: string): Protection[] {
  const named = value === 'all' ? [...PROTECTION_MODES] : value.split(',').map((m) => m.trim());
  const unknown = named.find((m) => !(PROTECTION_MODES as readonly string[]).includes(m));
  if (unknown !== undefined) {
    throw new UsageError(
      `--protection must be plaintext, secagg, ckks, all or a comma list of modes, not "${value}"`,
    );
  }
  return PROTECTION_MODES.filter((m) => named.includes(m));
}

/**
 * Parses `argv` (without node and the script); `undefined` when --help was asked for.
 * @throws {UsageError} naming the first unusable option.
 */
export function parseExperimentOptions(argv: readonly string[]): ExperimentOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        rounds: { type: 'string', default: '10' },
        epochs: { type: 'string', default: '5' },
        patients: { type: 'string', default: '50000' },
        repeats: { type: 'string', default: '10' },
        epsilons: { type: 'string', default: '0.1,0.5,1,2,5' },
        'rdp-epsilons': { type: 'string' },
        delta: { type: 'string', default: '1e-5' },
        seed: { type: 'string', default: '1' },
        data: { type: 'string' },
        schema: { type: 'string' },
        preprocessing: { type: 'string', default: 'shared' },
        ledger: { type: 'string', default: 'simulated' },
        'ledger-figures': { type: 'string', default: 'fabric' },
        protection: { type: 'string', default: 'plaintext' },
        out: { type: 'string', default: 'experiment-results' },
        jobs: { type: 'string', default: String(availableParallelism()) },
        'only-cell': { type: 'string' },
        'no-ckks': { type: 'boolean', default: false },
        backend: { type: 'string', default: 'auto' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(describeParseArgsError(err) ?? (err as Error).message);
  }
  if (values.help) return undefined;
  if (values.ledger !== 'simulated' && values.ledger !== 'fabric') {
    throw new UsageError(`--ledger must be simulated or fabric, not "${values.ledger}"`);
  }
  const ledgerFigures = values['ledger-figures'];
  if (ledgerFigures !== 'fabric' && ledgerFigures !== 'sweep') {
    throw new UsageError(`--ledger-figures must be fabric or sweep, not "${ledgerFigures}"`);
  }
  const preprocessing = values.preprocessing;
  if (preprocessing !== 'shared' && preprocessing !== 'per-site') {
    throw new UsageError(`--preprocessing must be shared or per-site, not "${preprocessing}"`);
  }
  const epsilons = [
    ...new Set(values.epsilons.split(',').map((e) => positive('epsilons', e.trim(), false))),
  ].sort((a, b) => a - b);
  const rdpList = values['rdp-epsilons'];
  const rdpEpsilons =
    rdpList === undefined
      ? epsilons
      : rdpList === 'none'
        ? []
        : [
            ...new Set(rdpList.split(',').map((e) => positive('rdp-epsilons', e.trim(), false))),
          ].sort((a, b) => a - b);
  const delta = positive('delta', values.delta, false);
  if (delta >= 1) throw new UsageError(`--delta must lie in (0, 1), not ${delta}`);
  const patients = positive('patients', values.patients, true);
  if (patients < 100) throw new UsageError('--patients must be at least 100');
  const options: ExperimentOptions = {
    rounds: positive('rounds', values.rounds, true),
    epochs: positive('epochs', values.epochs, true),
    patients,
    repeats: positive('repeats', values.repeats, true),
    epsilons,
    rdpEpsilons,
    delta,
    seed: positive('seed', values.seed, true),
    preprocessing,
    ledger: values.ledger,
    ledgerFigures,
    protections: protectionsOf(values.protection),
    out: resolve(values.out),
    jobs: positive('jobs', values.jobs, true),
    ...(values['only-cell'] !== undefined ? { onlyCell: values['only-cell'] } : {}),
    ckks: !values['no-ckks'],
    backend: values.backend,
  };
  if ((values.data === undefined) !== (values.schema === undefined)) {
    throw new UsageError('--data and --schema go together');
  }
  if (values.data !== undefined && values.schema !== undefined) {
    const files = values.data.split(',').map((f) => resolve(f.trim()));
    if (files.length < 2) throw new UsageError('--data needs at least two hospital CSVs');
    options.data = files;
    options.schema = resolve(values.schema);
  }
  return Object.freeze(options);
}

/** SHA-256 (hex) of a file's bytes. */
function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * The settings that decide a cell's numbers (not repeats or ε list, which only add cells), and
 * their hash. Given CSVs and their schema are identified by the SHA-256 of their content, so a
 * regenerated identical file keeps the results and a changed one (same size, same time) does not.
 */
export function configurationOf(options: Readonly<ExperimentOptions>): {
  fingerprint: string;
  settings: Record<string, unknown>;
} {
  const data = options.data
    ? {
        csv: options.data.map((f) => ({ sha256: fileSha256(f) })),
        schema: options.schema ? { sha256: fileSha256(options.schema) } : null,
      }
    : { synthetic: { patientsPerHospital: options.patients, seed: SYNTHETIC_DATA_SEED } };
  const settings = {
    data,
    rounds: options.rounds,
    epochs: options.epochs,
    delta: options.delta,
    seed: options.seed,
    ledger: options.ledger,
    // DP arms calibrate σ with the PLD accountant since this field was added; earlier cells used RDP.
    accountant: 'pld',
    preprocessing: options.preprocessing,
  };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(settings))
    .digest('hex')
    .slice(0, 16);
  return { fingerprint, settings };
}
