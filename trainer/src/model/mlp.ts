// The Dense network a model spec describes, as a TensorFlow.js LayersModel, and the mapping
// between its weights and the protocol's named tensors (modelTensorShapes order).
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import { checkTensorsMatchSpec, modelTensorShapes } from '@fedledger/protocol';
import { ModelError } from '../errors';
import { seededRandom } from '../random';

/** Builds the (uncompiled) LayersModel for `spec`; weights are whatever Keras initialises. */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  const model = tf.sequential({ name: spec.name.replace(/[^A-Za-z0-9_]/g, '_') });
  spec.layers.forEach((layer, i) => {
    model.add(
      tf.layers.dense({
        units: layer.units,
        activation: layer.activation,
        ...(i === 0 ? { inputShape: [spec.inputDim] } : {}),
      }),
    );
  });
  return model;
}

/**
 * Loads protocol tensors into the model, matched by name.
 * @throws {ModelError} when the tensors do not match the spec.
 */
export function setModelTensors(
  model: tf.LayersModel,
  spec: ModelSpec,
  tensors: readonly Tensor[],
): void {
  try {
    checkTensorsMatchSpec(tensors, spec);
  } catch (error) {
    throw new ModelError(`The model weights do not fit model "${spec.name}": ${String(error)}`, {
      cause: error,
    });
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const values = modelTensorShapes(spec).map((want) => {
    const got = byName.get(want.name) as Tensor;
    return tf.tensor(got.data, [...want.shape], 'float32');
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Reads the model's weights as protocol tensors (F32), in modelTensorShapes order. */
export function getModelTensors(model: tf.LayersModel, spec: ModelSpec): Tensor[] {
  const shapes = modelTensorShapes(spec);
  const weights = model.getWeights();
  if (weights.length !== shapes.length) {
    throw new ModelError(
      `The model has ${weights.length} weight tensors; the spec needs ${shapes.length}.`,
    );
  }
  return shapes.map((want, i) => ({
    name: want.name,
    dtype: 'F32',
    shape: [...want.shape],
    data: Float32Array.from((weights[i] as tf.Tensor).dataSync()),
  }));
}

/**
 * Seeded initial weights for `spec`: Glorot-uniform kernels, zero biases, the Keras defaults,
 * but reproducible from `seed` so every party can rebuild the same initial model.
 */
export function initialModelTensors(spec: ModelSpec, seed: number | string): Tensor[] {
  const random = seededRandom(seed);
  return modelTensorShapes(spec).map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0] + shape[1]));
      for (let i = 0; i < size; i++) data[i] = (2 * random.uniform() - 1) * limit;
    }
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

/** Element-wise a − b over matching protocol tensors (the update Δ = θ_local − θ_global). */
export function subtractTensors(a: readonly Tensor[], b: readonly Tensor[]): Tensor[] {
  const byName = new Map(b.map((t) => [t.name, t]));
  return a.map((t) => {
    const other = byName.get(t.name);
    if (!other || other.data.length !== t.data.length) {
      throw new ModelError(`Tensor "${t.name}" has no counterpart of the same size.`);
    }
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++)
      data[i] = (t.data[i] as number) - (other.data[i] as number);
    return { name: t.name, dtype: 'F32', shape: [...t.shape], data };
  });
}
