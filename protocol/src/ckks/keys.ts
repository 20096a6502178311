// CKKS secret keys: generation, loading, and the public fingerprint that names a key on the ledger.
//
// Hospitals of a run share one secret key (distributed out of band in a passphrase-protected key
// file); the gateway never holds it. The fingerprint is SHA-256 over a domain tag and the key's
// uncompressed SEAL serialisation. The key is thousands of random ternary coefficients, so the
// digest identifies it without revealing anything an attacker could use; it is safe to publish.
import { createHash } from 'node:crypto';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { CkksMalformedError } from '../errors';
import type { CkksParams } from './params';
import type { SealRuntime, SealScope } from './seal-context';
import { checkSealSerialization } from './serialization';
import { sealRuntime, withScope } from './seal-context';

const FINGERPRINT_TAG = 'fedledger/ckks-secret-key-fingerprint/1\n';

/**
 * Generates a fresh secret key for `params`.
 * @returns the key's SEAL serialisation (uncompressed, the canonical form fingerprints are taken of).
 * @throws {CkksParamsMismatchError} for parameters other than the accepted set.
 */
export async function generateSecretKey(params: Readonly<CkksParams>): Promise<Uint8Array> {
  const runtime = await sealRuntime(params);
  return withScope((scope) => {
    const keygen = scope.own(runtime.seal.KeyGenerator(runtime.context));
    const key = scope.own(keygen.secretKey());
    return key.saveArray(runtime.compression.none);
  });
}

/**
 * The public fingerprint of a secret key: 64 hexadecimal characters.
 * @throws {CkksMalformedError} when `secretKey` is not a key for `params`.
 */
export async function secretKeyFingerprint(
  params: Readonly<CkksParams>,
  secretKey: Uint8Array,
): Promise<string> {
  const runtime = await sealRuntime(params);
  return withScope((scope) => fingerprintOf(runtime, loadSecretKey(runtime, scope, secretKey)));
}

/**
 * Loads serialised key bytes into a SEAL secret key owned by `scope`.
 * @throws {CkksMalformedError} when the bytes are not a key for the runtime's parameters.
 */
export function loadSecretKey(
  runtime: SealRuntime,
  scope: SealScope,
  secretKey: Uint8Array,
): SecretKey {
  checkSealSerialization(secretKey, 'The secret key');
  const key = scope.own(runtime.seal.SecretKey());
  try {
    key.loadArray(runtime.context, secretKey);
  } catch (error) {
    throw new CkksMalformedError(
      `The secret key is not a SEAL key for these CKKS parameters (${String(error)}).`,
      { cause: error },
    );
  }
  return key;
}

/** The fingerprint of a loaded secret key. */
export function fingerprintOf(runtime: SealRuntime, key: SecretKey): string {
  return createHash('sha256')
    .update(FINGERPRINT_TAG, 'utf8')
    .update(key.saveArray(runtime.compression.none))
    .digest('hex');
}
