// A fused forward/backward pass and Adam step for Dense stacks on Float32Array: the fast path of
// local training. For the study's 19,011-parameter MLP at batch 32 the arithmetic per step is about
// 1.5 M multiply-adds, so a framework's per-op dispatch, tensor allocation and synchronisation
// cost more than the maths; here every buffer is allocated once, in one WebAssembly memory, and a
// step is a few calls into the SIMD loops of ./dense-kernels.ts.
//
// It computes exactly what the TensorFlow.js path computes (same loss, same Adam with ε = 1e-7,
// same per-example clipping), in the same order of operations per step, so the two agree to float
// rounding (trainer/test/fused-training.test.ts).
import type { Activation, ModelSpec, Tensor } from '@fedledger/protocol';
import { modelTensorShapes } from '@fedledger/protocol';
import { denseKernelsAvailable, newDenseKernels } from './dense-kernels';

/** Why the fused engine cannot train `spec`, or undefined when it can. */
export function fusedUnsupportedReason(spec: ModelSpec): string | undefined {
  const last = spec.layers[spec.layers.length - 1];
  if (!last || last.activation !== 'softmax') return 'the last layer is not softmax';
  const hidden = spec.layers.slice(0, -1).find((l) => l.activation === 'softmax');
  if (hidden) return 'a hidden layer uses softmax';
  if (!denseKernelsAvailable()) return 'this Node.js lacks WebAssembly SIMD';
  return undefined;
}

/** TensorFlow.js clips probabilities to [ε, 1 − ε] in categorical cross-entropy. */
const PROB_EPSILON = 1e-7;
const BETA1 = 0.9;
const BETA2 = 0.999;

/** How each example's loss gradient is weighted into the batch gradient. */
export type LossForm =
  /** Keras's categoricalCrossentropy on softmax outputs (clipped probabilities), batch mean. */
  | 'categorical-crossentropy'
  /** log-softmax cross-entropy with per-example clipping to `clipNorm` (DP-SGD), summed. */
  | 'clipped-sum';

/** What one step needs besides the batch. */
export interface StepForm {
  form: LossForm;
  /** Per-example clipping norm (clipped-sum only). */
  clipNorm?: number;
  /** The clipped sum plus {@link DenseEngine.noise} is divided by this (clipped-sum only). */
  divisor?: number;
}

/** The network's weights, Adam state and every per-step buffer, allocated once. */
export interface DenseEngine {
  readonly parameterCount: number;
  /**
   * Noise added to the clipped gradient sum in a clipped-sum step, in parameter order (kernel,
   * bias, layer by layer); the caller fills it before each step.
   */
  readonly noise: Float32Array;
  /**
   * One step on `count` rows of `x` (row-major) and `y` from row `offset` on; returns the sum of
   * the rows' losses. Batches larger than the engine's capacity are processed in chunks.
   */
  step(x: Float32Array, y: Int32Array, offset: number, count: number, form: StepForm): number;
  /** Class probabilities of `rows` rows of `x`, written to `out` (rows × classes). */
  predict(x: Float32Array, rows: number, out: Float32Array): void;
  /** The current weights as protocol tensors (copies). */
  tensors(): Tensor[];
}

interface Layer {
  nIn: number;
  nOut: number;
  activation: Activation;
  /** Byte offsets into the kernels' memory. */
  kernelAt: number;
  biasAt: number;
  gKernelAt: number;
  gBiasAt: number;
  outAt: number;
  deltaAt: number;
  /** Views of the same memory. */
  kernel: Float32Array;
  bias: Float32Array;
  /** Post-activation outputs for the chunk (capacity × nOut); the last layer holds logits. */
  out: Float32Array;
  /** ∂loss/∂pre-activation for the chunk (capacity × nOut). */
  delta: Float32Array;
}

/**
 * Builds an engine for `spec` starting from `initial` (matched by name) with Adam at
 * `learningRate`, for chunks of up to `capacity` rows. The caller has checked
 * {@link fusedUnsupportedReason}.
 */
