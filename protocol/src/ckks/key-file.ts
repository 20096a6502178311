// Passphrase-protected key files: how a run's CKKS secret key travels between hospitals and rests
// on disk.
//
// The file is JSON. scrypt (N = 2^15, r = 8, p = 1) stretches the passphrase with a random salt
// into 64 bytes: the first 32 are the AES-256-GCM key, the last 32 key an HMAC "check" value that
// tells a wrong passphrase apart from a file altered after writing (GCM alone cannot). Every field
// other than the ciphertext and tag is bound to the ciphertext as GCM associated data.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { canonicalJson } from '../canonical-json';
import { CkksKeyFileError, CkksParamsMismatchError, CkksWrongPassphraseError } from '../errors';
import { isSha256Hex } from '../hash';
import { secretKeyFingerprint } from './keys';
import type { CkksParams } from './params';
import { ckksParamsHash } from './params';

/** Version of the key file format, in its `version` field. */
export const KEY_FILE_VERSION = 1 as const;

/** Smallest scrypt cost accepted when reading, and the cost used when writing. */
export const MIN_SCRYPT_LOG_N = 15;
const MAX_SCRYPT_LOG_N = 20;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const MIN_PASSPHRASE_LENGTH = 8;

/** The JSON content of a key file. */
export interface CkksKeyFile {
  version: typeof KEY_FILE_VERSION;
  runId: string;
  paramsHash: string;
  /** Public fingerprint of the key inside (see secretKeyFingerprint). */
  fingerprint: string;
  kdf: { name: 'scrypt'; logN: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string };
  /** HMAC over a fixed label with the second half of the derived key (base64). */
  check: string;
  /** The encrypted SEAL serialisation of the secret key (base64). */
  ciphertext: string;
}

/** What {@link writeKeyFile} needs. */
export interface WriteKeyFileInput {
  params: Readonly<CkksParams>;
  runId: string;
  secretKey: Uint8Array;
  passphrase: string;
}

/** A key file's content once opened. */
export interface OpenedKeyFile {
  runId: string;
  paramsHash: string;
  fingerprint: string;
  secretKey: Uint8Array;
}

/**
 * Encrypts a secret key under a passphrase and returns the key file's text.
 * @throws {RangeError} for a passphrase shorter than 8 characters or an empty run ID;
 * {CkksMalformedError} when `secretKey` is not a key for `params`.
 */
export async function writeKeyFile(input: Readonly<WriteKeyFileInput>): Promise<string> {
  checkPassphrase(input.passphrase);
  if (input.runId.length === 0) throw new RangeError('A key file needs the run ID it belongs to.');
  const fingerprint = await secretKeyFingerprint(input.params, input.secretKey);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const header = {
    version: KEY_FILE_VERSION,
    runId: input.runId,
    paramsHash: ckksParamsHash(input.params),
    fingerprint,
    kdf: {
      name: 'scrypt' as const,
      logN: MIN_SCRYPT_LOG_N,
      r: SCRYPT_R,
      p: SCRYPT_P,
      salt: salt.toString('base64'),
    },
  };
  const keys = await deriveKeys(input.passphrase, salt, header.kdf.logN, SCRYPT_R, SCRYPT_P);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, iv);
  cipher.setAAD(Buffer.from(canonicalJson({ ...header, iv: iv.toString('base64') }), 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(input.secretKey), cipher.final()]);
  const file: CkksKeyFile = {
    ...header,
    cipher: {
      name: 'aes-256-gcm',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    },
    check: checkValue(keys.check).toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Opens a key file with its passphrase.
 * @throws {CkksWrongPassphraseError} when the passphrase is not the one it was written with;
 * {CkksKeyFileError} when the text is not a key file or was altered after writing;
 * {CkksParamsMismatchError} when `params` is given and the key is for other parameters.
 */
export async function readKeyFile(
  text: string,
  passphrase: string,
  params?: Readonly<CkksParams>,
): Promise<OpenedKeyFile> {
  const file = parseKeyFile(text);
  if (params !== undefined && ckksParamsHash(params) !== file.paramsHash) {
    throw new CkksParamsMismatchError(
      `The key file is for CKKS parameters ${file.paramsHash}; the run uses ${ckksParamsHash(params)}.`,
    );
  }
  const salt = Buffer.from(file.kdf.salt, 'base64');
  const keys = await deriveKeys(passphrase, salt, file.kdf.logN, file.kdf.r, file.kdf.p);
  const expected = Buffer.from(file.check, 'base64');
  const actual = checkValue(keys.check);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new CkksWrongPassphraseError(
      `The passphrase does not open this key file (key ${file.fingerprint}).`,
    );
  }
  const { cipher, check: _check, ciphertext, ...header } = file;
  let secretKey: Uint8Array;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      keys.encryption,
      Buffer.from(cipher.iv, 'base64'),
    );
    decipher.setAAD(Buffer.from(canonicalJson({ ...header, iv: cipher.iv }), 'utf8'));
    decipher.setAuthTag(Buffer.from(cipher.tag, 'base64'));
    secretKey = new Uint8Array(
      Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]),
    );
  } catch (error) {
    throw new CkksKeyFileError(
      'The key file was altered after it was written: its authentication tag does not match.',
      { cause: error },
    );
  }
  return {
    runId: file.runId,
    paramsHash: file.paramsHash,
    fingerprint: file.fingerprint,
    secretKey,
  };
}

