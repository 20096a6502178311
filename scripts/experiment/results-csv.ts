// The experiment's results as CSV: one row per cell (cells.csv) and one per arm (summary.csv), each
// with the protection mode its hospitals ran in.
import type { CellResult } from './cells';
import { armId, armProtection } from './cells';
import { studyAccuracy } from './reference-study';
import type { ArmSummary } from './results-report';

function csv(rows: readonly (readonly (string | number)[])[]): string {
  return `${rows.map((r) => r.map((c) => (typeof c === 'string' && /[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : String(c))).join(',')).join('\n')}\n`;
}

/** One row per finished cell, everything measured. */
export function cellsCsv(cells: readonly CellResult[]): string {
  return csv([
    [
      'arm',
      'protection',
      'epsilon',
      'repeat',
      'seed',
      'accuracy',
      'majority_rate',
      'balanced_accuracy',
      'roc_auc',
      'pr_auc',
      'precision',
      'recall',
      'f1',
      'loss',
      'epochs_to_converge',
      'wall_seconds',
      'training_seconds',
      'update_bytes',
      'ckks_update_bytes',
      'epsilon_spent',
      'noise_multiplier',
      'ledger_transactions',
      'ledger_mean_latency_seconds',
      'verified',
    ],
    ...cells.map((c) => [
      c.arm,
      c.arm === 'centralised' ? '' : (c.protection ?? 'plaintext'),
      c.epsilon ?? '',
      c.repeat,
      c.seed,
      c.test.accuracy,
      c.test.majorityRate ?? '',
      c.test.balancedAccuracy ?? '',
      c.test.rocAuc ?? '',
      c.test.prAuc ?? '',
      c.test.precision,
      c.test.recall,
      c.test.f1,
      c.test.loss,
      c.epochsToConverge,
      c.wallSeconds,
      c.trainingSeconds,
      c.updateBytes ?? '',
      c.ckksUpdateBytes ?? '',
      c.epsilonSpent ?? '',
      c.noiseMultiplier ?? '',
      c.ledger?.transactions ?? '',
      c.ledger
        ? c.ledger.latencySeconds.reduce((a, b) => a + b, 0) /
          Math.max(1, c.ledger.latencySeconds.length)
        : '',
      c.ledger ? String(c.ledger.verified) : '',
    ]),
  ]);
}

/** One row per arm: means and standard deviations; the study's accuracy only for its configuration. */
export function summaryCsv(summaries: readonly ArmSummary[], study: boolean): string {
  const context = { study };
  return csv([
    [
      'arm',
      'protection',
      'n',
      'accuracy_mean',
      'accuracy_sd',
      'majority_rate_mean',
      'balanced_accuracy_mean',
      'balanced_accuracy_sd',
      'roc_auc_mean',
      'roc_auc_sd',
      'pr_auc_mean',
      'pr_auc_sd',
      'study_accuracy',
      'precision_mean',
      'precision_sd',
      'recall_mean',
      'recall_sd',
      'f1_mean',
      'f1_sd',
      'epochs_to_converge_mean',
      'epochs_to_converge_sd',
      'wall_seconds_mean',
      'wall_seconds_sd',
    ],
    ...summaries.map((s) => [
      armId(s.arm),
      s.arm.kind === 'centralised' ? '' : armProtection(s.arm),
      s.accuracy.n,
      s.accuracy.mean,
      s.accuracy.sd,
      s.majorityRate?.mean ?? '',
      s.balancedAccuracy?.mean ?? '',
      s.balancedAccuracy?.sd ?? '',
      s.rocAuc?.mean ?? '',
      s.rocAuc?.sd ?? '',
      s.prAuc?.mean ?? '',
      s.prAuc?.sd ?? '',
      context.study ? (studyAccuracy(s.arm) ?? '') : '',
      s.precision.mean,
      s.precision.sd,
      s.recall.mean,
      s.recall.sd,
      s.f1.mean,
      s.f1.sd,
      s.epochsToConverge.mean,
      s.epochsToConverge.sd,
      s.wallSeconds.mean,
      s.wallSeconds.sd,
    ]),
  ]);
}