export function newDenseEngine(
  spec: ModelSpec,
  initial: readonly Tensor[],
  learningRate: number,
  capacity: number,
): DenseEngine {
  const shapes = modelTensorShapes(spec);
  const byName = new Map(initial.map((t) => [t.name, t]));
  const cap = Math.max(1, capacity);
  const size = shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  // One memory for everything, in 16-byte aligned regions. The parameters are one flat vector
  // (Adam and the noise run over it at once); the layers' kernels and biases are slices of it.
  let bytes = 0;
  const region = (floats: number): number => {
    const at = bytes;
    bytes += Math.ceil((floats * 4) / 16) * 16;
    return at;
  };
  const paramsAt = region(size);
  const gradsAt = region(size);
  const mAt = region(size);
  const vAt = region(size);
  const noiseAt = region(size);
  const factorsAt = region(cap);
  const xAt = region(cap * spec.inputDim);
  let offset = 0;
  let nIn = spec.inputDim;
  const plan = spec.layers.map((l) => {
    const at = { kernelAt: paramsAt + offset * 4, gKernelAt: gradsAt + offset * 4 };
    offset += nIn * l.units;
    const bias = { biasAt: paramsAt + offset * 4, gBiasAt: gradsAt + offset * 4 };
    offset += l.units;
    const entry = { nIn, nOut: l.units, activation: l.activation, ...at, ...bias };
    nIn = l.units;
    return { ...entry, outAt: region(cap * l.units), deltaAt: region(cap * l.units) };
  });
  const { kernels, memory } = newDenseKernels(bytes);
  const f32 = (at: number, n: number): Float32Array => new Float32Array(memory.buffer, at, n);
  const grads = f32(gradsAt, size);
  const noise = f32(noiseAt, size);
  const factors = f32(factorsAt, cap);
  const xBuf = f32(xAt, cap * spec.inputDim);
  const layers: Layer[] = plan.map((p, i) => {
    const kernel = f32(p.kernelAt, p.nIn * p.nOut);
    const bias = f32(p.biasAt, p.nOut);
    kernel.set((byName.get(shapes[2 * i]?.name ?? '') as Tensor).data);
    bias.set((byName.get(shapes[2 * i + 1]?.name ?? '') as Tensor).data);
    const out = f32(p.outAt, cap * p.nOut);
    return { ...p, kernel, bias, out, delta: f32(p.deltaAt, cap * p.nOut) };
  });
  const last = layers[layers.length - 1] as Layer;
  let accBeta1 = BETA1;
  let accBeta2 = BETA2;

  const forward = (rows: number): void => {
    let inputAt = xAt;
    layers.forEach((layer, l) => {
      const { nIn: i, nOut: o } = layer;
      kernels.forward(inputAt, rows, i, layer.kernelAt, layer.biasAt, o, layer.outAt);
      if (l < layers.length - 1) activateInPlace(layer.out, rows * o, layer.activation);
      inputAt = layer.outAt;
    });
  };

  // δ of every hidden layer from the last layer's, unscaled: clipping scales whole examples, so
  // it is applied as a factor when the gradients are accumulated.
  const backward = (rows: number): void => {
    for (let l = layers.length - 1; l > 0; l--) {
      const layer = layers[l] as Layer;
      const below = layers[l - 1] as Layer;
      const relu = below.activation === 'relu' ? 1 : 0;
      const { nIn: i, nOut: o } = layer;
      kernels.backward(layer.deltaAt, rows, o, layer.kernelAt, i, below.deltaAt, below.outAt, relu);
      if (!relu) scaleByDerivative(below.delta, below.out, rows * i, below.activation);
    }
  };

  const accumulate = (rows: number): void => {
    let inputAt = xAt;
    for (const layer of layers) {
      const { nIn: i, nOut: o } = layer;
      kernels.accumulate(
        inputAt,
        rows,
        i,
        layer.deltaAt,
        o,
        factorsAt,
        layer.gKernelAt,
        layer.gBiasAt,
      );
      inputAt = layer.outAt;
    }
  };

  return {
    parameterCount: size,
    noise,
    step(x, y, rowOffset, count, form) {
      const d = spec.inputDim;
      grads.fill(0);
      let lossSum = 0;
      for (let start = 0; start < count; start += cap) {
        const n = Math.min(cap, count - start);
        const first = rowOffset + start;
        xBuf.set(x.subarray(first * d, (first + n) * d));
        forward(n);
        if (form.form === 'clipped-sum') {
          lossSum += logSoftmaxDelta(last, y, first, n);
          backward(n);
          clipFactors(layers, xBuf, n, form.clipNorm ?? 1, factors);
        } else {
          lossSum += clippedProbabilityDelta(last, y, first, n);
          backward(n);
          factors.fill(1 / count, 0, n);
        }
        accumulate(n);
      }
      if (form.form === 'clipped-sum') {
        // TensorFlow.js adds the noise, then divides (tf.div), in float32; so does the kernel.
        kernels.addNoise(gradsAt, noiseAt, size, form.divisor ?? 1);
      }
      // TensorFlow.js keeps β^t as float32 variables multiplied each step; so does this.
      kernels.adam(paramsAt, gradsAt, mAt, vAt, size, learningRate, 1 - accBeta1, 1 - accBeta2);
      accBeta1 = Math.fround(accBeta1 * BETA1);
      accBeta2 = Math.fround(accBeta2 * BETA2);
      return lossSum;
    },
    predict(x, rows, out) {
      const d = spec.inputDim;
      const classes = last.nOut;
      for (let start = 0; start < rows; start += cap) {
        const n = Math.min(cap, rows - start);
        xBuf.set(x.subarray(start * d, (start + n) * d));
        forward(n);
        for (let r = 0; r < n; r++) {
          softmaxRow(last.out, r * classes, classes, out, (start + r) * classes);
        }
      }
    },
    tensors() {
      return layers.flatMap((layer, i) => {
        const k = shapes[2 * i] as (typeof shapes)[number];
        const b = shapes[2 * i + 1] as (typeof shapes)[number];
        return [
          { name: k.name, dtype: 'F32', shape: [...k.shape], data: layer.kernel.slice() },
          { name: b.name, dtype: 'F32', shape: [...b.shape], data: layer.bias.slice() },
        ] satisfies Tensor[];
      });
    },
  };
}

