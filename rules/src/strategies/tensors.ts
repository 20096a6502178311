// Flat views of a model's tensors in spec order, and the model update step θ' = θ + Δ.
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import { modelTensorShapes } from '@fedledger/protocol';

/** Concatenates the F32 tensors of a container in model-spec order (call after a spec check). */
export function flattenTensors(tensors: readonly Tensor[], spec: ModelSpec): Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const shapes = modelTensorShapes(spec);
  const total = shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const shape of shapes) {
    const tensor = byName.get(shape.name);
    if (!tensor || tensor.dtype !== 'F32') throw new RangeError(`tensor ${shape.name} is missing`);
    out.set(tensor.data, offset);
    offset += tensor.data.length;
  }
  return out;
}

/** Splits a flat vector back into named F32 tensors of the spec's shapes. */
export function unflattenTensors(flat: Float32Array, spec: ModelSpec): Tensor[] {
  const tensors: Tensor[] = [];
  let offset = 0;
  for (const { name, shape } of modelTensorShapes(spec)) {
    const count = shape.reduce((a, b) => a * b, 1);
    tensors.push({
      name,
      dtype: 'F32',
      shape: [...shape],
      data: flat.slice(offset, offset + count),
    });
    offset += count;
  }
  return tensors;
}

/** L2 norm of a vector, accumulated in float64. */
export function l2Norm(vector: Float32Array | Float64Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += (vector[i] as number) * (vector[i] as number);
  return Math.sqrt(sum);
}

/**
 * θ' = θ + Δ per element: the float64 sum rounded once to float32 (the container's dtype).
 * @throws {RangeError} when the lengths differ.
 */
export function applyDelta(global: Float32Array, delta: Float64Array): Float32Array {
  if (global.length !== delta.length) {
    throw new RangeError(`model has ${global.length} parameters but Δ has ${delta.length}`);
  }
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = (global[i] as number) + (delta[i] as number);
  return out;
}
