// The experiment's unit of work, a cell: one arm (centralised, federated, federated + DP at one ε,
// each federated arm in one protection mode) in one repeat. Each finished cell is one JSON file under <out>/cells, written as soon as it
// finishes, so an interrupted experiment resumes where it stopped.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassificationMetrics } from '@fedledger/trainer';
import { majorityWarning, predictionWarnings } from '@fedledger/trainer';
import type { Protection } from '../demo/demo-options';

export type { Protection };

export type ArmKind = 'centralised' | 'federated' | 'federated-dp' | 'federated-dp-rdp';

/** The protection modes in the order the experiment runs and lists them. */
export const PROTECTION_MODES: readonly Protection[] = ['plaintext', 'secagg', 'ckks'];

/**
 * An arm of the study; `epsilon` only for federated + DP, whose σ is calibrated by the PLD
 * accountant (`federated-dp`) or, for comparison in the same experiment, by RDP
 * (`federated-dp-rdp`). `protection` only for a federated arm whose hospitals mask (secure
 * aggregation) or encrypt (CKKS) their updates; absent, they send them in plaintext (DP-noised),
 * which keeps the names, files and results of the arms from before the modes existed.
 */
export interface Arm {
  kind: ArmKind;
  epsilon?: number;
  protection?: Exclude<Protection, 'plaintext'>;
}

/** How the arm's hospitals protect their updates (plaintext for centralised, which sends none). */
export function armProtection(arm: Arm): Protection {
  return arm.protection ?? 'plaintext';
}

/** `arm` run in `mode` (the arm itself for plaintext). */
export function withProtection(arm: Arm, mode: Protection): Arm {
  const { protection: _old, ...plain } = arm;
  return mode === 'plaintext' ? plain : { ...plain, protection: mode };
}

/**
 * File-name form: `centralised`, `federated`, `federated-dp-eps0.5`, `federated-dp-eps0.5-secagg`,
 * `federated-ckks`.
 */
export function armId(arm: Arm): string {
  const mode = arm.protection ? `-${arm.protection}` : '';
  if (arm.kind === 'federated-dp-rdp') return `federated-dp-rdp-eps${String(arm.epsilon)}${mode}`;
  return `${arm.kind === 'federated-dp' ? `federated-dp-eps${String(arm.epsilon)}` : arm.kind}${mode}`;
}

/** The accountant that calibrates σ in a DP arm; undefined for the others. */
export function armAccountant(arm: Arm): 'pld' | 'rdp' | undefined {
  if (arm.kind === 'federated-dp-rdp') return 'rdp';
  return arm.kind === 'federated-dp' ? 'pld' : undefined;
}

/**
 * Table form: `centralised`, `federated`, `federated + DP ε=0.5`, `… ε=0.5 (RDP σ)`, and the
 * protection mode after any but plaintext: `federated [secagg]`, `federated + DP ε=1 [ckks]`.
 */
export function armLabel(arm: Arm): string {
  const mode = arm.protection ? ` [${arm.protection}]` : '';
  if (arm.kind === 'federated-dp-rdp') {
    return `federated + DP ε=${String(arm.epsilon)} (RDP σ)${mode}`;
  }
  return `${arm.kind === 'federated-dp' ? `federated + DP ε=${String(arm.epsilon)}` : arm.kind}${mode}`;
}

/** Metrics on the pooled test split. */
export interface TestMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  loss: number;
  /** Mean recall over classes: 0.5 for a two-class model that predicts one class. */
  balancedAccuracy?: number;
  /** Share of the most frequent class in the test split: what always predicting it scores. */
  majorityRate?: number;
  /** ROC AUC of the outcome (the label's second class); one-vs-rest mean for more classes. */
  rocAuc?: number;
  /** PR AUC (average precision), the same way. */
  prAuc?: number;
  /**
   * A single predicted class, classes never recognised (recall 0), accuracy no better than the
   * majority rate; absent when none.
   */
  warnings?: string[];
}

