// The experiment's results as the study lays them out: Table I (arms × metrics, mean ± sd over
// repeats, the study's accuracy beside ours), Fig. 2 (accuracy against ε, with the study's points;
// ./results-charts.ts), the ledger figures beside the study's Table II, each arm's protection, and
// results.md + CSV + SVG in the output folder.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quantile, textTable } from '../demo/report';
import type { Arm, CellResult } from './cells';
import { armLabel, armProtection } from './cells';
import { CONVERGENCE_TOLERANCE } from './convergence';
import type { MeanSd } from './mean-sd';
import { meanSd, meanSdText } from './mean-sd';
import { STUDY_LEDGER, studyAccuracy } from './reference-study';
import { accuracyByEpsilonSvg, convergenceSvg } from './results-charts';
import { cellsCsv, summaryCsv } from './results-csv';
import { PROTECTION_NAMES, protectionSection } from './results-protection';

export type { MeanSd };
export { meanSd, meanSdText };

/** One arm over its finished repeats. */
export interface ArmSummary {
  arm: Arm;
  cells: CellResult[];
  accuracy: MeanSd;
  precision: MeanSd;
  recall: MeanSd;
  f1: MeanSd;
  /** Absent for cells written before these metrics existed. */
  balancedAccuracy?: MeanSd;
  majorityRate?: MeanSd;
  rocAuc?: MeanSd;
  prAuc?: MeanSd;
  epochsToConverge: MeanSd;
  wallSeconds: MeanSd;
  updateBytes?: MeanSd;
  ckksUpdateBytes?: MeanSd;
  epsilonSpent?: MeanSd;
  noiseMultiplier?: MeanSd;
}

function optional(values: (number | undefined)[]): MeanSd | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? meanSd(known) : undefined;
}

export function summariseArm(arm: Arm, cells: readonly CellResult[]): ArmSummary {
  const of = (pick: (c: CellResult) => number): MeanSd => meanSd(cells.map(pick));
  const updateBytes = optional(cells.map((c) => c.updateBytes));
  const ckksUpdateBytes = optional(cells.map((c) => c.ckksUpdateBytes));
  const epsilonSpent = optional(cells.map((c) => c.epsilonSpent));
  const noiseMultiplier = optional(cells.map((c) => c.noiseMultiplier));
  const balancedAccuracy = optional(cells.map((c) => c.test.balancedAccuracy));
  const majorityRate = optional(cells.map((c) => c.test.majorityRate));
  const rocAuc = optional(cells.map((c) => c.test.rocAuc));
  const prAuc = optional(cells.map((c) => c.test.prAuc));
  return {
    arm,
    cells: [...cells],
    accuracy: of((c) => c.test.accuracy),
    precision: of((c) => c.test.precision),
    recall: of((c) => c.test.recall),
    f1: of((c) => c.test.f1),
    ...(balancedAccuracy ? { balancedAccuracy } : {}),
    ...(majorityRate ? { majorityRate } : {}),
    ...(rocAuc ? { rocAuc } : {}),
    ...(prAuc ? { prAuc } : {}),
    epochsToConverge: of((c) => c.epochsToConverge),
    wallSeconds: of((c) => c.wallSeconds),
    ...(updateBytes ? { updateBytes } : {}),
    ...(ckksUpdateBytes ? { ckksUpdateBytes } : {}),
    ...(epsilonSpent ? { epsilonSpent } : {}),
    ...(noiseMultiplier ? { noiseMultiplier } : {}),
  };
}

const percent = (m: MeanSd | undefined): string =>
  m ? meanSdText(m, (x) => (x * 100).toFixed(1)) : '—';
const auc = (m: MeanSd | undefined): string => (m ? meanSdText(m, (x) => x.toFixed(3)) : '—');

/**
 * Table I: accuracy beside the majority-class rate (what always predicting the commonest outcome
 * scores), balanced accuracy, ROC and PR AUC, macro precision, recall, F1 (%, mean ± sd), epochs
 * to converge and time. The reference study's accuracy is shown only for the study's own
 * configuration (its synthetic hospitals): beside results on other data it would compare nothing.
 */
