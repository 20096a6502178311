// Waiting in a secure-aggregation round: the phases move when the coordinator writes them on the
// ledger, so a hospital polls its ledger view with growing intervals (as it waits for rounds),
// polls through a gateway that is down or restarting, and stops when told to (Ctrl-C).
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransient } from './errors';

/** Options of {@link newPoller}. */
export interface PollerOptions {
  signal?: AbortSignal;
  /** First and longest intervals, ms (defaults 500 and 10 000); each wait is half again longer. */
  pollMs?: number;
  maxPollMs?: number;
}

/** Polling with backoff. */
export interface Poller {
  /**
   * Calls `probe` until it returns something other than undefined; a transient failure (the
   * gateway unreachable, a 5xx) counts as nothing yet.
   * @throws what `probe` throws that is not transient; the signal's reason when aborted.
   */
  poll: <T>(probe: () => Promise<T | undefined>) => Promise<T>;
  /** Calls `call` again while it fails transiently; returns its first result. */
  retrying: <T>(call: () => Promise<T>) => Promise<T>;
}

/** A poller with the given intervals and abort signal. */
export function newPoller(options: Readonly<PollerOptions>): Poller {
  const first = options.pollMs ?? 500;
  const longest = Math.max(first, options.maxPollMs ?? 10_000);
  const { signal } = options;
  const poll = async <T>(probe: () => Promise<T | undefined>): Promise<T> => {
    let delay = first;
    for (;;) {
      signal?.throwIfAborted();
      try {
        const found = await probe();
        if (found !== undefined) return found;
      } catch (err) {
        if (!isTransient(err)) throw err;
      }
      await sleep(delay, undefined, signal ? { signal } : {});
      delay = Math.min(longest, Math.round(delay * 1.5));
    }
  };
  return {
    poll,
    retrying: async <T>(call: () => Promise<T>): Promise<T> =>
      (await poll(async () => ({ value: await call() }))).value,
  };
}
