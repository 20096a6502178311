// Fault injection for the crash tests: FEDLEDGER_CRASH_AT names one point of a round at which the
// gateway process kills itself with SIGKILL, as a power cut would, so a test can hit each window
// between two durable steps exactly; FEDLEDGER_CRASH_RUN limits it to one run. Unset, as it
// always is outside those tests, it does nothing. Pause points (FEDLEDGER_PAUSE_AT) hold the
// process at a moment of a round instead, until the test has taken orderers down.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

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

/**
 * The moments an outage test can stop the gateway at, to take orderers down exactly there: the
 * next round has just opened; the round's last update has committed and the round is about to be
 * decided; a CloseRound or OpenRound transaction is endorsed and about to go to the orderers.
 */
export type PausePoint = 'round-opened' | 'before-close' | 'close-endorsed' | 'open-endorsed';

export const PAUSE_POINTS: readonly PausePoint[] = [
  'round-opened',
  'before-close',
  'close-endorsed',
  'open-endorsed',
];

let paused = false;

/**
 * When FEDLEDGER_PAUSE_AT names `point` (and FEDLEDGER_PAUSE_ROUND, if set, names `round`), the
 * first time only: creates the file FEDLEDGER_PAUSE_FILE and waits until the test removes it.
 * Unset, as it always is outside those tests, it returns at once.
 */
export async function pausePoint(point: PausePoint, round: number): Promise<void> {
  if (paused || process.env['FEDLEDGER_PAUSE_AT'] !== point) return;
  const onlyRound = process.env['FEDLEDGER_PAUSE_ROUND'];
  if (onlyRound !== undefined && Number(onlyRound) !== round) return;
  const file = process.env['FEDLEDGER_PAUSE_FILE'];
  if (!file) return;
  paused = true;
  await writeFile(file, `${point} ${round}\n`);
  process.stderr.write(`fedledger-gateway: pause point ${point} reached in round ${round}\n`);
  while (existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 50));
  process.stderr.write(`fedledger-gateway: pause point ${point} released\n`);
}
