// Key derivation and the mask generator of secure aggregation: X25519 agreements, HKDF-SHA256 keys
// bound to the run, round and parties, the AES-256-CTR pseudo-random generator that expands a key
// into one 32-bit word per coordinate, and the commitment to a self-mask seed.
import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519';
import type { RoundContext } from './types';
import { fields } from './wire';

/** Bytes of every X25519 key and of the self-mask seed. */
export const SECRET_BYTES = 32;

/** Domain tags: each derivation has its own, so no key can stand in for another. */
const TAG = {
  pairwiseMask: 'fedledger-secagg/pairwise-mask/1',
  selfMask: 'fedledger-secagg/self-mask/1',
  shareKey: 'fedledger-secagg/share-key/1',
  shareAad: 'fedledger-secagg/share-aad/1',
  commitment: 'fedledger-secagg/self-mask-commitment/1',
} as const;

/** The X25519 public key of a secret. */
export function publicKeyOf(secret: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secret);
}

/**
 * X25519(secret, peer public key).
 * @throws {Error} for a low-order public key (the agreement would be all zero, known to anyone).
 */
export function agree(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(secret, publicKey);
}

function hkdf(ikm: Uint8Array, info: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), info, 32));
}

/** The pair's order-free name: the two MSP IDs sorted, so both ends derive the same key. */
function pair(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}

/** The PRG key of the pairwise mask between `a` and `b` from their mask-key agreement. */
export function pairwiseMaskKey(
  ctx: RoundContext,
  agreement: Uint8Array,
  a: string,
  b: string,
): Buffer {
  return hkdf(agreement, fields(TAG.pairwiseMask, ctx.runId, ctx.round, ...pair(a, b)));
}

/** The PRG key of `owner`'s self mask from its seed. */
export function selfMaskKey(ctx: RoundContext, seed: Uint8Array, owner: string): Buffer {
  return hkdf(seed, fields(TAG.selfMask, ctx.runId, ctx.round, owner));
}

/** The AES-256-GCM key for shares `dealer` sends `recipient`, from their encryption-key agreement. */
export function shareKey(
  ctx: RoundContext,
  agreement: Uint8Array,
  dealer: string,
  recipient: string,
): Buffer {
  return hkdf(agreement, fields(TAG.shareKey, ctx.runId, ctx.round, dealer, recipient));
}

/** The associated data of a share: the run, round, dealer and recipient it was sealed for. */
export function shareAad(ctx: RoundContext, dealer: string, recipient: string): Buffer {
  return fields(TAG.shareAad, ctx.runId, ctx.round, dealer, recipient);
}

/** SHA-256 (hex) binding a self-mask seed to its owner and round, recorded before masking. */
export function selfMaskCommitment(ctx: RoundContext, owner: string, seed: Uint8Array): string {
  return createHash('sha256')
    .update(fields(TAG.commitment, ctx.runId, ctx.round, owner))
    .update(seed)
    .digest('hex');
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * `count` pseudo-random 32-bit words: AES-256-CTR keystream under `key` from a zero counter, read
 * as little-endian words. A zero IV is safe because every key is derived for one use (one pair or
 * owner, one run, one round).
 */
export function maskWords(key: Uint8Array, count: number): Uint32Array {
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const stream = cipher.update(Buffer.alloc(count * 4));
  cipher.final();
  if (LITTLE_ENDIAN && stream.byteOffset % 4 === 0) {
    return new Uint32Array(stream.buffer, stream.byteOffset, count);
  }
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = stream.readUInt32LE(i * 4);
  return words;
}
