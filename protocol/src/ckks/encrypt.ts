// Encrypting a hospital's flat update into a CKKS container, and decrypting any CKKS container.
import type { ContainerMetadata } from '../container';
import { encodeContainer } from '../container';
import { CkksKeyMismatchError, CkksMalformedError } from '../errors';
import { fingerprintOf, loadSecretKey } from './keys';
import { buildEncryptedContainer, ciphertextCountFor, readEncryptedContainer } from './layout';
import type { CkksParams } from './params';
import { ckksParamsHash } from './params';
import { sealRuntime, withScope } from './seal-context';
import { checkSealSerialization } from './serialization';

/**
 * Largest magnitude accepted in an update. The weighted sum works at scale 2^80 in a 100-bit
 * modulus, which leaves room for values below 2^19; this bound keeps a wide margin.
 */
export const MAX_ABS_VALUE = 2 ** 16;

/** Metadata of an encrypted container; the encoding is always "ckks". */
export type EncryptedMetadata = Omit<ContainerMetadata, 'encoding'>;

/** What {@link encryptUpdate} needs. */
export interface EncryptUpdateInput {
  params: Readonly<CkksParams>;
  /** The run's secret key, as {@link generateSecretKey} returns it. */
  secretKey: Uint8Array;
  /** The update as one flat vector (the model's tensors in spec order, row-major). */
  flat: Float64Array | Float32Array;
  metadata: EncryptedMetadata;
  /** Further metadata (DP accounting); keys must not start with "fedledger." or "ckks.". */
  extra?: Readonly<Record<string, string>>;
}

/**
 * Encrypts `flat` under the secret key into container bytes (encoding "ckks"). Encryption is
 * randomised: the same input gives different bytes each time.
 * @throws {RangeError} for an empty vector or a value that is not finite or exceeds
 * {@link MAX_ABS_VALUE}; {CkksParamsMismatchError} for unsupported parameters;
 * {CkksMalformedError} for a key that does not fit the parameters.
 */
export async function encryptUpdate(input: Readonly<EncryptUpdateInput>): Promise<Uint8Array> {
  const { params, flat } = input;
  checkValues(flat);
  const runtime = await sealRuntime(params);
  const { seal, context, encoder, evaluator, pool, scale, slots } = runtime;
  const count = ciphertextCountFor(params, flat.length);
  const { fingerprint, ciphertexts } = withScope((scope) => {
    const key = loadSecretKey(runtime, scope, input.secretKey);
    // node-seal's Encryptor insists on a public key even for symmetric encryption; this one is
    // made only to satisfy that signature and is never used.
    const keygen = scope.own(seal.KeyGenerator(context, key));
    const publicKey = scope.own(keygen.createPublicKey());
    const encryptor = scope.own(seal.Encryptor(context, publicKey, key));
    const plain = scope.own(seal.PlainText({ pool }));
    const chunk = new Float64Array(slots);
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const start = i * slots;
      const end = Math.min(start + slots, flat.length);
      chunk.fill(0);
      for (let j = start; j < end; j++) chunk[j - start] = flat[j] as number;
      encoder.encode(chunk, scale, plain, pool);
      // Encrypt at the second level: the aggregate needs one level for its weighting, and a
      // seeded ciphertext with two primes is the smallest that leaves it.
      evaluator.plainModSwitchToNext(plain, plain);
      const serializable = encryptor.encryptSymmetricSerializable(plain, pool);
      try {
        out.push(serializable.saveArray(runtime.compression.zstd));
      } finally {
        serializable.delete();
      }
    }
    return { fingerprint: fingerprintOf(runtime, key), ciphertexts: out };
  });
  return encodeContainer(
    buildEncryptedContainer(
      input.metadata,
      input.extra ?? {},
      {
        paramsHash: ckksParamsHash(params),
        keyFingerprint: fingerprint,
        parameterCount: flat.length,
        ciphertextCount: count,
      },
      ciphertexts,
    ),
  );
}

/**
 * Decrypts an encrypted container (an aggregate, or a single update) to its flat vector.
 * @throws {CkksParamsMismatchError} when it was made under other parameters;
 * {CkksKeyMismatchError} when it is under another key; {CkksMalformedError} for bad bytes.
 */
export async function decryptAggregate(
  params: Readonly<CkksParams>,
  secretKey: Uint8Array,
  bytes: Uint8Array,
): Promise<Float64Array> {
  const runtime = await sealRuntime(params);
  const { seal, context, encoder, pool, slots } = runtime;
  const container = readEncryptedContainer(bytes, params);
  const { parameterCount, keyFingerprint } = container.header;
  return withScope((scope) => {
    const key = loadSecretKey(runtime, scope, secretKey);
    const fingerprint = fingerprintOf(runtime, key);
    if (fingerprint !== keyFingerprint) {
      throw new CkksKeyMismatchError(
        `The container is encrypted under key ${keyFingerprint}; the key given is ${fingerprint}.`,
      );
    }
    const decryptor = scope.own(seal.Decryptor(context, key));
    const cipher = scope.own(seal.CipherText({ pool }));
    const plain = scope.own(seal.PlainText({ pool }));
    const out = new Float64Array(parameterCount);
    container.ciphertexts.forEach((data, i) => {
      checkSealSerialization(data, `Ciphertext ${i}`);
      try {
        cipher.loadArray(context, data);
      } catch (error) {
        throw new CkksMalformedError(
          `Ciphertext ${i} is not a SEAL ciphertext for these parameters (${String(error)}).`,
          {
            cause: error,
          },
        );
      }
      decryptor.decrypt(cipher, plain);
      const values = encoder.decode(plain, pool);
      const start = i * slots;
      out.set(values.subarray(0, Math.min(slots, parameterCount - start)), start);
    });
    return out;
  });
}

function checkValues(flat: Float64Array | Float32Array): void {
  if (flat.length === 0) throw new RangeError('An update to encrypt needs at least one value.');
  for (let i = 0; i < flat.length; i++) {
    const value = flat[i] as number;
    if (!Number.isFinite(value) || Math.abs(value) > MAX_ABS_VALUE) {
      throw new RangeError(
        `Value ${value} at index ${i} cannot be encrypted; values must be finite and within ±${MAX_ABS_VALUE}.`,
      );
    }
  }
}
