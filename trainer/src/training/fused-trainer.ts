// Plain training and DP-SGD on the fused Dense engine: the same recipes as ./plain-trainer.ts and
// ../dp/dp-sgd.ts (same batches, same noise draws, same privacy events), without TensorFlow.js.
import type { Dataset } from '../data/dataset';
import type { DpSgdOptions } from '../dp/dp-sgd';
import { dpSgdSchedule } from '../dp/dp-sgd';
import { classificationMetrics } from '../model/metrics';
import { cryptoRandom } from '../random';
import type { PoissonBatch } from './batches';
import { newEpochBatches, samplePoissonInto } from './batches';
import type { DenseEngine } from './dense-engine';
import { newDenseEngine } from './dense-engine';
import type { LocalTrainer, TrainingOptions } from './trainer';
import { withTrainingDefaults } from './trainer';

/** Plain Adam training on the fused engine (the caller has checked the spec is covered). */
export const trainPlainFused: LocalTrainer = async (spec, initial, data, options) => {
  const { epochs, batchSize, learningRate } = withTrainingDefaults(options);
  const engine = newDenseEngine(spec, initial, learningRate, batchSize);
  const batches = newEpochBatches(data, options.random ?? cryptoRandom());
  const form = { form: 'categorical-crossentropy' } as const;
  let busyMs = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await yieldToEventLoop(); // lets progress output and signals through between epochs
    const started = performance.now();
    batches.shuffle();
    let lossSum = 0;
    for (let start = 0; start < data.rows; start += batchSize) {
      const n = Math.min(batchSize, data.rows - start);
      lossSum += engine.step(batches.features, batches.labels, start, n, form);
    }
    const elapsed = Math.max(1e-3, performance.now() - started);
    busyMs += elapsed;
    report(options, engine, epoch, epochs, lossSum, data.rows, elapsed);
  }
  return {
    tensors: engine.tensors(),
    privacyEvents: [],
    samplesPerSecond: (data.rows * epochs * 1000) / Math.max(1e-3, busyMs),
    engine: 'fused',
  };
};

/** DP-SGD on the fused engine: Poisson batches, per-example clipping, σC noise, Adam. */
export function dpSgdTrainerFused(dp: Readonly<DpSgdOptions>): LocalTrainer {
  return async (spec, initial, data, options) => {
    const { epochs, batchSize, learningRate } = withTrainingDefaults(options);
    const { samplingRate, steps } = dpSgdSchedule(data.rows, options);
    const stepsPerEpoch = steps / epochs;
    const random = dp.random ?? cryptoRandom();
    const engine = newDenseEngine(spec, initial, learningRate, 2 * batchSize);
    const noiseStd = dp.noiseMultiplier * dp.clipNorm;
    const form = {
      form: 'clipped-sum',
      clipNorm: dp.clipNorm,
      divisor: samplingRate * data.rows,
    } as const;
    const batch: PoissonBatch = {
      features: new Float32Array(2 * batchSize * data.featureDim),
      labels: new Int32Array(2 * batchSize),
      rows: 0,
    };
    const started = performance.now();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      await yieldToEventLoop();
      const epochStart = performance.now();
      let lossSum = 0;
      let seen = 0;
      for (let step = 0; step < stepsPerEpoch; step++) {
        // Same order of draws as the TensorFlow.js path: the batch, then the noise, variable by
        // variable in layer order (one flat buffer here, filled in that order).
        samplePoissonInto(data, samplingRate, random, batch);
        random.fillGaussian(engine.noise, noiseStd);
        seen += batch.rows;
        lossSum += engine.step(batch.features, batch.labels, 0, batch.rows, form);
      }
      report(options, engine, epoch, epochs, lossSum, seen, performance.now() - epochStart);
    }
    return {
      tensors: engine.tensors(),
      privacyEvents: [
        {
          mechanism: 'subsampled-gaussian',
          samplingRate,
          noiseMultiplier: dp.noiseMultiplier,
          count: steps,
        },
      ],
      samplesPerSecond: (data.rows * epochs * 1000) / Math.max(1e-3, performance.now() - started),
      engine: 'fused',
    };
  };
}

function report(
  options: Readonly<TrainingOptions>,
  engine: DenseEngine,
  epoch: number,
  epochs: number,
  lossSum: number,
  seen: number,
  elapsedMs: number,
): void {
  if (!options.onEpoch) return;
  const validation = options.validation ? evaluateEngine(engine, options.validation) : undefined;
  options.onEpoch({
    epoch,
    epochs,
    trainLoss: seen > 0 ? lossSum / seen : NaN,
    ...(validation ? { validation } : {}),
    samplesPerSecond: (seen * 1000) / Math.max(1e-3, elapsedMs),
    engine: 'fused',
  });
}

function evaluateEngine(
  engine: DenseEngine,
  data: Dataset,
): ReturnType<typeof classificationMetrics> {
  const probabilities = new Float32Array(data.rows * data.classes.length);
  engine.predict(data.features, data.rows, probabilities);
  return classificationMetrics(probabilities, data.labels, data.classes.length);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