export function tableOne(
  summaries: readonly ArmSummary[],
  options: { study?: boolean } = {},
): string {
  const study = options.study ?? true;
  return textTable(
    [
      'arm',
      'n',
      'accuracy %',
      'majority %',
      'balanced acc. %',
      'ROC AUC',
      'PR AUC',
      ...(study ? ['study acc. %'] : []),
      'precision %',
      'recall %',
      'F1 %',
      'epochs to converge',
      'time per run',
    ],
    summaries.map((s) => {
      const reference = studyAccuracy(s.arm);
      return [
        armLabel(s.arm),
        String(s.accuracy.n),
        percent(s.accuracy),
        percent(s.majorityRate),
        percent(s.balancedAccuracy),
        auc(s.rocAuc),
        auc(s.prAuc),
        ...(study ? [reference === undefined ? '—' : (reference * 100).toFixed(1)] : []),
        percent(s.precision),
        percent(s.recall),
        percent(s.f1),
        meanSdText(s.epochsToConverge, (x) => x.toFixed(1)),
        meanSdText(s.wallSeconds, duration),
      ];
    }),
  );
}

/** How Table I's figures summarise the repeats. */
export function spreadNote(repeats: number): string {
  return repeats === 1
    ? 'one repeat (n = 1): single values, no spread'
    : `mean ± sd over ${repeats} repeats`;
}

