// The demo's summary: a console table and a report folder (report.md, CSVs, SVG charts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChartSeries } from './svg-chart';
import { lineChartSvg } from './svg-chart';

export interface SplitMetrics {
  /** A hospital's MSP ID, or `pooled` for all hospitals' test splits together. */
  split: string;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Accuracy of always predicting the most frequent class of this split. */
  majorityRate?: number;
  /** Mean recall over classes. */
  balancedAccuracy?: number;
  /** ROC and PR AUC of the outcome's probability (NaN-free; absent when undefined). */
  rocAuc?: number;
  prAuc?: number;
  /**
   * A single predicted class, classes never recognised, accuracy no better than the majority
   * rate (see predictionWarnings, majorityWarning).
   */
  warnings?: string[];
}

const optionalPct = (x: number | undefined): string => (x === undefined ? '-' : pct(x));
const optionalAuc = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3));

export interface RoundSummary {
  round: number;
  /** Block that committed the round's close, when the ledger reports it. */
  closeBlock?: number;
  aggregateHash: string;
  included: string[];
  /** Test-split metrics of the round's aggregate model. */
  evaluations: SplitMetrics[];
  /** Largest ε any hospital had spent after this round. */
  epsilon: number;
}

export interface LedgerSummary {
  kind: 'fabric' | 'simulated';
  txCount: number;
  /** Submit→commit seconds of every transaction the demo sent. */
  latencies: number[];
  /** Bytes of block data written by the run, when measurable (Fabric block files). */
  chainBytes?: number;
  /** Why there are fewer timings than transactions, when there are. */
  latencyNote?: string;
}

/** What an auditor needs to check the run again later, and whether the ledger is still there. */
export interface ReauditInfo {
  /** The folder of the run's stored bytes (the gateway's blob store). */
  blobDir: string;
  /** Whether the Fabric network, and so the ledger, was left running after the demo. */
  networkKept: boolean;
}

export interface VerificationSummary {
  ok: boolean;
  rounds: { round: number; ok: boolean; problems: string[] }[];
}