/**
 * Reads a key file's public fields without the passphrase.
 * @throws {CkksKeyFileError} when the text is not a key file.
 */
export function parseKeyFile(text: string): CkksKeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CkksKeyFileError('The key file is not JSON.', { cause: error });
  }
  const f = value as Partial<CkksKeyFile> | null;
  const base64 = (s: unknown): s is string =>
    typeof s === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(s);
  const problem =
    typeof f !== 'object' || f === null
      ? 'it is not a JSON object'
      : f.version !== KEY_FILE_VERSION
        ? `version ${JSON.stringify(f.version)} is not ${KEY_FILE_VERSION}`
        : typeof f.runId !== 'string' || f.runId.length === 0
          ? 'runId is missing'
          : !isSha256Hex(f.paramsHash) || !isSha256Hex(f.fingerprint)
            ? 'paramsHash or fingerprint is not a SHA-256 digest'
            : f.kdf?.name !== 'scrypt' ||
                !Number.isInteger(f.kdf.logN) ||
                f.kdf.logN < MIN_SCRYPT_LOG_N ||
                f.kdf.logN > MAX_SCRYPT_LOG_N ||
                f.kdf.r !== SCRYPT_R ||
                f.kdf.p !== SCRYPT_P ||
                !base64(f.kdf.salt)
              ? `kdf must be scrypt with logN ${MIN_SCRYPT_LOG_N}..${MAX_SCRYPT_LOG_N}, r ${SCRYPT_R}, p ${SCRYPT_P} and a salt`
              : f.cipher?.name !== 'aes-256-gcm' || !base64(f.cipher.iv) || !base64(f.cipher.tag)
                ? 'cipher must be aes-256-gcm with an iv and a tag'
                : !base64(f.check) || !base64(f.ciphertext)
                  ? 'check or ciphertext is missing'
                  : undefined;
  if (problem !== undefined) {
    throw new CkksKeyFileError(`This is not a fedledger CKKS key file: ${problem}.`);
  }
  return f as CkksKeyFile;
}

function checkPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new RangeError(
      `A key file passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters.`,
    );
  }
}

async function deriveKeys(
  passphrase: string,
  salt: Buffer,
  logN: number,
  r: number,
  p: number,
): Promise<{ encryption: Buffer; check: Buffer }> {
  const N = 2 ** logN;
  const derived = await new Promise<Buffer>((resolve, reject) => {
    // scrypt needs 128·N·r bytes; allow twice that so Node's 32 MiB default does not refuse.
    scrypt(passphrase.normalize('NFC'), salt, 64, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
  return { encryption: derived.subarray(0, 32), check: derived.subarray(32) };
}

function checkValue(key: Buffer): Buffer {
  return createHmac('sha256', key).update('fedledger ckks key file check').digest();
}
