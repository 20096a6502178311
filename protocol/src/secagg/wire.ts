// Strict readers for secure-aggregation messages: hex fields, MSP IDs, exact key sets, and the
// unambiguous byte strings that key derivations and AEAD associated data are built from.
import { canonicalJson } from '../canonical-json';
import { SecAggError } from '../errors';

/** Longest MSP ID accepted (Fabric sets no limit; ours keeps messages bounded). */
export const MAX_MSP_ID_LENGTH = 256;
/** Longest run ID accepted. */
export const MAX_RUN_ID_LENGTH = 256;

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Lowercase hex of some bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Bytes of a lowercase hex string of exactly `length` bytes, as a plain Uint8Array (the Shamir
 * library refuses Buffer subclasses).
 * @throws {SecAggError} SECAGG_MALFORMED naming `what`.
 */
export function fromHex(value: unknown, length: number, what: string): Uint8Array {
  if (typeof value !== 'string' || value.length !== 2 * length || !HEX.test(value)) {
    throw malformed(`${what} must be ${length} bytes of lowercase hex`);
  }
  return new Uint8Array(Buffer.from(value, 'hex'));
}

/** A SECAGG_MALFORMED error. */
export function malformed(message: string, mspId?: string): SecAggError {
  return new SecAggError('SECAGG_MALFORMED', message, mspId === undefined ? {} : { mspId });
}

/** @throws {SecAggError} SECAGG_MALFORMED unless `value` is a usable MSP ID. */
export function checkMspId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_MSP_ID_LENGTH) {
    throw malformed(`${what} must be an MSP ID of 1 to ${MAX_MSP_ID_LENGTH} characters`);
  }
  return value;
}

/** @throws {SecAggError} SECAGG_MALFORMED unless `value` is a run ID and a round number. */
export function checkContext(runId: unknown, round: unknown, what: string): void {
  if (typeof runId !== 'string' || runId.length === 0 || runId.length > MAX_RUN_ID_LENGTH) {
    throw malformed(`${what}: runId must be a string of 1 to ${MAX_RUN_ID_LENGTH} characters`);
  }
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 0) {
    throw malformed(`${what}: round must be a non-negative integer`);
  }
}

/**
 * The object's own fields, when it has exactly `keys`.
 * @throws {SecAggError} SECAGG_MALFORMED naming a missing or unexpected field.
 */
export function exactFields(
  value: unknown,
  keys: readonly string[],
  what: string,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`${what} must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) throw malformed(`${what} has an unexpected field "${key}"`);
  }
  for (const key of keys) {
    if (record[key] === undefined) throw malformed(`${what} lacks the field "${key}"`);
  }
  return record;
}

/** True when `names` is strictly increasing (sorted, no repeats) by string comparison. */
export function strictlySorted(names: readonly string[]): boolean {
  return names.every((name, i) => i === 0 || (names[i - 1] as string) < name);
}

/**
 * Unambiguous bytes for a list of fields: each one a 4-byte big-endian length and its UTF-8 (or
 * decimal) bytes, so no MSP ID, whatever characters it holds, can shift one field into the next.
 */
export function fields(...parts: readonly (string | number)[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(typeof part === 'number' ? String(part) : part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  }
  return Buffer.concat(chunks);
}

/**
 * Parses canonical UTF-8 JSON of at most `maxBytes`: the text must be exactly what
 * `canonicalJson` writes for its value, so one message has one encoding (and one hash).
 * @throws {SecAggError} SECAGG_MALFORMED otherwise.
 */
export function parseCanonicalJson(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw malformed(`${what} must be bytes`);
  if (bytes.length > maxBytes) {
    throw malformed(`${what} is ${bytes.length} bytes; at most ${maxBytes} are accepted`);
  }
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (error) {
    throw new SecAggError('SECAGG_MALFORMED', `${what} is not UTF-8 JSON`, { cause: error });
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalJson(value);
  } catch {
    canonical = undefined;
  }
  if (canonical !== text) throw malformed(`${what} is not canonical JSON (sorted keys, no spaces)`);
  return value;
}
