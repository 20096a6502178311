// Work on one run, one piece at a time: a round is never closed twice concurrently, and a close
// never races the opening of the next round.

/** Serialises work per run, so a round is never closed twice concurrently. */
export class RunLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(runId) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.tails.set(
      runId,
      next.catch(() => undefined),
    );
    return next;
  }
}