function activateInPlace(values: Float32Array, n: number, activation: Activation): void {
  switch (activation) {
    case 'relu':
      for (let i = 0; i < n; i++) if ((values[i] as number) < 0) values[i] = 0;
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) values[i] = 1 / (1 + Math.exp(-(values[i] as number)));
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) values[i] = Math.tanh(values[i] as number);
      return;
    case 'linear':
    case 'softmax':
      return;
  }
}

/** δ ⊙= f′, with f′ from the activation's output (sigmoid, tanh; linear is 1). */
function scaleByDerivative(
  delta: Float32Array,
  out: Float32Array,
  n: number,
  activation: Activation,
): void {
  if (activation === 'sigmoid') {
    for (let i = 0; i < n; i++) {
      const o = out[i] as number;
      delta[i] = (delta[i] as number) * o * (1 - o);
    }
  } else if (activation === 'tanh') {
    for (let i = 0; i < n; i++) delta[i] = (delta[i] as number) * (1 - (out[i] as number) ** 2);
  }
}

function softmaxRow(
  logits: Float32Array,
  at: number,
  n: number,
  out: Float32Array,
  outAt: number,
): void {
  let max = -Infinity;
  for (let c = 0; c < n; c++) max = Math.max(max, logits[at + c] as number);
  let sum = 0;
  for (let c = 0; c < n; c++) sum += Math.exp((logits[at + c] as number) - max);
  for (let c = 0; c < n; c++) out[outAt + c] = Math.exp((logits[at + c] as number) - max) / sum;
}

/**
 * Keras's categoricalCrossentropy on softmax outputs: −log(clip(p_y, ε, 1 − ε)). Its gradient
 * w.r.t. the logits is p − y, and zero where the clip is active. Writes δ, returns the loss sum.
 */
function clippedProbabilityDelta(
  last: Layer,
  y: Int32Array,
  rowOffset: number,
  rows: number,
): number {
  const n = last.nOut;
  const { out, delta } = last;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    softmaxRow(out, at, n, delta, at);
    const label = y[rowOffset + r] as number;
    const p = delta[at + label] as number;
    const clipped = Math.min(Math.max(p, PROB_EPSILON), Math.fround(1 - PROB_EPSILON));
    loss -= Math.log(clipped);
    if (clipped !== p) {
      delta.fill(0, at, at + n);
    } else {
      delta[at + label] = p - 1;
    }
  }
  return loss;
}

/** log-softmax cross-entropy, as the DP-SGD path computes it: δ = exp(log p) − y. */
function logSoftmaxDelta(last: Layer, y: Int32Array, rowOffset: number, rows: number): number {
  const n = last.nOut;
  const { out, delta } = last;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    let max = -Infinity;
    for (let c = 0; c < n; c++) max = Math.max(max, out[at + c] as number);
    let sum = 0;
    for (let c = 0; c < n; c++) sum += Math.exp((out[at + c] as number) - max);
    const logSum = Math.log(sum);
    const label = y[rowOffset + r] as number;
    for (let c = 0; c < n; c++) {
      const logP = (out[at + c] as number) - max - logSum;
      delta[at + c] = Math.exp(logP) - (c === label ? 1 : 0);
      if (c === label) loss -= logP;
    }
  }
  return loss;
}

/**
 * Per-example clipping factors min(1, C / (‖g_i‖ + 1e-6)) with ‖g_i‖² = Σ_l (‖a_l‖² + 1)·‖δ_l‖²,
 * the closed form of ./dp/per-example-gradients.ts.
 */
function clipFactors(
  layers: readonly Layer[],
  x: Float32Array,
  rows: number,
  clipNorm: number,
  factors: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    let squared = 0;
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l] as Layer;
      const input = l === 0 ? x : (layers[l - 1] as Layer).out;
      const a0 = r * layer.nIn;
      let inSq = 0;
      for (let i = 0; i < layer.nIn; i++) inSq += (input[a0 + i] as number) ** 2;
      let deltaSq = 0;
      const d0 = r * layer.nOut;
      for (let j = 0; j < layer.nOut; j++) deltaSq += (layer.delta[d0 + j] as number) ** 2;
      squared += (inSq + 1) * deltaSq;
    }
    factors[r] = Math.min(clipNorm / (Math.sqrt(squared) + 1e-6), 1);
  }
}