/** One line per finished cell whose final model predicts a single class or misses a class. */
export function warningsSection(summaries: readonly ArmSummary[]): string[] {
  const lines = summaries.flatMap((s) =>
    s.cells.flatMap((c) =>
      (c.test.warnings ?? []).map((w) => `${armLabel(s.arm)}, repeat ${c.repeat}: ${w}`),
    ),
  );
  return lines.length > 0 ? ['', ...lines] : [];
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function bytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Privacy spent and communication per arm, with how its hospitals protected their updates. */
export function privacyTable(summaries: readonly ArmSummary[]): string {
  return textTable(
    [
      'arm',
      'protection',
      'σ (noise multiplier)',
      'ε spent (accountant)',
      'update size',
      'CKKS update size',
    ],
    summaries
      .filter((s) => s.arm.kind !== 'centralised')
      .map((s) => [
        armLabel(s.arm),
        PROTECTION_NAMES[armProtection(s.arm)],
        s.noiseMultiplier ? s.noiseMultiplier.mean.toFixed(3) : '—',
        s.epsilonSpent ? s.epsilonSpent.mean.toFixed(3) : '—',
        s.updateBytes ? bytes(s.updateBytes.mean) : '—',
        s.ckksUpdateBytes ? bytes(s.ckksUpdateBytes.mean) : 'not measured',
      ]),
  );
}

/**
 * What calibrating σ with the PLD accountant instead of RDP buys at each ε both arms ran: the
 * same guarantee with less noise, measured in the same experiment.
 */
export function calibrationGainTable(summaries: readonly ArmSummary[]): string {
  const rows: string[][] = [];
  for (const pld of summaries.filter((s) => s.arm.kind === 'federated-dp' && s.accuracy.n > 0)) {
    const rdp = summaries.find(
      (s) =>
        s.arm.kind === 'federated-dp-rdp' &&
        s.arm.epsilon === pld.arm.epsilon &&
        s.arm.protection === pld.arm.protection &&
        s.accuracy.n > 0,
    );
    if (!rdp) continue;
    rows.push([
      `ε=${String(pld.arm.epsilon)}${pld.arm.protection ? ` [${pld.arm.protection}]` : ''}`,
      rdp.noiseMultiplier ? rdp.noiseMultiplier.mean.toFixed(3) : '—',
      pld.noiseMultiplier ? pld.noiseMultiplier.mean.toFixed(3) : '—',
      `${(rdp.accuracy.mean * 100).toFixed(1)} ± ${(rdp.accuracy.sd * 100).toFixed(1)}`,
      `${(pld.accuracy.mean * 100).toFixed(1)} ± ${(pld.accuracy.sd * 100).toFixed(1)}`,
      `${(pld.accuracy.mean - rdp.accuracy.mean) * 100 >= 0 ? '+' : ''}${((pld.accuracy.mean - rdp.accuracy.mean) * 100).toFixed(1)}`,
    ]);
  }
  if (rows.length === 0)
    return 'accuracy gained by PLD calibration: no ε with both a PLD and an RDP arm';
  return textTable(
    ['target', 'σ by RDP', 'σ by PLD', 'accuracy % (RDP σ)', 'accuracy % (PLD σ)', 'gain (points)'],
    rows,
  );
}

/** Ledger figures of all federated cells together. */
export interface LedgerTotals {
  kind: 'simulated' | 'fabric';
  label: string;
  runs: number;
  verifiedRuns: number;
  transactions: number;
  transactionsPerRun: number;
  latencies: number[];
  /** Transactions per minute of federated run time (training included, as in a real run). */
  perMinute: number;
  recordBytesPerRun: number;
  /** Block-file growth per run, where every run measured it (Fabric). */
  chainBytesPerRun?: number;
}

export function ledgerTotals(cells: readonly CellResult[]): LedgerTotals | undefined {
  const runs = cells.filter((c) => c.ledger !== undefined);
  const first = runs[0]?.ledger;
  if (!first) return undefined;
  const transactions = runs.reduce((n, c) => n + (c.ledger?.transactions ?? 0), 0);
  const minutes = runs.reduce((n, c) => n + c.wallSeconds, 0) / 60;
  return {
    kind: first.kind,
    label: first.label,
    runs: runs.length,
    verifiedRuns: runs.filter((c) => c.ledger?.verified).length,
    transactions,
    transactionsPerRun: transactions / runs.length,
    latencies: runs.flatMap((c) => c.ledger?.latencySeconds ?? []),
    perMinute: minutes > 0 ? transactions / minutes : 0,
    recordBytesPerRun: runs.reduce((n, c) => n + (c.ledger?.recordBytes ?? 0), 0) / runs.length,
    ...(runs.every((c) => c.ledger?.chainBytes !== undefined)
      ? {
          chainBytesPerRun: runs.reduce((n, c) => n + (c.ledger?.chainBytes ?? 0), 0) / runs.length,
        }
      : {}),
  };
}

/** The ledger figures beside the study's Table II, with the caveats that apply. */
export function ledgerSection(totals: LedgerTotals | undefined): string[] {
  if (!totals) return ['ledger: no federated run finished yet'];
  const mean = totals.latencies.reduce((a, b) => a + b, 0) / Math.max(1, totals.latencies.length);
  const table = textTable(
    ['ledger figure', `ours (${totals.kind === 'fabric' ? 'Fabric' : 'SIMULATED'})`, 'study'],
    [
      [
        'average transaction time',
        `${mean.toFixed(3)} s (p95 ${quantile(totals.latencies, 0.95).toFixed(3)} s)`,
        `${STUDY_LEDGER.averageTransactionSeconds} s`,
      ],
      [
        'transactions per minute of run time',
        totals.perMinute.toFixed(1),
        String(STUDY_LEDGER.transactionsPerMinute),
      ],
      [
        'transactions',
        `${totals.transactionsPerRun.toFixed(0)} per run, ${totals.transactions} in ${totals.runs} runs`,
        STUDY_LEDGER.transactions.toLocaleString('en'),
      ],
      [
        'ledger growth per run',
        totals.chainBytesPerRun !== undefined
          ? `${bytes(totals.chainBytesPerRun)} of block files (peer0.auditor), ${bytes(totals.chainBytesPerRun / Math.max(1, totals.transactionsPerRun))} per transaction`
          : `${bytes(totals.recordBytesPerRun)} of records (JSON), not block bytes`,
        `${STUDY_LEDGER.chainGrowthBytes / 1_000_000} MB chain growth`,
      ],
      [
        'ordering',
        totals.kind === 'fabric' ? 'Fabric (BFT orderers)' : 'none (in-process)',
        STUDY_LEDGER.ordering,
      ],
      ['runs verified from the ledger', `${totals.verifiedRuns}/${totals.runs}`, '—'],
    ],
  );
  const notes =
    totals.kind === 'simulated'
      ? [
          `LEDGER: ${totals.label}. These are NOT Fabric figures: a "transaction" here is an in-process execution of the real contract with signature checks, no endorsement over the network, no ordering service, no blocks on disk.`,
          'For Fabric figures run `npm run bench:ledger` (throughput and latency on the local network) or `npm run demo` (a whole run on Fabric, with chain growth from the block files).',
        ]
      : [
          `LEDGER: ${totals.label}; ${totals.runs === 1 ? 'one federated run' : `${totals.runs} federated runs`} on the local network, every transaction endorsed by two hospital peers and ordered by four SmartBFT orderers on this machine.`,
        ];
  return [table, '', ...notes];
}

/** How the results were produced, for results.md. */
export interface ReportContext {
  command: string;
  dataDescription: string;
  rounds: number;
  epochs: number;
  repeats: number;
  delta: number;
  /**
   * The study's own configuration (its synthetic hospitals): only then are the study's figures
   * printed beside ours.
   */
  study: boolean;
  /** How the federated hospitals preprocessed (see --preprocessing). */
  preprocessing: 'shared' | 'per-site';
}

/** Writes results.md, cells.csv, summary.csv, accuracy-vs-epsilon.svg and convergence.svg. */
export async function writeResults(
  dir: string,
  context: ReportContext,
  summaries: readonly ArmSummary[],
  /** The runs behind the ledger table; the sweep's own when absent. */
  ledgerCells?: readonly CellResult[],
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const cells = summaries.flatMap((s) => s.cells);
  const totals = ledgerTotals(ledgerCells ?? cells);
  const files: Record<string, string> = {
    'accuracy-vs-epsilon.svg': accuracyByEpsilonSvg(summaries, context.study),
    'convergence.svg': convergenceSvg(summaries),
    'cells.csv': cellsCsv(cells),
    'summary.csv': summaryCsv(summaries, context.study),
  };
  files['results.md'] = [
    '# Experiment: centralised vs federated vs federated + DP-SGD',
    '',
    totals?.kind === 'simulated'
      ? `> **SIMULATED ledger.** Federated runs went through the real coordinator and contract on the in-process simulated ledger, not Hyperledger Fabric. Learning results are unaffected; the ledger figures are not Fabric figures.\n`
      : '',
    `Command: \`${context.command}\``,
    '',
    `Data: ${context.dataDescription}. ${context.rounds} rounds × ${context.epochs} local epochs; ${context.repeats} repeat(s); DP-SGD with δ = ${context.delta < 1e-3 ? context.delta.toExponential() : context.delta}, σ calibrated by the PLD accountant (connect-the-dots) so the planned rounds spend at most ε; the "(RDP σ)" arms calibrate with the RDP accountant instead, for comparison.`,
    '',
    '## Table I',
    '',
    `${context.repeats === 1 ? "One repeat: each figure is that run's value (n = 1, no spread)" : 'Mean ± sample standard deviation over repeats'}, on the pooled test split (all hospitals). "majority" is the accuracy of always predicting the commonest outcome: an accuracy at or near it means the model learnt nothing accuracy can show; balanced accuracy (mean recall over classes) and ROC / PR AUC (of the outcome's probability) cannot be inflated that way.${context.study ? ' "study" is the reference study\'s accuracy (it reports no ε = 2 figure).' : " The reference study's figures are not shown: they belong to its synthetic hospitals, not to this data."}`,
    '',
    '```',
    tableOne(summaries, { study: context.study }),
    '```',
    '',
    ...protectionSection(summaries),
    '```',
    privacyTable(summaries),
    '',
    calibrationGainTable(summaries),
    '```',
    '',
    ...(warningsSection(summaries).length > 0
      ? [
          '## Warnings',
          '',
          ...warningsSection(summaries)
            .filter((l) => l !== '')
            .map((l) => `- **Warning:** ${l}`),
          '',
          'A model that predicts one class, or never recognises a class, scores the share of the classes it does predict: its accuracy says little.',
          '',
        ]
      : []),
    '![Fig. 2: accuracy against epsilon](accuracy-vs-epsilon.svg)',
    '',
    '![validation accuracy against local epochs](convergence.svg)',
    '',
    "## Ledger (beside the study's Table II)",
    '',
    '```',
    ...ledgerSection(totals),
    '```',
    '',
    '## Definitions',
    '',
    `- **Splits.** Each hospital's rows are split 80/10/10 (stratified) with the repeat's seed. ${context.preprocessing === 'shared' ? "Federated hospitals apply one shared preprocessing combined from every hospital's training-split statistics (counts, sums, sums of squares, category counts), as fedledger-trainer preprocess builds it" : 'Federated hospitals each fit their own preprocessing on their own training rows (--preprocessing per-site): the same value can mean different inputs at different hospitals'}; the centralised arm pools the same training rows and fits one preprocessing on them. Every arm is tested on the same patients: all hospitals' test splits pooled.`,
    `- **Centralised budget.** The centralised model (same architecture, Adam, batch 32, oversampled training split) trains rounds × local epochs = ${context.rounds * context.epochs} epochs on the pooled data, so every record is seen as often as in a federated run.`,
    `- **Epochs to converge.** The first evaluation whose pooled validation accuracy is within ${CONVERGENCE_TOLERANCE * 100} percentage points of the best that run reached, counted in local epochs: (round + 1) × local epochs for federated runs (the global model is evaluated after each round), epochs for the centralised run.`,
    '- **Time per run.** Wall time of a cell on this machine: training, evaluation and, for federated runs, the ledger transactions, blob store, aggregation and the final audit. Hospitals train one after another in one process.',
    "- **Update size.** What each hospital submits: the update container (safetensors, float32), its masked form in a secure-aggregation arm, its encryption in a CKKS arm; CKKS size is the update encrypted with the project's CKKS parameters (protocol/ckks), measured once per cell.",
    '- **Final model.** The model after the last round (federated) or last epoch (centralised), not the best one.',
    '',
    'Data: [cells.csv](cells.csv) (one row per run), [summary.csv](summary.csv) (one row per arm), cells/*.json (everything measured).',
    '',
  ].join('\n');
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return Object.keys(files).map((name) => join(dir, name));
}
