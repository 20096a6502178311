// The single place where update and model bytes are hashed.
import { createHash } from 'node:crypto';

/** Matches a SHA-256 digest written as 64 lowercase hexadecimal characters. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** SHA-256 of `bytes` as 64 lowercase hexadecimal characters. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Incremental SHA-256 for data that arrives in chunks (uploads streamed to disk). */
export interface Sha256Stream {
  update(chunk: Uint8Array): void;
  /** The digest as 64 lowercase hexadecimal characters; call once. */
  digestHex(): string;
}

/** Starts an incremental SHA-256 computation. */
export function newSha256Stream(): Sha256Stream {
  const hash = createHash('sha256');
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digestHex: () => hash.digest('hex'),
  };
}

/** True when `value` is a SHA-256 digest in the canonical lowercase hexadecimal form. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}
