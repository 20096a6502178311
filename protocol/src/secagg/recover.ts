// Robust recovery of a Shamir-shared secret from revealed shares that may include lies: combine
// them all, and if the result fails the secret's public check (its commitment or public key),
// leave out one share, then two, and so on, down to the threshold, within a bounded number of
// attempts. So one lying revealer cannot block recovery while ≥ t honest shares exist. (Where
// many revealers lie, this search is exponential; the bound turns it into a refusal.)
import { combine } from 'shamir-secret-sharing';
import { SecAggError } from '../errors';

/** Most combinations tried for one secret before recovery is refused. */
export const MAX_RECOVERY_ATTEMPTS = 4096;

/** A secret's public check: true only for the secret that was dealt. */
export type SecretCheck = (secret: Uint8Array) => boolean;

/**
 * The secret `owner` dealt, from distinct revealed `shares` (byte arrays), at least `threshold`
 * of which must be honest.
 * @throws {SecAggError} SECAGG_RECOVERY_FAILED naming `owner` when no combination passes `check`.
 */
export async function recoverSecret(
  owner: string,
  what: string,
  shares: readonly Uint8Array[],
  threshold: number,
  check: SecretCheck,
): Promise<Uint8Array> {
  const pool = distinct(shares);
  const fail = (why: string): SecAggError =>
    new SecAggError('SECAGG_RECOVERY_FAILED', `cannot recover the ${what} of ${owner}: ${why}`, {
      mspId: owner,
    });
  if (pool.length < threshold) {
    throw fail(`${pool.length} share(s) revealed, ${threshold} needed`);
  }
  let attempts = 0;
  for (let leftOut = 0; pool.length - leftOut >= threshold; leftOut++) {
    for (const excluded of combinations(pool.length, leftOut)) {
      if (++attempts > MAX_RECOVERY_ATTEMPTS) {
        throw fail(`no valid combination within ${MAX_RECOVERY_ATTEMPTS} attempts`);
      }
      const skip = new Set(excluded);
      const subset = pool.filter((_, i) => !skip.has(i));
      let secret: Uint8Array;
      try {
        secret = await combine(subset);
      } catch {
        continue; // two shares claimed one x coordinate: a lie is among them
      }
      if (check(secret)) return secret;
    }
  }
  throw fail(
    `no ${threshold} or more of the ${pool.length} revealed shares give a secret that passes its check`,
  );
}

function distinct(shares: readonly Uint8Array[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const share of shares) seen.set(Buffer.from(share).toString('hex'), new Uint8Array(share));
  return [...seen.values()];
}

/** The r-element subsets of 0..n-1 as sorted index lists, in lexicographic order. */
export function* combinations(n: number, r: number): Generator<number[]> {
  if (r > n || r < 0) return;
  const idx = Array.from({ length: r }, (_, i) => i);
  for (;;) {
    yield [...idx];
    let i = r - 1;
    while (i >= 0 && idx[i] === n - r + i) i--;
    if (i < 0) return;
    idx[i] = (idx[i] as number) + 1;
    for (let j = i + 1; j < r; j++) idx[j] = (idx[j - 1] as number) + 1;
  }
}
