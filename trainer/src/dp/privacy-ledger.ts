// A hospital's own record of the privacy it has spent on each data file, across runs. Every run
// that trains on the same records (the same file, by SHA-256 of its bytes) spends from the same
// patients, so ε composes over runs: before a run starts the trainer composes what earlier runs
// released with what this run plans, and warns (or refuses) when the total would pass the
// hospital's budget. The file stays at the hospital; the ledger on Fabric records each run's ε.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrivacyError } from '../errors';
import type { PrivacyEvent } from './accountant';
import type { AccountantKind } from './privacy-accountant';
import { historyEpsilon } from './privacy-accountant';

/** One run's releases from one data file. */
export interface PrivacyLedgerEntry {
  dataSha256: string;
  runId: string;
  events: PrivacyEvent[];
}

/** The file's content. */
export interface PrivacyLedger {
  format: 'fedledger-privacy-ledger/1';
  entries: PrivacyLedgerEntry[];
}

/** SHA-256 (hex) of a data file's bytes: the same records, the same key, whatever the name. */
export function dataFileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Reads the ledger file; a missing file is an empty ledger.
 * @throws {PrivacyError} when the file is not one this version wrote.
 */
export function readPrivacyLedger(file: string): PrivacyLedger {
  if (!existsSync(file)) return { format: 'fedledger-privacy-ledger/1', entries: [] };
  let value: Partial<PrivacyLedger>;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as Partial<PrivacyLedger>;
  } catch (err) {
    throw new PrivacyError(`The privacy ledger ${file} is not JSON: ${(err as Error).message}`);
  }
  if (value.format !== 'fedledger-privacy-ledger/1' || !Array.isArray(value.entries)) {
    throw new PrivacyError(
      `The privacy ledger ${file} is not a fedledger-privacy-ledger/1 document; move it aside to start a new one.`,
    );
  }
  return value as PrivacyLedger;
}

/** Records (or replaces) the releases of `entry.runId` on `entry.dataSha256`, atomically. */
export function recordRunPrivacy(file: string, entry: Readonly<PrivacyLedgerEntry>): void {
  const ledger = readPrivacyLedger(file);
  const entries = ledger.entries.filter(
    (e) => !(e.runId === entry.runId && e.dataSha256 === entry.dataSha256),
  );
  entries.push({ ...entry, events: entry.events.map((e) => ({ ...e })) });
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ format: ledger.format, entries }, null, 2)}\n`);
  renameSync(temp, file);
}

/** What composing earlier runs with a planned one gives. */
export interface BudgetProjection {
  /** Earlier runs on the same data file. */
  earlierRuns: string[];
  /** ε of the earlier runs alone, at δ. */
  earlierEpsilon: number;
  /** ε of the earlier runs and the planned one together, at δ. */
  projectedEpsilon: number;
}

/** Composes the earlier runs on `dataSha256` (other than `runId`) with `planned`, at δ. */
export function projectBudget(
  ledger: Readonly<PrivacyLedger>,
  dataSha256: string,
  runId: string,
  planned: readonly PrivacyEvent[],
  delta: number,
  kind: AccountantKind = 'pld',
): BudgetProjection {
  const earlier = ledger.entries.filter((e) => e.dataSha256 === dataSha256 && e.runId !== runId);
  const events = earlier.flatMap((e) => e.events);
  return {
    earlierRuns: earlier.map((e) => e.runId),
    earlierEpsilon: historyEpsilon(events, delta, kind),
    projectedEpsilon: historyEpsilon([...events, ...planned], delta, kind),
  };
}

/** The warning to print when a projection passes the budget, or undefined when it fits. */
export function budgetWarning(
  projection: Readonly<BudgetProjection>,
  budget: number,
  runId: string,
  delta: number,
): string | undefined {
  if (projection.projectedEpsilon <= budget) return undefined;
  const earlier =
    projection.earlierRuns.length > 0
      ? `after ${projection.earlierRuns.length} earlier run(s) on the same data file (${projection.earlierRuns.join(', ')}; ε = ${projection.earlierEpsilon.toFixed(4)} together)`
      : 'on its own';
  return `privacy budget: run ${runId} would bring this data file to ε = ${projection.projectedEpsilon.toFixed(4)} at δ = ${delta} ${earlier}, over the budget of ${budget}`;
}
