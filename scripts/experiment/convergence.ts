// Epochs to converge, as this experiment defines it: the first evaluation point whose pooled
// validation accuracy is within CONVERGENCE_TOLERANCE (0.5 percentage points) of the best the run
// reached, counted in local epochs — for a federated run, rounds × local epochs per round; for the
// centralised run, epochs over the pooled data. Both count passes over each patient's record.

/** Within this much accuracy of the run's best counts as converged. */
export const CONVERGENCE_TOLERANCE = 0.005;

/**
 * @param accuracy validation accuracy after each round (or epoch), in order
 * @param epochsPerPoint local epochs one point stands for
 * @returns the epochs up to and including the first converged point; 0 for an empty curve
 */
export function epochsToConverge(accuracy: readonly number[], epochsPerPoint: number): number {
  if (accuracy.length === 0) return 0;
  const best = Math.max(...accuracy);
  const first = accuracy.findIndex((a) => a >= best - CONVERGENCE_TOLERANCE);
  return (first + 1) * epochsPerPoint;
}
