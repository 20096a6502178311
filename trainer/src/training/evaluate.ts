// Evaluation of a model on a prepared split: what the trainer reports after local training, and
// what the gateway or a demo can call with any weights (e.g. a new global model).
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import type { Dataset } from '../data/dataset';
import { ModelError } from '../errors';
import type { ClassificationMetrics } from '../model/metrics';
import { classificationMetrics } from '../model/metrics';
import { buildModel, setModelTensors } from '../model/mlp';

const EVAL_BATCH = 4096;

/** Class probabilities of `data` under `model`, row-major. */
export function predictProbabilities(model: tf.LayersModel, data: Dataset): Float32Array {
  const classes = data.classes.length;
  const out = new Float32Array(data.rows * classes);
  for (let start = 0; start < data.rows; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, data.rows - start);
    const probs = tf.tidy(() => {
      const x = tf.tensor2d(
        data.features.subarray(start * data.featureDim, (start + n) * data.featureDim),
        [n, data.featureDim],
      );
      return model.predict(x) as tf.Tensor;
    });
    out.set(probs.dataSync(), start * classes);
    probs.dispose();
  }
  return out;
}

/** Metrics of `model` on `data`. */
export function evaluateModel(model: tf.LayersModel, data: Dataset): ClassificationMetrics {
  return classificationMetrics(predictProbabilities(model, data), data.labels, data.classes.length);
}

/**
 * Metrics of the weights `tensors` (a model spec's tensors, e.g. a global model) on `data`.
 * @throws {ModelError} when the spec does not fit the data or the tensors.
 */
export function evaluateTensors(
  spec: ModelSpec,
  tensors: readonly Tensor[],
  data: Dataset,
): ClassificationMetrics {
  checkSpecFitsData(spec, data);
  const model = buildModel(spec);
  try {
    setModelTensors(model, spec, tensors);
    return evaluateModel(model, data);
  } finally {
    model.dispose();
  }
}

/** @throws {ModelError} when the spec's input or output width does not match the data. */
export function checkSpecFitsData(
  spec: ModelSpec,
  data: Pick<Dataset, 'featureDim' | 'classes'>,
): void {
  const outputs = spec.layers[spec.layers.length - 1]?.units;
  if (spec.inputDim !== data.featureDim || outputs !== data.classes.length) {
    throw new ModelError(
      `Model "${spec.name}" takes ${spec.inputDim} inputs and has ${outputs ?? 0} outputs; ` +
        `the data has ${data.featureDim} features and ${data.classes.length} classes.`,
    );
  }
}
