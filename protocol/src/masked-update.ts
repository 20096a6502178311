// How a masked (secure-aggregation) update travels in the fedledger container: one tensor of P
// unsigned 32-bit words (stored as I32, the same bits), the model's parameters in spec order.
import type { Container } from './container';
import { ShapeMismatchError } from './errors';
import type { Tensor } from './safetensors';

/** The name of the one tensor of a masked update. */
export const MASKED_TENSOR = 'secagg.masked';

/** The tensor holding a masked vector (the words are copied, not shared). */
export function maskedTensor(words: Uint32Array): Tensor {
  return {
    name: MASKED_TENSOR,
    dtype: 'I32',
    shape: [words.length],
    data: new Int32Array(words.buffer.slice(words.byteOffset, words.byteOffset + words.byteLength)),
  };
}

/**
 * The masked vector of a container holding exactly one I32 tensor of `parameters` words.
 * @throws {ShapeMismatchError} otherwise.
 */
export function maskedWords(
  container: Pick<Container, 'tensors'>,
  parameters: number,
): Uint32Array {
  const [tensor, ...more] = container.tensors;
  if (
    !tensor ||
    more.length > 0 ||
    tensor.name !== MASKED_TENSOR ||
    tensor.dtype !== 'I32' ||
    tensor.shape.length !== 1 ||
    tensor.shape[0] !== parameters
  ) {
    throw new ShapeMismatchError(
      `a masked update holds one I32 tensor "${MASKED_TENSOR}" of ${parameters} words`,
    );
  }
  const data = tensor.data;
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}
