// Model specifications: the Dense architectures fedledger trains, their tensor names and shapes.
import { canonicalJson } from './canonical-json';
import { sha256Hex } from './hash';

export type Activation = 'relu' | 'softmax' | 'linear' | 'sigmoid' | 'tanh';

/** One fully connected layer. */
export interface DenseLayerSpec {
  units: number;
  activation: Activation;
}

/** A feed-forward network of Dense layers; the last layer's units are the output classes. */
export interface ModelSpec {
  name: string;
  inputDim: number;
  layers: DenseLayerSpec[];
}

/** Name and shape of one weight tensor of a model. */
export interface TensorShape {
  name: string;
  shape: [number] | [number, number];
}

const ACTIVATIONS: readonly Activation[] = ['relu', 'softmax', 'linear', 'sigmoid', 'tanh'];

/** The reference study's MLP: Dense 128 → 64 → 32 (ReLU) → softmax over `classes`. */
export function referenceModelSpec(inputDim: number, classes: number): ModelSpec {
  return validateModelSpec({
    name: 'reference-mlp',
    inputDim,
    layers: [
      { units: 128, activation: 'relu' },
      { units: 64, activation: 'relu' },
      { units: 32, activation: 'relu' },
      { units: classes, activation: 'softmax' },
    ],
  });
}

/**
 * Checks that `value` is a usable model spec and returns it typed.
 * @throws {TypeError} with a sentence naming the field to fix.
 */
export function validateModelSpec(value: unknown): ModelSpec {
  if (typeof value !== 'object' || value === null)
    throw new TypeError('A model spec must be an object.');
  const spec = value as Record<string, unknown>;
  if (typeof spec.name !== 'string' || spec.name.length === 0) {
    throw new TypeError('A model spec needs a non-empty "name".');
  }
  if (!isPositiveInteger(spec.inputDim)) {
    throw new TypeError('A model spec needs "inputDim", a positive integer.');
  }
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
    throw new TypeError('A model spec needs "layers", a non-empty array of Dense layers.');
  }
  spec.layers.forEach((layer: unknown, i) => {
    const l = layer as Record<string, unknown> | null;
    if (!l || !isPositiveInteger(l.units)) {
      throw new TypeError(`Layer ${i} of the model spec needs "units", a positive integer.`);
    }
    if (!ACTIVATIONS.includes(l.activation as Activation)) {
      throw new TypeError(
        `Layer ${i} has activation ${JSON.stringify(l.activation)}; use one of ${ACTIVATIONS.join(', ')}.`,
      );
    }
  });
  return value as ModelSpec;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Name of layer `index`'s kernel or bias; zero-padded so name order is layer order. */
export function weightName(index: number, part: 'kernel' | 'bias'): string {
  return `dense${String(index).padStart(2, '0')}.${part}`;
}

/** The weight tensors of a model spec, in layer order: kernel [in, units], then bias [units]. */
export function modelTensorShapes(spec: ModelSpec): TensorShape[] {
  const shapes: TensorShape[] = [];
  let inputs = spec.inputDim;
  spec.layers.forEach((layer, i) => {
    shapes.push({ name: weightName(i, 'kernel'), shape: [inputs, layer.units] });
    shapes.push({ name: weightName(i, 'bias'), shape: [layer.units] });
    inputs = layer.units;
  });
  return shapes;
}

/** Total number of trainable parameters of a model spec. */
export function parameterCount(spec: ModelSpec): number {
  return modelTensorShapes(spec).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** SHA-256 of the spec's canonical JSON: identifies the architecture on the ledger. */
export function modelSpecHash(spec: ModelSpec): string {
  return sha256Hex(Buffer.from(canonicalJson(spec), 'utf8'));
}
