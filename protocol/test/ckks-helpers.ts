// Shared fixtures of the CKKS tests: one secret key per process, update vectors and metadata.
import { modelSpecHash, referenceModelSpec } from '../src';
import type { EncryptedMetadata } from '../src/ckks';
import { CKKS_PARAMS, generateSecretKey } from '../src/ckks';

export const params = CKKS_PARAMS;
export const specHash = modelSpecHash(referenceModelSpec(4, 3));

let sharedKey: Promise<Uint8Array> | undefined;

/** One secret key for the whole test run (generation is cheap, but the key is 256 KiB). */
export function testKey(): Promise<Uint8Array> {
  sharedKey ??= generateSecretKey(params);
  return sharedKey;
}

/** A deterministic vector of `n` values in [-1, 1]. */
export function updateVector(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = Math.sin(seed * 1.37 + i * 0.731) * Math.cos(i * seed * 0.11);
  return out;
}

export function updateMeta(mspId: string, sampleCount: number): EncryptedMetadata {
  return { kind: 'update', runId: 'run-1', round: 3, mspId, sampleCount, modelSpecHash: specHash };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return worst;
}
