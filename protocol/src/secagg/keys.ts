// A hospital's round secrets and the key advertisement it records on the ledger: two X25519 key
// pairs (share encryption, pairwise masks) and a commitment to its self-mask seed, after
// Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
// (CCS 2017), round 0 (AdvertiseKeys).
import { randomBytes } from 'node:crypto';
import { SecAggError } from '../errors';
import { SECRET_BYTES, agree, publicKeyOf, selfMaskCommitment } from './derive';
import type { KeyAdvertisement, RoundContext, RoundSecrets } from './types';
import { checkMspId, exactFields, fromHex, malformed, toHex } from './wire';

const SECRETS_FORMAT = 'fedledger-secagg-secrets/1';
const ADVERTISEMENT_FIELDS = ['mspId', 'encryptionKey', 'maskKey', 'selfMaskCommitment'] as const;
/** Any fixed scalar: multiplying a low-order point by it gives zero, which X25519 refuses. */
const PROBE_SCALAR = new Uint8Array(SECRET_BYTES).fill(0x5a);

/**
 * Public keys already found not to be low-order points. A key's validity depends on its bytes
 * alone, so a key checked once stays checked; this saves two scalar multiplications per key in
 * every call that checks a whole mask set.
 */
const usableKeys = new Set<string>();
const USABLE_KEYS_CACHED = 4096;

function random32(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_BYTES));
}

/** Fresh random secrets for one round: never reuse them in another round. */
export function newRoundSecrets(): RoundSecrets {
  return { encryptionSecret: random32(), maskSecret: random32(), selfMaskSeed: random32() };
}

/** The advertisement of `secrets` that `mspId` records on the ledger for `ctx`. */
export function advertise(
  ctx: RoundContext,
  mspId: string,
  secrets: RoundSecrets,
): KeyAdvertisement {
  checkSecrets(secrets);
  return {
    mspId: checkMspId(mspId, 'mspId'),
    encryptionKey: toHex(publicKeyOf(secrets.encryptionSecret)),
    maskKey: toHex(publicKeyOf(secrets.maskSecret)),
    selfMaskCommitment: selfMaskCommitment(ctx, mspId, secrets.selfMaskSeed),
  };
}

/**
 * A key advertisement read from untrusted JSON: exact fields, 32-byte lowercase-hex keys that are
 * not low-order points, two distinct keys, a 32-byte commitment.
 * @throws {SecAggError} SECAGG_MALFORMED naming the problem.
 */
export function checkAdvertisement(a: unknown): KeyAdvertisement {
  const record = exactFields(a, ADVERTISEMENT_FIELDS, 'key advertisement');
  const mspId = checkMspId(record.mspId, 'key advertisement mspId');
  const what = `key advertisement of ${mspId}`;
  const encryptionKey = fromHex(record.encryptionKey, SECRET_BYTES, `${what}: encryptionKey`);
  const maskKey = fromHex(record.maskKey, SECRET_BYTES, `${what}: maskKey`);
  fromHex(record.selfMaskCommitment, 32, `${what}: selfMaskCommitment`);
  if (record.encryptionKey === record.maskKey) {
    throw malformed(`${what} uses one key for both encryption and masks`, mspId);
  }
  for (const [name, key] of [
    ['encryptionKey', encryptionKey],
    ['maskKey', maskKey],
  ] as const) {
    const hex = record[name] as string;
    if (usableKeys.has(hex)) continue;
    try {
      agree(PROBE_SCALAR, key);
    } catch (error) {
      throw new SecAggError('SECAGG_MALFORMED', `${what}: ${name} is a low-order point`, {
        cause: error,
        mspId,
      });
    }
    if (usableKeys.size >= USABLE_KEYS_CACHED) usableKeys.clear();
    usableKeys.add(hex);
  }
  return {
    mspId,
    encryptionKey: record.encryptionKey as string,
    maskKey: record.maskKey as string,
    selfMaskCommitment: record.selfMaskCommitment as string,
  };
}

/**
 * Checks a list of advertisements (one round's mask set or recipients): each well formed, MSP IDs
 * unique; returns them sorted by MSP ID.
 * @throws {SecAggError} SECAGG_MALFORMED.
 */
export function checkAdvertisements(list: readonly unknown[], what: string): KeyAdvertisement[] {
  if (!Array.isArray(list)) throw malformed(`${what} must be a list of key advertisements`);
  const checked = list.map(checkAdvertisement).sort((a, b) => (a.mspId < b.mspId ? -1 : 1));
  checked.forEach((a, i) => {
    if (i > 0 && checked[i - 1]?.mspId === a.mspId) {
      throw malformed(`${what} names ${a.mspId} twice`, a.mspId);
    }
  });
  return checked;
}

/**
 * Checks that `own` advertises the public keys of `secrets`: a hospital must not mask or deal
 * under keys that are not the ones its peers see on the ledger.
 * @throws {SecAggError} SECAGG_MALFORMED.
 */
export function checkOwnAdvertisement(own: KeyAdvertisement, secrets: RoundSecrets): void {
  checkSecrets(secrets);
  if (
    own.encryptionKey !== toHex(publicKeyOf(secrets.encryptionSecret)) ||
    own.maskKey !== toHex(publicKeyOf(secrets.maskSecret))
  ) {
    throw malformed(
      `the advertisement of ${own.mspId} does not match its round secrets`,
      own.mspId,
    );
  }
}

/** Round secrets as JSON (hex) for a hospital's working directory; keep the file private. */
export function serializeSecrets(s: RoundSecrets): string {
  checkSecrets(s);
  return JSON.stringify({
    format: SECRETS_FORMAT,
    encryptionSecret: toHex(s.encryptionSecret),
    maskSecret: toHex(s.maskSecret),
    selfMaskSeed: toHex(s.selfMaskSeed),
  });
}

/**
 * Reads round secrets written by {@link serializeSecrets}.
 * @throws {SecAggError} SECAGG_MALFORMED for anything else.
 */
export function parseSecrets(json: string): RoundSecrets {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new SecAggError('SECAGG_MALFORMED', 'round secrets are not JSON', { cause: error });
  }
  const record = exactFields(
    value,
    ['format', 'encryptionSecret', 'maskSecret', 'selfMaskSeed'],
    'round secrets',
  );
  if (record.format !== SECRETS_FORMAT) throw malformed(`round secrets must be ${SECRETS_FORMAT}`);
  return {
    encryptionSecret: fromHex(record.encryptionSecret, SECRET_BYTES, 'encryptionSecret'),
    maskSecret: fromHex(record.maskSecret, SECRET_BYTES, 'maskSecret'),
    selfMaskSeed: fromHex(record.selfMaskSeed, SECRET_BYTES, 'selfMaskSeed'),
  };
}

function checkSecrets(s: RoundSecrets): void {
  for (const key of ['encryptionSecret', 'maskSecret', 'selfMaskSeed'] as const) {
    const value: unknown = s?.[key];
    if (!(value instanceof Uint8Array) || value.length !== SECRET_BYTES) {
      throw malformed(`round secrets: ${key} must be ${SECRET_BYTES} bytes`);
    }
  }
}
