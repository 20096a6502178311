// How CKKS ciphertexts sit inside a fedledger container, and the strict reader for that layout.
//
// A flat vector of P parameters is cut into C = ceil(P / slots) chunks of `slots` values (the last
// one padded with zeros). Chunk i is one SEAL ciphertext, serialised by SEAL and stored as the U8
// tensor `ckks.<i as 5 digits>`, so name order is chunk order. The container's metadata carries
// encoding "ckks" and these extra keys:
//
//   ckks.layout           "fedledger-ckks/1" (this layout)
//   ckks.params_hash      ckksParamsHash of the run's CkksParams
//   ckks.key_fingerprint  fingerprint of the secret key the ciphertexts are under
//   ckks.parameter_count  P
//   ckks.ciphertext_count C
//
// Updates hold seeded symmetric ciphertexts (zstd-compressed by SEAL) at the second level; an
// aggregate holds the weighted sum, rescaled to the last level and written uncompressed, so its
// bytes depend on nothing but SEAL's arithmetic.
import type { Container, ContainerMetadata } from '../container';
import { decodeContainer } from '../container';
import { CkksMalformedError, CkksParamsMismatchError, ContainerError } from '../errors';
import { isSha256Hex } from '../hash';
import type { CkksParams } from './params';
import { ckksParamsHash, slotCount } from './params';

/** Version tag of this layout, in `ckks.layout`. */
export const CKKS_LAYOUT = 'fedledger-ckks/1';

/** The extra metadata keys of an encrypted container. */
export const CKKS_KEYS = {
  layout: 'ckks.layout',
  paramsHash: 'ckks.params_hash',
  keyFingerprint: 'ckks.key_fingerprint',
  parameterCount: 'ckks.parameter_count',
  ciphertextCount: 'ckks.ciphertext_count',
} as const;

/** Most ciphertexts one container may hold (the tensor names have five digits). */
export const MAX_CIPHERTEXTS = 100_000;

/** What the CKKS metadata of an encrypted container says. */
export interface CkksHeader {
  paramsHash: string;
  keyFingerprint: string;
  parameterCount: number;
  ciphertextCount: number;
}

/** An encrypted container read and checked against the layout. */
export interface EncryptedContainer {
  metadata: ContainerMetadata;
  /** Extra metadata other than the `ckks.*` keys. */
  extra: Record<string, string>;
  header: CkksHeader;
  /** The serialised ciphertexts, in chunk order. */
  ciphertexts: Uint8Array[];
}

/** The tensor name of ciphertext `index`. */
export function ciphertextName(index: number): string {
  return `ckks.${String(index).padStart(5, '0')}`;
}

/** Ciphertexts needed for `parameterCount` values. */
export function ciphertextCountFor(params: Readonly<CkksParams>, parameterCount: number): number {
  return Math.ceil(parameterCount / slotCount(params));
}

/** Builds the container for `ciphertexts` (in chunk order). */
export function buildEncryptedContainer(
  metadata: Omit<ContainerMetadata, 'encoding'>,
  extra: Readonly<Record<string, string>>,
  header: CkksHeader,
  ciphertexts: readonly Uint8Array[],
): Container {
  for (const key of Object.keys(extra)) {
    if (key.startsWith('ckks.')) {
      throw new RangeError(`Extra metadata key "${key}" uses the reserved prefix "ckks.".`);
    }
  }
  return {
    metadata: { ...metadata, encoding: 'ckks' },
    extra: {
      ...extra,
      [CKKS_KEYS.layout]: CKKS_LAYOUT,
      [CKKS_KEYS.paramsHash]: header.paramsHash,
      [CKKS_KEYS.keyFingerprint]: header.keyFingerprint,
      [CKKS_KEYS.parameterCount]: String(header.parameterCount),
      [CKKS_KEYS.ciphertextCount]: String(header.ciphertextCount),
    },
    tensors: ciphertexts.map((data, i) => ({
      name: ciphertextName(i),
      dtype: 'U8' as const,
      shape: [data.length],
      data,
    })),
  };
}

/**
 * Reads an encrypted container and checks its layout against `params`.
 * @throws {CkksParamsMismatchError} when it was made under other parameters;
 * {CkksMalformedError} for anything else that is wrong with it.
 */
export function readEncryptedContainer(
  bytes: Uint8Array,
  params: Readonly<CkksParams>,
  label = 'the container',
): EncryptedContainer {
  let container: Container;
  try {
    container = decodeContainer(bytes);
  } catch (error) {
    if (!(error instanceof ContainerError)) throw error;
    throw new CkksMalformedError(`${label} is not a valid container: ${error.message}`, {
      cause: error,
    });
  }
  const { metadata, extra: all, tensors } = container;
  if (metadata.encoding !== 'ckks') {
    throw new CkksMalformedError(`${label} has encoding "${metadata.encoding}", not "ckks".`);
  }
  const layout = all[CKKS_KEYS.layout];
  if (layout !== CKKS_LAYOUT) {
    throw new CkksMalformedError(
      `${label} has ${CKKS_KEYS.layout} ${JSON.stringify(layout)}; expected "${CKKS_LAYOUT}".`,
    );
  }
  const paramsHash = all[CKKS_KEYS.paramsHash];
  if (paramsHash !== ckksParamsHash(params)) {
    throw new CkksParamsMismatchError(
      `${label} was encrypted under CKKS parameters with hash ${JSON.stringify(paramsHash)}; the run uses ${ckksParamsHash(params)}.`,
    );
  }
  const keyFingerprint = all[CKKS_KEYS.keyFingerprint];
  if (!isSha256Hex(keyFingerprint)) {
    throw new CkksMalformedError(`${label} has no valid ${CKKS_KEYS.keyFingerprint}.`);
  }
  const parameterCount = countField(all, CKKS_KEYS.parameterCount, label);
  const ciphertextCount = countField(all, CKKS_KEYS.ciphertextCount, label);
  if (parameterCount === 0 || ciphertextCount !== ciphertextCountFor(params, parameterCount)) {
    throw new CkksMalformedError(
      `${label} declares ${parameterCount} parameters in ${ciphertextCount} ciphertexts; ${ciphertextCountFor(params, parameterCount)} ciphertexts are needed.`,
    );
  }
  if (tensors.length !== ciphertextCount) {
    throw new CkksMalformedError(
      `${label} declares ${ciphertextCount} ciphertexts but holds ${tensors.length} tensors.`,
    );
  }
  const ciphertexts = tensors.map((tensor, i) => {
    if (tensor.name !== ciphertextName(i) || tensor.dtype !== 'U8' || tensor.data.length === 0) {
      throw new CkksMalformedError(
        `${label}: tensor ${i} is "${tensor.name}" (${tensor.dtype}); expected a non-empty U8 tensor "${ciphertextName(i)}".`,
      );
    }
    return tensor.data;
  });
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith('ckks.')) extra[key] = value;
  }
  return {
    metadata,
    extra,
    header: { paramsHash, keyFingerprint, parameterCount, ciphertextCount },
    ciphertexts,
  };
}

function countField(map: Record<string, string>, key: string, label: string): number {
  const text = map[key];
  if (text === undefined || !/^(0|[1-9][0-9]{0,14})$/.test(text)) {
    throw new CkksMalformedError(`${label} has ${key} ${JSON.stringify(text)}; expected a count.`);
  }
  const value = Number(text);
  if (key === CKKS_KEYS.ciphertextCount && value > MAX_CIPHERTEXTS) {
    throw new CkksMalformedError(
      `${label} declares ${value} ciphertexts; at most ${MAX_CIPHERTEXTS}.`,
    );
  }
  return value;
}
