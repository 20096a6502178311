// Fault injection for the crash tests: FEDLEDGER_CRASH_AT names one point of a round at which the
// gateway process kills itself with SIGKILL, as a power cut would, so a test can hit each window
// between two durable steps exactly; FEDLEDGER_CRASH_RUN limits it to one run. Unset, as it
// always is outside those tests, it does nothing.

/** The windows a crash test can open. */
export type CrashPoint =
  /** An update is stored and its proposal prepared; the hospital has signed nothing yet. */
  | 'after-upload'
  /** The hospital signed the proposal and it was endorsed; the transaction is not signed. */
  | 'between-signatures'
  /** The update is committed; the hospital has not heard so. */
  | 'after-commit'
  /** The round is being decided; nothing of the close is on the ledger. */
  | 'while-aggregating'
  /** CloseRound is committed; the next round is not open. */
  | 'between-close-and-open';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'after-upload',
  'between-signatures',
  'after-commit',
  'while-aggregating',
  'between-close-and-open',
];

/** Kills this process with SIGKILL when FEDLEDGER_CRASH_AT names `point` (for `runId`). */
export function crashPoint(point: CrashPoint, runId: string): void {
  if (process.env['FEDLEDGER_CRASH_AT'] !== point) return;
  const only = process.env['FEDLEDGER_CRASH_RUN'];
  if (only !== undefined && only !== runId) return;
  process.stderr.write(
    `fedledger-gateway: crash point ${point} reached in run ${runId}; SIGKILL\n`,
  );
  process.kill(process.pid, 'SIGKILL');
}
