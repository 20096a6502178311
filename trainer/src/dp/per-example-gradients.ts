// Per-example gradient clipping for Dense networks without materialising per-example gradients.
//
// For a Dense layer z = a·W + b, example i's gradient is the outer product a_i ⊗ δ_i (δ_i the
// gradient of its loss w.r.t. z_i), whose Frobenius norm is ‖a_i‖·‖δ_i‖ (I. Goodfellow,
// "Efficient Per-Example Gradient Computations", arXiv:1510.01799, 2015). So one batched
// forward/backward pass gives every example's full gradient norm, and the sum of clipped gradients
// is Aᵀ·(c ⊙ Δ) with c_i = min(1, C/‖g_i‖), exactly what per-example clipping would produce.
import * as tf from '@tensorflow/tfjs';
import type { Activation } from '@fedledger/protocol';
import { ConfigError } from '../errors';

/** One Dense layer's trainable variables and activation. */
export interface DenseVariables {
  kernel: tf.Variable;
  bias: tf.Variable;
  activation: Activation;
}

/** Output of {@link clippedGradientSum}; tensors belong to the caller (dispose or use in tidy). */
export interface ClippedGradients {
  /** Σ_i clip(g_i) per variable, in layer order: kernel, bias, kernel, bias, … */
  sums: tf.Tensor[];
  /** ‖g_i‖ before clipping, per example. */
  norms: tf.Tensor1D;
  /** Sum of the examples' cross-entropy losses. */
  lossSum: tf.Scalar;
}

/**
 * Computes per-example gradient norms of the softmax cross-entropy loss and the sum of the
 * per-example gradients clipped to L2 norm `clipNorm`.
 * @throws {ConfigError} when the last layer is not softmax (DP-SGD here trains classifiers).
 */
export function clippedGradientSum(
  layers: readonly DenseVariables[],
  x: tf.Tensor2D,
  yOneHot: tf.Tensor2D,
  clipNorm: number,
): ClippedGradients {
  const last = layers[layers.length - 1];
  if (!last || last.activation !== 'softmax') {
    throw new ConfigError('DP-SGD needs a model whose last layer is softmax.');
  }
  return tf.tidy(() => {
    const inputs: tf.Tensor2D[] = [x];
    const outputs: tf.Tensor2D[] = [];
    let a: tf.Tensor2D = x;
    layers.forEach((layer, l) => {
      const z = tf.add<tf.Tensor2D>(tf.matMul(a, layer.kernel), layer.bias);
      a = l === layers.length - 1 ? z : activate(z, layer.activation);
      outputs.push(a);
      if (l < layers.length - 1) inputs.push(a);
    });
    const logits = outputs[outputs.length - 1] as tf.Tensor2D;
    const logProbs = tf.logSoftmax(logits);
    const lossSum = tf.neg(tf.sum(tf.mul(yOneHot, logProbs))) as tf.Scalar;
    // δ at each layer's pre-activation, last layer first.
    const deltas: tf.Tensor2D[] = new Array<tf.Tensor2D>(layers.length);
    let delta = tf.sub<tf.Tensor2D>(tf.exp(logProbs), yOneHot);
    for (let l = layers.length - 1; l >= 0; l--) {
      deltas[l] = delta;
      if (l > 0) {
        const back = tf.matMul(delta, (layers[l] as DenseVariables).kernel, false, true);
        delta = tf.mul<tf.Tensor2D>(
          back,
          derivative(outputs[l - 1] as tf.Tensor2D, (layers[l - 1] as DenseVariables).activation),
        );
      }
    }
    let squared: tf.Tensor = tf.zeros([x.shape[0]]);
    layers.forEach((_, l) => {
      const inSq = tf.sum(tf.square(inputs[l] as tf.Tensor2D), 1);
      const deltaSq = tf.sum(tf.square(deltas[l] as tf.Tensor2D), 1);
      squared = tf.add(squared, tf.mul(tf.add(inSq, 1), deltaSq));
    });
    const norms = tf.sqrt(squared) as tf.Tensor1D;
    // Opacus's factor: C / (‖g‖ + 1e-6), capped at 1.
    const factors = tf.minimum(tf.div(clipNorm, tf.add(norms, 1e-6)), 1).expandDims(1);
    const sums: tf.Tensor[] = [];
    layers.forEach((_, l) => {
      const scaled = tf.mul<tf.Tensor2D>(deltas[l] as tf.Tensor2D, factors);
      sums.push(tf.matMul(inputs[l] as tf.Tensor2D, scaled, true, false), tf.sum(scaled, 0));
    });
    return { sums, norms, lossSum };
  });
}

function activate(z: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.relu(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'tanh':
      return tf.tanh(z);
    case 'linear':
      return z;
    case 'softmax':
      return tf.softmax(z);
  }
}

/** d act / d z expressed through the activation's output, for hidden layers. */
function derivative(out: tf.Tensor2D, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.cast(tf.greater(out, 0), 'float32');
    case 'sigmoid':
      return tf.mul(out, tf.sub(1, out));
    case 'tanh':
      return tf.sub(1, tf.square(out));
    case 'linear':
      return tf.onesLike(out);
    case 'softmax':
      throw new ConfigError('A softmax activation is supported only on the last layer for DP-SGD.');
  }
}
