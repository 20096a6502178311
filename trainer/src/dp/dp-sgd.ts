// Record-level DP-SGD (M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016):
// each step samples a batch by Poisson sampling with rate q = B/N, clips every example's gradient
// to L2 norm C, adds N(0, σ²C²) to each coordinate of the sum, divides by the expected batch size
// qN (as Opacus does, which keeps the noise independent of the secret batch size) and takes an
// Adam step. The steps are accounted as Poisson-subsampled Gaussian events (see ./rdp.ts).
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@fedledger/protocol';
import { modelTensorShapes } from '@fedledger/protocol';
import { ConfigError } from '../errors';
import type { RandomSource } from '../random';
import { cryptoRandom } from '../random';
import { buildModel, setModelTensors } from '../model/mlp';
import { chooseEngine, tfjsEngineName } from '../training/engine';
import { checkSpecFitsData, evaluateModel } from '../training/evaluate';
import { dpSgdTrainerFused } from '../training/fused-trainer';
import type { LocalTrainer, TrainingOptions } from '../training/trainer';
import { withTrainingDefaults } from '../training/trainer';
import type { PrivacyEvent } from './accountant';
import type { DenseVariables } from './per-example-gradients';
import { clippedGradientSum } from './per-example-gradients';

/** DP-SGD's privacy parameters. */
export interface DpSgdOptions {
  /** Per-example gradient clipping norm C. */
  clipNorm: number;
  /** Noise multiplier σ: the noise standard deviation is σ·C. */
  noiseMultiplier: number;
  /** Randomness for sampling and noise; default {@link cryptoRandom}. Seed it only in tests. */
  random?: RandomSource;
}

/** The sampling schedule DP-SGD will follow for `rows` examples. */
export function dpSgdSchedule(
  rows: number,
  options: Readonly<TrainingOptions>,
): { samplingRate: number; steps: number } {
  const { epochs, batchSize } = withTrainingDefaults(options);
  const samplingRate = Math.min(1, batchSize / rows);
  return { samplingRate, steps: epochs * Math.max(1, Math.round(1 / samplingRate)) };
}

/** The privacy event one DP-SGD run composes. */
export function dpSgdEvent(
  rows: number,
  options: Readonly<TrainingOptions>,
  noiseMultiplier: number,
): PrivacyEvent {
  const { samplingRate, steps } = dpSgdSchedule(rows, options);
  return { mechanism: 'subsampled-gaussian', samplingRate, noiseMultiplier, count: steps };
}

/**
 * A {@link LocalTrainer} running DP-SGD with the given privacy parameters, on the engine that
 * `options.engine` selects (see ../training/engine.ts).
 * @throws {ConfigError} for a non-positive clipping norm or a negative noise multiplier.
 */
export function dpSgdTrainer(dp: Readonly<DpSgdOptions>): LocalTrainer {
  const tfjs = dpSgdTrainerTfjs(dp);
  const fused = dpSgdTrainerFused(dp);
  return async (spec, initial, data, options) => {
    checkSpecFitsData(spec, data);
    return chooseEngine(spec, options.engine) === 'fused'
      ? fused(spec, initial, data, options)
      : tfjs(spec, initial, data, options);
  };
}

