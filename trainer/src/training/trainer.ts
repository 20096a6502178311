// The local-training step as an interchangeable part: plain Adam training and DP-SGD both take
// starting weights and data and return new weights, so privacy wraps training instead of being
// woven through it.
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import type { Dataset } from '../data/dataset';
import type { PrivacyEvent } from '../dp/accountant';
import type { ClassificationMetrics } from '../model/metrics';
import type { RandomSource } from '../random';

/**
 * Which implementation trains: `fused` (Float32Array forward/backward, ./dense-engine.ts),
 * `tfjs` (TensorFlow.js on the active backend), or `auto` (fused for the Dense specs it covers
 * unless a GPU backend is active).
 */
export type TrainingEngineChoice = 'auto' | 'fused' | 'tfjs';

/** Hyper-parameters shared by every training step. Defaults are the reference study's. */
export interface TrainingOptions {
  /** Local epochs; default 5. */
  epochs?: number;
  /** Batch size (expected batch size under Poisson sampling); default 32. */
  batchSize?: number;
  /** Adam learning rate; default 0.001. */
  learningRate?: number;
  /** Evaluated after each epoch for the progress report, when given. */
  validation?: Dataset;
  /** Called after each epoch. */
  onEpoch?: (progress: EpochProgress) => void;
  /** Training implementation; default `auto`. */
  engine?: TrainingEngineChoice;
  /** Randomness for plain training's batch order; default crypto. DP-SGD takes its own. */
  random?: RandomSource;
}

/** What is reported after each local epoch. */
export interface EpochProgress {
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's batches. */
  trainLoss: number;
  validation?: ClassificationMetrics;
  samplesPerSecond: number;
  /** The implementation training, as in {@link TrainingResult.engine}. */
  engine?: string;
}

/** Result of a training step. */
export interface TrainingResult {
  tensors: Tensor[];
  /** Privacy-relevant releases this step made (empty for plain training). */
  privacyEvents: PrivacyEvent[];
  /** Examples processed per second, averaged over the epochs. */
  samplesPerSecond: number;
  /** The implementation that ran, for the log: e.g. `fused` or `tfjs/wasm`. */
  engine: string;
}

/** A local training step: from `initial` weights, train on `data`. */
export type LocalTrainer = (
  spec: ModelSpec,
  initial: readonly Tensor[],
  data: Dataset,
  options: Readonly<TrainingOptions>,
) => Promise<TrainingResult>;

/** Options with their defaults filled in. */
export function withTrainingDefaults(
  options: Readonly<TrainingOptions>,
): Required<Pick<TrainingOptions, 'epochs' | 'batchSize' | 'learningRate'>> {
  return {
    epochs: options.epochs ?? 5,
    batchSize: options.batchSize ?? 32,
    learningRate: options.learningRate ?? 0.001,
  };
}