export interface DemoSummary {
  runId: string;
  wallSeconds: number;
  patientsPerHospital: number;
  /** How many hospitals trained (3 when absent). */
  hospitals?: number;
  epochs: number;
  targetEpsilon: number;
  delta: number;
  /** How the updates travelled to the gateway (plaintext when absent). */
  protection?: { mode: string; label: string };
  rounds: RoundSummary[];
  ledger: LedgerSummary;
  verification: VerificationSummary;
  reaudit?: ReauditInfo;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The q-th quantile (0..1) by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Renders rows as an aligned plain-text table. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function splits(summary: DemoSummary): string[] {
  return [...new Set(summary.rounds.flatMap((r) => r.evaluations.map((e) => e.split)))];
}

/** The per-round table printed at the end of the demo. */
export function roundsTable(summary: DemoSummary): string {
  const names = splits(summary);
  const header = [
    'round',
    'block',
    ...names.map((n) => `acc ${n.replace('MSP', '')}`),
    'pooled P/R/F1',
    'pooled majority / bal. acc / ROC AUC',
    'ε spent',
  ];
  const rows = summary.rounds.map((r) => {
    const pooled = r.evaluations.find((e) => e.split === 'pooled');
    return [
      String(r.round),
      r.closeBlock === undefined ? '-' : String(r.closeBlock),
      ...names.map((n) => {
        const e = r.evaluations.find((x) => x.split === n);
        return e ? pct(e.accuracy) : '-';
      }),
      pooled
        ? `${pooled.precision.toFixed(3)}/${pooled.recall.toFixed(3)}/${pooled.f1.toFixed(3)}`
        : '-',
      pooled
        ? `${optionalPct(pooled.majorityRate)} / ${optionalPct(pooled.balancedAccuracy)} / ${optionalAuc(pooled.rocAuc)}`
        : '-',
      r.epsilon.toFixed(3),
    ];
  });
  return textTable(header, rows);
}

/** Accuracy and macro precision/recall/F1 of the final model on each test split and pooled. */
export function finalModelTable(summary: DemoSummary): string {
  const first = summary.rounds[0];
  const last = summary.rounds[summary.rounds.length - 1];
  if (!last) return '';
  const rows = last.evaluations.map((e) => {
    const before = first?.evaluations.find((x) => x.split === e.split);
    const change = before ? `${((e.accuracy - before.accuracy) * 100).toFixed(1)} pt` : '-';
    return [
      e.split,
      pct(e.accuracy),
      optionalPct(e.majorityRate),
      optionalPct(e.balancedAccuracy),
      optionalAuc(e.rocAuc),
      optionalAuc(e.prAuc),
      e.precision.toFixed(3),
      e.recall.toFixed(3),
      e.f1.toFixed(3),
      change.startsWith('-') ? change : `+${change}`,
    ];
  });
  return textTable(
    [
      `test split (round ${last.round} model)`,
      'accuracy',
      'majority',
      'balanced acc',
      'ROC AUC',
      'PR AUC',
      'precision',
      'recall',
      'F1',
      `acc vs round ${first?.round ?? 0}`,
    ],
    rows,
  );
}

/**
 * Warnings about the final model, e.g. `pooled: the model predicts a single class ("home") for all
 * 2,400 rows`: accuracy alone would report such a model as a success.
 */
export function warningLines(summary: DemoSummary): string[] {
  const last = summary.rounds[summary.rounds.length - 1];
  if (!last) return [];
  return last.evaluations.flatMap((e) =>
    (e.warnings ?? []).map((w) => `${e.split} (round ${last.round} model): ${w}`),
  );
}

/** How to verify the run again from the ledger, and whether that is still possible. */
export function reauditLines(summary: DemoSummary): string[] {
  const r = summary.reaudit;
  if (summary.ledger.kind === 'simulated') {
    return [
      'The simulated ledger lived in the gateway process and ended with it: this run cannot be audited again.',
      'For a run that can be, use the Fabric ledger with --keep-network: `npm run demo -- --keep-network`.',
    ];
  }
  if (!r) return [];
  const args = `verify ${summary.runId} --blobs ${r.blobDir}`;
  return [
    'To verify this run again from the ledger, through the auditor’s own peer:',
    `  npx fedledger-audit ${args}`,
    'or, from the repository without npx:',
    `  node gateway/dist/src/cli/audit.js ${args}`,
    r.networkKept
      ? 'The Fabric network is still up, so its ledger holds this run; `scripts/network.sh down` stops it and DELETES the ledger, after which the run cannot be audited again.'
      : 'The demo took down the Fabric network it had started, and `scripts/network.sh down` deleted its ledger with it: this run can no longer be audited. Run `npm run demo -- --keep-network` to keep the network, and so the ledger, for a later audit.',
  ];
}

/** How the run protected the hospitals' updates from the gateway, beside DP. */
export function protectionLine(summary: DemoSummary): string {
  const p = summary.protection ?? { mode: 'plaintext', label: 'plaintext updates (DP-noised)' };
  return `protection: ${p.mode}: ${p.label}`;
}

/** Ledger and verification lines printed under the rounds table. */
export function ledgerLines(summary: DemoSummary): string[] {
  const l = summary.ledger;
  const label =
    l.kind === 'fabric'
      ? 'Hyperledger Fabric (BFT ordering)'
      : 'SIMULATED ledger (in-process, not Fabric)';
  return [
    `ledger: ${label}`,
    `transactions: ${l.txCount}; submit→commit mean ${mean(l.latencies).toFixed(3)} s, p95 ${quantile(l.latencies, 0.95).toFixed(3)} s` +
      (l.latencies.length === l.txCount
        ? ''
        : ` over ${l.latencies.length} timings${l.latencyNote ? ` (${l.latencyNote})` : ''}`),
    l.chainBytes === undefined
      ? `chain growth: not measured${l.kind === 'simulated' ? ' (the simulated ledger writes no blocks)' : ''}`
      : `chain growth: ${(l.chainBytes / 1024).toFixed(1)} KiB (${(l.chainBytes / 1024 / Math.max(1, l.txCount)).toFixed(1)} KiB per transaction, blocks included)`,
    `verification: ${summary.verification.ok ? '✓ every round verified from the ledger' : '✗ FAILED'}`,
    ...summary.verification.rounds
      .filter((r) => !r.ok)
      .map((r) => `  ✗ round ${r.round}: ${r.problems.join('; ')}`),
  ];
}

function csv(rows: readonly (readonly (string | number)[])[]): string {
  return `${rows.map((r) => r.map((c) => (typeof c === 'string' && /[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : String(c))).join(',')).join('\n')}\n`;
}

/** Writes report.md, rounds.csv, ledger.csv and three SVG charts into `dir`. */
export async function writeReport(dir: string, summary: DemoSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names = splits(summary);
  const accuracySeries: ChartSeries[] = names.map((n) => ({
    name: n,
    points: summary.rounds.flatMap((r) => {
      const e = r.evaluations.find((x) => x.split === n);
      return e ? [{ x: r.round, y: e.accuracy }] : [];
    }),
  }));
  // Beside accuracy: what always predicting the commonest outcome scores, and balanced accuracy.
  for (const [name, pick] of [
    ['pooled balanced accuracy', (e: SplitMetrics) => e.balancedAccuracy],
    ['pooled majority-class rate', (e: SplitMetrics) => e.majorityRate],
  ] as const) {
    const points = summary.rounds.flatMap((r) => {
      const e = r.evaluations.find((x) => x.split === 'pooled');
      const y = e ? pick(e) : undefined;
      return y === undefined ? [] : [{ x: r.round, y }];
    });
    if (points.length > 0) accuracySeries.push({ name, points });
  }
  const files: Record<string, string> = {
    'accuracy.svg': lineChartSvg(accuracySeries, {
      title:
        'Test accuracy of the global model after each round (with pooled balanced accuracy and majority rate)',
      xLabel: 'round (numbered from 0, as on the ledger)',
      yLabel: 'accuracy',
      integerX: true,
      formatY: (y) => pct(y),
    }),
    'epsilon.svg': lineChartSvg(
      [{ name: 'ε spent', points: summary.rounds.map((r) => ({ x: r.round, y: r.epsilon })) }],
      {
        title: `Privacy budget spent (target ε = ${summary.targetEpsilon}, δ = ${summary.delta})`,
        xLabel: 'round (numbered from 0, as on the ledger)',
        yLabel: 'ε',
        integerX: true,
        yMin: 0,
        formatY: (y) => y.toFixed(2),
      },
    ),
    'ledger-latency.svg': lineChartSvg(
      [
        {
          name: 'submit→commit',
          points: summary.ledger.latencies.map((s, i) => ({ x: i + 1, y: s })),
        },
      ],
      {
        title: `Ledger transaction latency (${summary.ledger.kind})`,
        xLabel: summary.ledger.latencyNote ? 'timing (see ledger.csv)' : 'transaction',
        yLabel: 'seconds',
        integerX: true,
        yMin: 0,
        formatY: (y) => y.toFixed(2),
      },
    ),
    'rounds.csv': csv([
      [
        'round',
        'close_block',
        'split',
        'accuracy',
        'majority_rate',
        'balanced_accuracy',
        'roc_auc',
        'pr_auc',
        'precision',
        'recall',
        'f1',
        'epsilon',
        'aggregate_sha256',
      ],
      ...summary.rounds.flatMap((r) =>
        r.evaluations.map((e) => [
          r.round,
          r.closeBlock ?? '',
          e.split,
          e.accuracy,
          e.majorityRate ?? '',
          e.balancedAccuracy ?? '',
          e.rocAuc ?? '',
          e.prAuc ?? '',
          e.precision,
          e.recall,
          e.f1,
          r.epsilon,
          r.aggregateHash,
        ]),
      ),
    ]),
    'ledger.csv': csv([
      ['transaction', 'submit_to_commit_seconds'],
      ...summary.ledger.latencies.map((s, i) => [i + 1, s]),
    ]),
  };
  const warnings = warningLines(summary);
  const reaudit = reauditLines(summary);
  const simulatedNote =
    summary.ledger.kind === 'simulated'
      ? '\n> **Simulated ledger.** This run used the in-process simulated ledger (the real contract code, no Fabric network, no ordering service). Ledger figures below are not Fabric figures.\n'
      : '';
  files['report.md'] = [
    `# fedledger demo report: ${summary.runId}`,
    simulatedNote,
    `${summary.hospitals === undefined || summary.hospitals === 3 ? 'Three' : summary.hospitals} hospitals × ${summary.patientsPerHospital.toLocaleString('en')} synthetic patients, ${summary.rounds.length} rounds × ${summary.epochs} local epochs, DP-SGD at ε = ${summary.targetEpsilon} (δ = ${summary.delta}); ${protectionLine(summary)}. Wall time ${(summary.wallSeconds / 60).toFixed(1)} min. Rounds are numbered from 0, as on the ledger.`,
    '',
    ...(warnings.length > 0
      ? [
          '## Warnings',
          '',
          ...warnings.map((w) => `- **Warning:** ${w}`),
          '',
          'A model that predicts one class, or never recognises a class, scores the share of the classes it does predict: its accuracy says little. More rows per hospital, more rounds or a larger ε usually help.',
          '',
        ]
      : []),
    '## Rounds',
    '',
    '```',
    roundsTable(summary),
    '```',
    '',
    '## Final model',
    '',
    '```',
    finalModelTable(summary),
    '```',
    '',
    '![accuracy per round](accuracy.svg)',
    '![epsilon per round](epsilon.svg)',
    '',
    '## Ledger',
    '',
    ...ledgerLines(summary).map((l) => `- ${l}`),
    '',
    '![ledger latency](ledger-latency.svg)',
    '',
    'Data: [rounds.csv](rounds.csv), [ledger.csv](ledger.csv).',
    '',
    ...(reaudit.length > 0
      ? [
          '## Auditing this run again',
          '',
          ...reaudit.map((l) => (l.startsWith('  ') ? `    ${l.trim()}` : `${l}\n`)),
          '',
        ]
      : []),
  ].join('\n');
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return Object.keys(files).map((name) => join(dir, name));
}
