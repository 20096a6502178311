// Plain local training: the reference recipe (Adam, categorical cross-entropy, mini-batches of 32)
// through TensorFlow.js's LayersModel.fit.
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { buildModel, getModelTensors, setModelTensors } from '../model/mlp';
import { checkSpecFitsData, evaluateModel } from './evaluate';
import type { LocalTrainer } from './trainer';
import { withTrainingDefaults } from './trainer';

/** Trains without any privacy mechanism. */
export const trainPlain: LocalTrainer = async (spec, initial, data, options) => {
  const { epochs, batchSize, learningRate } = withTrainingDefaults(options);
  if (!Number.isSafeInteger(epochs) || epochs < 1)
    throw new ConfigError(`Epochs must be a positive integer, not ${epochs}.`);
  checkSpecFitsData(spec, data);
  const model = buildModel(spec);
  setModelTensors(model, spec, initial);
  const optimizer = tf.train.adam(learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const x = tf.tensor2d(data.features, [data.rows, data.featureDim]);
  const y = tf.tidy(() =>
    tf.oneHot(tf.tensor1d(data.labels, 'int32'), data.classes.length).toFloat(),
  );
  let started = Date.now();
  let busyMs = 0;
  try {
    await model.fit(x, y, {
      epochs,
      batchSize,
      shuffle: true,
      verbose: 0,
      callbacks: {
        onEpochBegin: () => {
          started = Date.now();
        },
        onEpochEnd: (epoch, logs) => {
          const elapsed = Math.max(1, Date.now() - started);
          busyMs += elapsed;
          options.onEpoch?.({
            epoch: epoch + 1,
            epochs,
            trainLoss: logs?.loss ?? NaN,
            ...(options.validation ? { validation: evaluateModel(model, options.validation) } : {}),
            samplesPerSecond: (data.rows * 1000) / elapsed,
          });
        },
      },
    });
    return {
      tensors: getModelTensors(model, spec),
      privacyEvents: [],
      samplesPerSecond: (data.rows * epochs * 1000) / Math.max(1, busyMs),
    };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  }
};
