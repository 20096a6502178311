// The figures the reference study reports (Table I, Fig. 2, Table II), printed beside ours. The
// study does not report precision, recall, F1, epochs to converge or times per arm, nor an
// accuracy at ε = 2.
import type { Arm } from './cells';

/** Study accuracies: centralised, federated, and federated + DP by ε. */
export const STUDY_ACCURACY = Object.freeze({
  centralised: 0.871,
  federated: 0.853,
  byEpsilon: new Map<number, number>([
    [0.1, 0.785],
    [0.5, 0.832],
    [1, 0.853],
    [5, 0.868],
  ]),
});

/** Study ledger figures (Hyperledger Fabric, PBFT ordering, a run of 10 epochs). */
export const STUDY_LEDGER = Object.freeze({
  averageTransactionSeconds: 1.2,
  transactionsPerMinute: 50,
  transactions: 1500,
  chainGrowthBytes: 30_000_000,
  ordering: 'PBFT',
});

/** The study's accuracy for an arm, when it reports one. */
export function studyAccuracy(arm: Arm): number | undefined {
  if (arm.kind === 'centralised') return STUDY_ACCURACY.centralised;
  if (arm.kind === 'federated') return STUDY_ACCURACY.federated;
  return arm.epsilon === undefined ? undefined : STUDY_ACCURACY.byEpsilon.get(arm.epsilon);
}