/** DP-SGD through TensorFlow.js ops on the active backend. */
export function dpSgdTrainerTfjs(dp: Readonly<DpSgdOptions>): LocalTrainer {
  if (!(dp.clipNorm > 0) || !(dp.noiseMultiplier >= 0)) {
    throw new ConfigError(
      'DP-SGD needs a positive clipping norm and a non-negative noise multiplier.',
    );
  }
  return async (spec, initial, data, options) => {
    checkSpecFitsData(spec, data);
    const { epochs, learningRate } = withTrainingDefaults(options);
    const { samplingRate, steps } = dpSgdSchedule(data.rows, options);
    const stepsPerEpoch = steps / epochs;
    const random = dp.random ?? cryptoRandom();
    const shapes = modelTensorShapes(spec);
    const byName = new Map(initial.map((t) => [t.name, t]));
    const layers: DenseVariables[] = spec.layers.map((layer, l) => ({
      kernel: tf.variable(
        tf.tensor((byName.get(shapes[2 * l]?.name ?? '') as Tensor).data as Float32Array, [
          ...(shapes[2 * l]?.shape ?? []),
        ]),
      ),
      bias: tf.variable(
        tf.tensor((byName.get(shapes[2 * l + 1]?.name ?? '') as Tensor).data as Float32Array, [
          ...(shapes[2 * l + 1]?.shape ?? []),
        ]),
      ),
      activation: layer.activation,
    }));
    const variables = layers.flatMap((l) => [l.kernel, l.bias]);
    const sizes = variables.map((v) => v.size);
    const optimizer = tf.train.adam(learningRate);
    const expectedBatch = samplingRate * data.rows;
    const noiseStd = dp.noiseMultiplier * dp.clipNorm;
    const started = Date.now();
    try {
      for (let epoch = 1; epoch <= epochs; epoch++) {
        await yieldToEventLoop(); // lets progress output and signals through between epochs
        const epochStart = Date.now();
        let lossSum = 0;
        let seen = 0;
        for (let step = 0; step < stepsPerEpoch; step++) {
          const batch = poissonSample(data.rows, samplingRate, random);
          seen += batch.length;
          const noise = sizes.map(
            (n) => random.fillGaussian(new Float32Array(n), noiseStd) as Float32Array,
          );
          const loss = tf.tidy(() => {
            let sums: tf.Tensor[];
            let batchLoss = 0;
            if (batch.length > 0) {
              const x = tf.tensor2d(gatherRows(data.features, data.featureDim, batch), [
                batch.length,
                data.featureDim,
              ]);
              const y = tf
                .oneHot(tf.tensor1d(gatherLabels(data.labels, batch), 'int32'), data.classes.length)
                .toFloat() as tf.Tensor2D;
              const clipped = clippedGradientSum(layers, x, y, dp.clipNorm);
              sums = clipped.sums;
              batchLoss = clipped.lossSum.dataSync()[0] as number;
            } else {
              sums = variables.map((v) => tf.zerosLike(v));
            }
            const grads = variables.map((v, i) => {
              const g = tf.add(sums[i] as tf.Tensor, tf.tensor(noise[i] as Float32Array, v.shape));
              return { name: v.name, tensor: tf.div(g, expectedBatch) };
            });
            optimizer.applyGradients(grads);
            return batchLoss;
          });
          lossSum += loss;
        }
        if (options.onEpoch) {
          const validation = options.validation
            ? evaluateWith(spec, variables, options.validation)
            : undefined;
          options.onEpoch({
            epoch,
            epochs,
            trainLoss: seen > 0 ? lossSum / seen : NaN,
            ...(validation ? { validation } : {}),
            samplesPerSecond: (seen * 1000) / Math.max(1, Date.now() - epochStart),
            engine: tfjsEngineName(),
          });
        }
      }
      const tensors: Tensor[] = shapes.map((s, i) => ({
        name: s.name,
        dtype: 'F32',
        shape: [...s.shape],
        data: Float32Array.from((variables[i] as tf.Variable).dataSync()),
      }));
      return {
        tensors,
        privacyEvents: [
          {
            mechanism: 'subsampled-gaussian',
            samplingRate,
            noiseMultiplier: dp.noiseMultiplier,
            count: steps,
          },
        ],
        samplesPerSecond: (data.rows * epochs * 1000) / Math.max(1, Date.now() - started),
        engine: tfjsEngineName(),
      };
    } finally {
      tf.dispose(variables);
      optimizer.dispose();
    }
  };
}

/**
 * Poisson sampling: every row joins the batch independently with probability q. Implemented by
 * geometric skips, which is exact and costs O(batch) random draws instead of O(rows).
 */
export function poissonSample(rows: number, q: number, random: RandomSource): number[] {
  const batch: number[] = [];
  if (q >= 1) return Array.from({ length: rows }, (_, i) => i);
  const logKeep = Math.log1p(-q);
  for (let i = -1; ;) {
    const u = 1 - random.uniform(); // (0, 1]
    i += 1 + Math.floor(Math.log(u) / logKeep);
    if (i >= rows) return batch;
    batch.push(i);
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function gatherRows(features: Float32Array, d: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, k) => out.set(features.subarray(r * d, (r + 1) * d), k * d));
  return out;
}

function gatherLabels(labels: Int32Array, rows: readonly number[]): Int32Array {
  return Int32Array.from(rows, (r) => labels[r] as number);
}

function evaluateWith(
  spec: Parameters<LocalTrainer>[0],
  variables: tf.Variable[],
  data: Parameters<typeof evaluateModel>[1],
): ReturnType<typeof evaluateModel> {
  const model = buildModel(spec);
  try {
    const shapes = modelTensorShapes(spec);
    setModelTensors(
      model,
      spec,
      shapes.map((s, i) => ({
        name: s.name,
        dtype: 'F32',
        shape: [...s.shape],
        data: (variables[i] as tf.Variable).dataSync() as Float32Array,
      })),
    );
    return evaluateModel(model, data);
  } finally {
    model.dispose();
  }
}