/** A cell's test metrics and warnings from the evaluation of its final model. */
export function testMetricsFrom(
  m: ClassificationMetrics,
  classNames: readonly string[],
): TestMetrics {
  const warnings = [
    ...predictionWarnings(m.confusion, classNames),
    ...majorityWarning(m.accuracy, m.majorityRate),
  ];
  return {
    accuracy: m.accuracy,
    precision: m.macroPrecision,
    recall: m.macroRecall,
    f1: m.macroF1,
    loss: m.loss,
    balancedAccuracy: m.balancedAccuracy,
    majorityRate: m.majorityRate,
    ...(Number.isFinite(m.rocAuc) ? { rocAuc: m.rocAuc } : {}),
    ...(Number.isFinite(m.prAuc) ? { prAuc: m.prAuc } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** What a federated cell's run left on the ledger. */
export interface LedgerFigures {
  kind: 'simulated' | 'fabric';
  label: string;
  runId: string;
  transactions: number;
  /** Submit→commit seconds of every transaction of the run. */
  latencySeconds: number[];
  /** Bytes of the run's records (canonical JSON) as the ledger returns them. */
  recordBytes: number;
  /** Growth of peer0.auditor's block files during the run (Fabric only). */
  chainBytes?: number;
  /** Audit verification of every round from the ledger and the blob store. */
  verified: boolean;
  problems: string[];
}

/** One finished cell. */
export interface CellResult {
  format: 'fedledger-experiment-cell/1';
  /** The configuration the cell belongs to (see ExperimentOptions). */
  fingerprint: string;
  arm: ArmKind;
  epsilon: number | null;
  /** The arm's protection mode; absent: plaintext (as in cells written before the modes). */
  protection?: Exclude<Protection, 'plaintext'>;
  repeat: number;
  seed: number;
  /** The final model on the pooled test split. */
  test: TestMetrics;
  /** Pooled validation accuracy after each round (federated) or each epoch (centralised). */
  validationAccuracy: number[];
  /** Local epochs each point of `validationAccuracy` stands for (E, or 1 for centralised). */
  epochsPerPoint: number;
  /** See convergence.ts. */
  epochsToConverge: number;
  wallSeconds: number;
  /** Seconds spent in local training (all hospitals), excluding evaluation and the ledger. */
  trainingSeconds: number;
  /**
   * Mean size of what a hospital submits, bytes: the float32 update container, its masked form
   * (secagg) or its CKKS encryption (ckks).
   */
  updateBytes?: number;
  /** Size of one update encrypted with CKKS (protocol/ckks), bytes; measured once per cell. */
  ckksUpdateBytes?: number;
  /** Largest ε any hospital had spent at the end (DP arms). */
  epsilonSpent?: number;
  noiseMultiplier?: number;
  ledger?: LedgerFigures;
  finishedAt: string;
}

/** Refuses to mix results of different configurations in one folder. */
export class ConfigurationMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A cell run apart from the sweep: `fabric` is the run on the local Fabric network whose ledger
 * figures fill the ledger table (the sweep itself on the simulated ledger).
 */
export type CellVariant = 'fabric';

/** The finished cells of one configuration under `<out>/cells`. */
export class CellStore {
  private readonly dir: string;

  /**
   * @throws {ConfigurationMismatchError} when `out` already holds cells of another configuration.
   */
  constructor(
    out: string,
    private readonly fingerprint: string,
    settings: Readonly<Record<string, unknown>>,
  ) {
    this.dir = join(out, 'cells');
    mkdirSync(this.dir, { recursive: true });
    const configFile = join(out, 'config.json');
    if (existsSync(configFile)) {
      const existing = JSON.parse(readFileSync(configFile, 'utf8')) as {
        fingerprint?: string;
        settings?: unknown;
      };
      if (existing.fingerprint !== fingerprint) {
        throw new ConfigurationMismatchError(
          `${out} holds results of another configuration (${JSON.stringify(existing.settings)}); use another --out or delete that folder`,
        );
      }
    } else {
      writeFileSync(configFile, `${JSON.stringify({ fingerprint, settings }, null, 2)}\n`);
    }
  }

  private path(arm: Arm, repeat: number, variant?: CellVariant): string {
    return join(this.dir, `${armId(arm)}-r${repeat}${variant ? `-${variant}` : ''}.json`);
  }

  /** The finished cell, if there is one. */
  read(arm: Arm, repeat: number, variant?: CellVariant): CellResult | undefined {
    const file = this.path(arm, repeat, variant);
    if (!existsSync(file)) return undefined;
    const cell = JSON.parse(readFileSync(file, 'utf8')) as CellResult;
    return cell.fingerprint === this.fingerprint ? cell : undefined;
  }

  /** Writes a finished cell atomically; returns its path. */
  write(cell: CellResult, variant?: CellVariant): string {
    const arm: Arm = {
      kind: cell.arm,
      ...(cell.epsilon !== null ? { epsilon: cell.epsilon } : {}),
      ...(cell.protection ? { protection: cell.protection } : {}),
    };
    const file = this.path(arm, cell.repeat, variant);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(cell, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    return file;
  }
}
