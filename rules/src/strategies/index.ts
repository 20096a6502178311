// Strategy lookup by the name a run records on the ledger.
import type { StrategyName } from '@fedledger/protocol';
import { fedAvg } from './fedavg';
import { krum, multiKrum } from './krum';
import { coordinateMedian } from './median';
import type { Strategy } from './strategy';
import { trimmedMean } from './trimmed-mean';

export * from './strategy';
export { fedAvg } from './fedavg';
export { coordinateMedian } from './median';
export { trimmedMean } from './trimmed-mean';
export { krum, krumScores, multiKrum } from './krum';
export * from './tensors';

/** The strategy each ledger strategy name stands for. */
export const STRATEGY_FUNCTIONS: Readonly<Record<StrategyName, Strategy>> = {
  fedavg: fedAvg,
  median: coordinateMedian,
  'trimmed-mean': trimmedMean,
  krum,
  'multi-krum': multiKrum,
};
