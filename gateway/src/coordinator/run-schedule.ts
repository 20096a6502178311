// When the coordinator next looks at each run: at its open round's deadline, or after a failed
// ledger step, again after a backoff that doubles up to a ceiling. One timer per run, so a retry
// and a deadline never race each other; whatever fires re-reads the ledger and decides afresh.

/** The longest delay Node's setTimeout honours (2^31 − 1 ms, about 24.9 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long to wait before trying a failed ledger step again. */
export interface Backoff {
  /** First delay after a failure (milliseconds). */
  initialMs: number;
  /** Ceiling of the doubling delays (milliseconds). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 15_000 };

export interface RunScheduleOptions {
  now: () => Date;
  backoff?: Partial<Backoff>;
}

export class RunSchedule {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private readonly now: () => Date;
  private readonly backoff: Backoff;
  private stopped = false;

  constructor(options: RunScheduleOptions) {
    this.now = options.now;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    if (!(this.backoff.initialMs > 0 && this.backoff.maxMs >= this.backoff.initialMs)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs');
    }
  }

  /**
   * Calls `fire` at `dueAt` (epoch milliseconds; at the earliest one second from now), replacing
   * the run's pending timer. Node fires a delay above 2^31 − 1 ms at once, so a long wait is
   * taken in steps.
   */
  at(runId: string, dueAt: number, fire: () => void): void {
    if (!Number.isFinite(dueAt))
      throw new RangeError(`run ${runId}: the time to wait for is not a number`);
    if (this.stopped) return;
    const step = (): void => {
      const remaining = dueAt - this.now().getTime();
      const long = remaining > MAX_TIMER_MS;
      this.set(runId, long ? step : fire, long ? MAX_TIMER_MS : Math.max(1000, remaining));
    };
    step();
  }

  /**
   * Calls `fire` after the run's next backoff delay, replacing its pending timer.
   * @returns the delay in milliseconds.
   */
  retry(runId: string, fire: () => void): number {
    const failures = (this.failures.get(runId) ?? 0) + 1;
    this.failures.set(runId, failures);
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (failures - 1));
    if (!this.stopped) this.set(runId, fire, delay);
    return delay;
  }

  /** Forgets the run's failures: the next failure waits the initial delay again. */
  succeeded(runId: string): void {
    this.failures.delete(runId);
  }

  /** Consecutive failures of the run since its last success. */
  failuresOf(runId: string): number {
    return this.failures.get(runId) ?? 0;
  }

  /** Drops the run's pending timer. */
  cancel(runId: string): void {
    const timer = this.timers.get(runId);
    if (timer) clearTimeout(timer);
    this.timers.delete(runId);
  }

  /** True while the run has a timer pending. */
  pending(runId: string): boolean {
    return this.timers.has(runId);
  }

  /** Drops every timer and arms no more. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private set(runId: string, fire: () => void, delayMs: number): void {
    this.cancel(runId);
    const timer = setTimeout(() => {
      if (this.timers.get(runId) === timer) this.timers.delete(runId);
      fire();
    }, delayMs);
    timer.unref();
    this.timers.set(runId, timer);
  }
}
