// The hospital's side of encrypted aggregation: turn a local update into a CKKS container for
// submission, and turn the decrypted encrypted aggregate into the next global model.
//
// Tensors are flattened in the model spec's order (layer by layer, kernel then bias, row-major),
// which is the order every hospital of a run shares through the spec hash.
import type { Container, ModelSpec, Tensor } from '@fedledger/protocol';
import { checkTensorsMatchSpec, modelSpecHash, modelTensorShapes } from '@fedledger/protocol';
import type { CkksParams } from '@fedledger/protocol/ckks';
import { decryptAggregate, encryptUpdate, readEncryptedContainer } from '@fedledger/protocol/ckks';
import { ModelError } from '../errors';
import { addTensors } from '../training/local-round';

/**
 * The model's tensors as one vector in spec order.
 * @throws {ShapeMismatchError} when the tensors do not match `spec`.
 */
export function flattenTensors(tensors: readonly Tensor[], spec: ModelSpec): Float32Array {
  checkTensorsMatchSpec(tensors, spec);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const shapes = modelTensorShapes(spec);
  const flat = new Float32Array(shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
  let offset = 0;
  for (const { name } of shapes) {
    const data = (byName.get(name) as Tensor).data;
    flat.set(data, offset);
    offset += data.length;
  }
  return flat;
}

/**
 * Cuts a vector in spec order back into the model's float32 tensors.
 * @throws {ModelError} when the vector's length is not the model's parameter count.
 */
export function unflattenTensors(flat: ArrayLike<number>, spec: ModelSpec): Tensor[] {
  const shapes = modelTensorShapes(spec);
  const total = shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  if (flat.length !== total) {
    throw new ModelError(
      `The vector has ${flat.length} values; model "${spec.name}" has ${total} parameters.`,
    );
  }
  let offset = 0;
  return shapes.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = flat[offset + i] as number;
    offset += size;
    return { name, dtype: 'F32' as const, shape: [...shape], data };
  });
}

/** What {@link encryptLocalUpdate} needs. */
export interface EncryptLocalUpdateInput {
  params: Readonly<CkksParams>;
  secretKey: Uint8Array;
  spec: ModelSpec;
  /** The float32 update a local round produced (its metadata and DP accounting are kept). */
  update: Container;
}

/**
 * Encrypts a float32 update container into a CKKS one with the same metadata and extra fields.
 * @throws {ModelError} when the update is not a float32 update of `spec`.
 */
export async function encryptLocalUpdate(
  input: Readonly<EncryptLocalUpdateInput>,
): Promise<Uint8Array> {
  const { update, spec } = input;
  if (update.metadata.encoding !== 'float32' || update.metadata.kind !== 'update') {
    throw new ModelError('Only a float32 update container can be encrypted.');
  }
  if (update.metadata.modelSpecHash !== modelSpecHash(spec)) {
    throw new ModelError('The update was trained for another model spec.');
  }
  const { encoding: _encoding, ...metadata } = update.metadata;
  return encryptUpdate({
    params: input.params,
    secretKey: input.secretKey,
    flat: flattenTensors(update.tensors, spec),
    metadata,
    extra: update.extra,
  });
}

/** What {@link applyEncryptedAggregate} needs. */
export interface ApplyEncryptedAggregateInput {
  params: Readonly<CkksParams>;
  secretKey: Uint8Array;
  spec: ModelSpec;
  /** θ_global of the round the aggregate was computed in. */
  globalTensors: readonly Tensor[];
  /** The encrypted aggregate's container bytes, as the gateway serves them. */
  aggregate: Uint8Array;
}

/**
 * Decrypts the encrypted mean update and adds it to the global model: θ_next = θ_global + mean Δ.
 * @throws {ModelError} when the aggregate is for another model spec or size;
 * {CkksError} when it cannot be decrypted with this key.
 */
export async function applyEncryptedAggregate(
  input: Readonly<ApplyEncryptedAggregateInput>,
): Promise<Tensor[]> {
  const { spec, params } = input;
  const container = readEncryptedContainer(input.aggregate, params, 'the aggregate');
  if (container.metadata.modelSpecHash !== modelSpecHash(spec)) {
    throw new ModelError(
      `The aggregate is for model spec ${container.metadata.modelSpecHash}, not ${modelSpecHash(spec)}.`,
    );
  }
  const mean = await decryptAggregate(params, input.secretKey, input.aggregate);
  return addTensors(input.globalTensors, unflattenTensors(mean, spec));
}
