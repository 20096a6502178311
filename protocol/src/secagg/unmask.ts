// The aggregator's unmasking (Bonawitz et al., CCS 2017, round 4, server side): from the
// survivors' masked updates and the revealed shares, recover each survivor's self-mask seed and
// each dropped hospital's mask secret, check each against what the hospital recorded on the ledger
// (seed commitment, public mask key), and strip the masks, leaving Σ of the survivors' quantised
// updates mod 2^32 and nothing about any one of them.
import { SecAggError } from '../errors';
import {
  SECRET_BYTES,
  agree,
  maskWords,
  pairwiseMaskKey,
  publicKeyOf,
  selfMaskCommitment,
  selfMaskKey,
} from './derive';
import { checkAdvertisements } from './keys';
import { addWords, pairwiseSign } from './masking';
import { recoverSecret } from './recover';
import { checkReveal } from './reveal';
import type { KeyAdvertisement, Reveal, RevealedShare, RoundContext } from './types';
import { checkContext, fromHex, malformed, toHex } from './wire';

/**
 * Σ of the survivors' quantised updates mod 2^32. Survivors are the keys of `masked`; the rest of
 * `maskSet` dropped. Reveals of another run or round, or from outside the mask set, are ignored;
 * only self-mask shares of survivors and mask-secret shares of dropped hospitals are used.
 * @throws {SecAggError} SECAGG_MALFORMED for inputs that do not fit together; SECAGG_SETTINGS for a
 * bad threshold; SECAGG_RECOVERY_FAILED naming the hospital whose secret cannot be recovered from
 * shares that pass its check (too few honest shares), or when fewer than `threshold` survived.
 */
export async function unmaskSum(
  ctx: RoundContext,
  maskSet: readonly KeyAdvertisement[],
  masked: ReadonlyMap<string, Uint32Array>,
  reveals: readonly Reveal[],
  threshold: number,
): Promise<Uint32Array> {
  checkContext(ctx.runId, ctx.round, 'round context');
  const list = checkAdvertisements(maskSet, 'mask set');
  const byName = new Map(list.map((a) => [a.mspId, a]));
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > list.length) {
    throw new SecAggError(
      'SECAGG_SETTINGS',
      `threshold must be an integer from 2 to ${list.length}`,
    );
  }
  const survivors = [...masked.keys()].sort();
  const length = checkMasked(masked, byName);
  if (survivors.length < threshold) {
    throw new SecAggError(
      'SECAGG_RECOVERY_FAILED',
      `${survivors.length} masked update(s) for threshold ${threshold}: too few to aggregate`,
    );
  }
  const alive = new Set(survivors);
  const dropped = list.filter((a) => !alive.has(a.mspId));
  const pooled = poolShares(ctx, reveals.map(checkReveal), byName);

  const sum = new Uint32Array(length);
  for (const name of survivors) {
    const ad = byName.get(name) as KeyAdvertisement;
    const seed = await recoverSecret(
      name,
      'self-mask seed',
      sharesOf(pooled.self, name),
      threshold,
      (s) => selfMaskCommitment(ctx, name, s) === ad.selfMaskCommitment,
    );
    addWords(sum, masked.get(name) as Uint32Array, 1);
    addWords(sum, maskWords(selfMaskKey(ctx, seed, name), length), -1);
  }
  for (const gone of dropped) {
    const secret = await recoverSecret(
      gone.mspId,
      'mask secret',
      sharesOf(pooled.mask, gone.mspId),
      threshold,
      (s) => toHex(publicKeyOf(s)) === gone.maskKey,
    );
    for (const name of survivors) {
      const peer = byName.get(name) as KeyAdvertisement;
      const agreement = agree(secret, fromHex(peer.maskKey, SECRET_BYTES, 'maskKey'));
      const words = maskWords(pairwiseMaskKey(ctx, agreement, gone.mspId, name), length);
      // The survivor applied its sign for this pair; apply the opposite to cancel it.
      addWords(sum, words, pairwiseSign(name, gone.mspId) === 1 ? -1 : 1);
    }
  }
  return sum;
}

/** Checks the masked vectors (members of the mask set, one length) and returns that length. */
function checkMasked(
  masked: ReadonlyMap<string, Uint32Array>,
  byName: ReadonlyMap<string, KeyAdvertisement>,
): number {
  let length: number | undefined;
  for (const [name, vector] of masked) {
    if (!byName.has(name))
      throw malformed(`a masked update from ${name}, outside the mask set`, name);
    if (!(vector instanceof Uint32Array))
      throw malformed(`the masked update of ${name} is not a Uint32Array`, name);
    length ??= vector.length;
    if (vector.length !== length)
      throw malformed(`masked updates differ in length (${name})`, name);
  }
  if (length === undefined) throw malformed('no masked updates to aggregate');
  return length;
}

interface Pool {
  self: Map<string, RevealedShare[]>;
  mask: Map<string, RevealedShare[]>;
}

/** The round's revealed shares by the hospital they are shares of, from mask-set revealers only. */
function poolShares(
  ctx: RoundContext,
  reveals: readonly Reveal[],
  byName: ReadonlyMap<string, KeyAdvertisement>,
): Pool {
  const pool: Pool = { self: new Map(), mask: new Map() };
  const add = (into: Map<string, RevealedShare[]>, shares: readonly RevealedShare[]): void => {
    for (const share of shares) into.set(share.of, [...(into.get(share.of) ?? []), share]);
  };
  for (const r of reveals) {
    if (r.runId !== ctx.runId || r.round !== ctx.round || !byName.has(r.from)) continue;
    add(pool.self, r.selfMaskShares);
    add(pool.mask, r.maskSecretShares);
  }
  return pool;
}

function sharesOf(from: ReadonlyMap<string, RevealedShare[]>, owner: string): Uint8Array[] {
  return (from.get(owner) ?? []).map((s) =>
    fromHex(s.share, SECRET_BYTES + 1, `share of ${owner}`),
  );
}
