// Estimates of the time left, for the demo's rounds and the experiment's cells: the pace so far,
// carried over what remains. Pure functions; the callers measure the time.

/** A duration in words that fit a progress line: `45 s`, `3.2 min`, `1 h 05 min`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Progress of a piece of work made of equal steps (rounds, cells, epochs). */
export interface Progress {
  /** Steps finished. */
  done: number;
  /** Steps in all. */
  total: number;
  /** Seconds since the first step began. */
  elapsedSeconds: number;
  /** Steps that run at the same time (parallel jobs); default 1. */
  parallel?: number;
}

/**
 * Seconds one step has taken so far: with workers in parallel, the elapsed time covered that many
 * steps at once. Undefined before the first step ends.
 */
export function secondsPerStep(p: Readonly<Progress>): number | undefined {
  if (!(p.done > 0) || !(p.elapsedSeconds >= 0)) return undefined;
  return (p.elapsedSeconds * Math.max(1, Math.min(p.parallel ?? 1, p.total))) / p.done;
}

/**
 * Seconds left at the pace so far: the steps not finished × seconds per step, divided among the
 * parallel workers (never more of them than steps left). Undefined before the first step ends.
 */
export function estimateRemaining(p: Readonly<Progress>): number | undefined {
  const perStep = secondsPerStep(p);
  if (perStep === undefined) return undefined;
  const left = Math.max(0, p.total - p.done);
  return (left * perStep) / Math.max(1, Math.min(p.parallel ?? 1, left));
}

/**
 * One progress line, e.g. `2/10 rounds done in 1.2 min; about 4.8 min left (36 s per round so
 * far)`; before the first step ends, only what has been done.
 */
export function progressLine(p: Readonly<Progress>, unit: string): string {
  const units = p.total === 1 ? unit : `${unit}s`;
  const head = `${p.done}/${p.total} ${units} done in ${formatDuration(p.elapsedSeconds)}`;
  const left = estimateRemaining(p);
  const per = secondsPerStep(p);
  if (left === undefined || per === undefined) return head;
  if (left === 0) return `${head}; all done`;
  return `${head}; about ${formatDuration(left)} left (${formatDuration(per)} per ${unit} so far)`;
}
