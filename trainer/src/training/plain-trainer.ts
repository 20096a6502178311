// Plain local training: the reference recipe (Adam, categorical cross-entropy, mini-batches of 32),
// on the fused Dense engine or through TensorFlow.js's LayersModel.fit (see ./engine.ts).
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { buildModel, getModelTensors, setModelTensors } from '../model/mlp';
import { cryptoRandom } from '../random';
import { newEpochBatches } from './batches';
import { chooseEngine, tfjsEngineName } from './engine';
import { checkSpecFitsData, evaluateModel } from './evaluate';
import { trainPlainFused } from './fused-trainer';
import type { LocalTrainer } from './trainer';
import { withTrainingDefaults } from './trainer';

/**
 * Trains without any privacy mechanism, on the engine `options.engine` selects.
 * @throws {ConfigError} for a non-positive epoch count or an engine that cannot train the spec.
 */
export const trainPlain: LocalTrainer = async (spec, initial, data, options) => {
  const { epochs } = withTrainingDefaults(options);
  if (!Number.isSafeInteger(epochs) || epochs < 1)
    throw new ConfigError(`Epochs must be a positive integer, not ${epochs}.`);
  checkSpecFitsData(spec, data);
  return chooseEngine(spec, options.engine) === 'fused'
    ? trainPlainFused(spec, initial, data, options)
    : trainPlainTfjs(spec, initial, data, options);
};

/**
 * Plain training through LayersModel.fit. The rows are shuffled here, once per epoch (the same
 * order the fused engine would use for the same random source), and fit reads them in order.
 */
export const trainPlainTfjs: LocalTrainer = async (spec, initial, data, options) => {
  const { epochs, batchSize, learningRate } = withTrainingDefaults(options);
  checkSpecFitsData(spec, data);
  const model = buildModel(spec);
  setModelTensors(model, spec, initial);
  const optimizer = tf.train.adam(learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const batches = newEpochBatches(data, options.random ?? cryptoRandom());
  let busyMs = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = Date.now();
      batches.shuffle();
      const x = tf.tensor2d(batches.features, [data.rows, data.featureDim]);
      const y = tf.tidy(() =>
        tf.oneHot(tf.tensor1d(batches.labels, 'int32'), data.classes.length).toFloat(),
      );
      let loss = NaN;
      try {
        const history = await model.fit(x, y, {
          epochs: 1,
          batchSize,
          shuffle: false,
          verbose: 0,
        });
        loss = Number(history.history.loss?.[0] ?? NaN);
      } finally {
        tf.dispose([x, y]);
      }
      const elapsed = Math.max(1, Date.now() - started);
      busyMs += elapsed;
      options.onEpoch?.({
        epoch,
        epochs,
        trainLoss: loss,
        ...(options.validation ? { validation: evaluateModel(model, options.validation) } : {}),
        samplesPerSecond: (data.rows * 1000) / elapsed,
        engine: tfjsEngineName(),
      });
    }
    return {
      tensors: getModelTensors(model, spec),
      privacyEvents: [],
      samplesPerSecond: (data.rows * epochs * 1000) / Math.max(1, busyMs),
      engine: tfjsEngineName(),
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
};
