// The experiment's cells in parallel: each pending cell in its own child process of the experiment
// script (`--only-cell`), `--jobs` at a time, with an estimate of the time left after each.
import { join } from 'node:path';
import { progressLine } from '../demo/eta';
import { start, stopAll } from '../demo/processes';
import type { Arm } from './cells';
import { armId } from './cells';
import { openExperimentLedger } from './experiment-ledger';
import type { ExperimentOptions } from './options';

function say(line: string): void {
  process.stdout.write(`[experiment] ${line}\n`);
}

/** Exit code of an `--only-cell` job whose run failed its audit (a crash exits 1). */
export const AUDIT_FAILED_EXIT = 4;

/** The `--only-cell` form of a cell. */
export function cellId(arm: Arm, repeat: number): string {
  return `${armId(arm)}@${repeat}`;
}

/**
 * Runs the pending cells `options.jobs` at a time, each in a child process of the script with
 * `--only-cell` (local training is single-threaded, so jobs use one core each). Returns false
 * when a federated run failed its audit.
 * @throws {Error} naming a cell whose process failed.
 */
export async function runCellsInJobs(
  options: Readonly<ExperimentOptions>,
  /** The experiment script and its command line, run again with `--only-cell` per cell. */
  script: string,
  argv: readonly string[],
  pending: readonly { arm: Arm; repeat: number }[],
  hospitals: number,
): Promise<boolean> {
  // The dev identities of the simulated ledger are made once here, not by racing children.
  if (pending.some((p) => p.arm.kind !== 'centralised')) {
    await (
      await openExperimentLedger(options.ledger, hospitals, join(options.out, '.work', 'pki'))
    ).close();
  }
  const jobs = Math.min(options.jobs, pending.length);
  say(`running ${jobs} cells at a time, each in its own process`);
  // Longest first (centralised and plain federated train on oversampled rows), so that the last
  // jobs to finish are short ones.
  const cost = (arm: Arm): number => (arm.kind.startsWith('federated-dp') ? 1 : 0);
  const queue = [...pending].sort((a, b) => cost(a.arm) - cost(b.arm) || a.repeat - b.repeat);
  let done = 0;
  let verified = true;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const id = cellId(next.arm, next.repeat);
      const code = await start('experiment', process.execPath, [script, ...argv, '--only-cell', id])
        .exited;
      if (code === AUDIT_FAILED_EXIT) verified = false;
      else if (code !== 0) throw new Error(`the process for cell ${id} exited with code ${code}`);
      done += 1;
      if (done < pending.length) {
        say(
          progressLine(
            {
              done,
              total: pending.length,
              elapsedSeconds: (performance.now() - started) / 1000,
              parallel: jobs,
            },
            'cell',
          ),
        );
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } catch (err) {
    await stopAll(); // the other jobs stop too; the cells they finished stay saved
    throw err;
  }
  return verified;
}
