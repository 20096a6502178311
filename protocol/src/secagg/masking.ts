// Fixed-point encoding and double masking of one hospital's update (Bonawitz et al., CCS 2017,
// round 2, MaskedInputCollection): y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_{u,v}) − Σ_{v<u} PRG(s_{u,v})
// mod 2^32, where b_u is the self-mask seed and s_{u,v} the X25519 agreement of the two mask keys.
// Pairwise masks cancel in the sum over everyone; the self mask keeps a hospital's update hidden
// even if its pairwise secrets are recovered after it was wrongly declared dropped.
import { SecAggError } from '../errors';
import { SECRET_BYTES, agree, maskWords, pairwiseMaskKey, selfMaskKey } from './derive';
import { checkAdvertisements, checkOwnAdvertisement } from './keys';
import type { KeyAdvertisement, RoundContext, RoundSecrets, SecAggSettings } from './types';
import { checkContext, fromHex, malformed } from './wire';

/**
 * Fixed-point encoding of `weight · values`: q = round(clamp(weight · x, -range, range) · 2^f)
 * mod 2^32 (two's complement). The error per coordinate is at most 2^-(f+1) inside the range.
 * @throws {SecAggError} SECAGG_MALFORMED for a non-finite value or weight, or a negative weight.
 */
export function quantise(
  values: ArrayLike<number>,
  weight: number,
  settings: SecAggSettings,
): Uint32Array {
  if (!Number.isFinite(weight) || weight < 0) {
    throw malformed(`the weight must be a finite non-negative number; got ${weight}`);
  }
  const { range } = settings;
  const scale = 2 ** settings.fractionBits;
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = weight * (values[i] as number);
    if (!Number.isFinite(x)) throw malformed(`coordinate ${i} is not a finite number`);
    const clamped = x > range ? range : x < -range ? -range : x;
    out[i] = Math.round(clamped * scale) >>> 0;
  }
  return out;
}

/** Decodes a sum of quantised vectors: each word as a signed 32-bit integer, divided by 2^f. */
export function dequantise(sum: Uint32Array, settings: SecAggSettings): Float64Array {
  const scale = 2 ** -settings.fractionBits;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = ((sum[i] as number) | 0) * scale;
  return out;
}

/**
 * `me`'s masked update: its quantised vector plus its self mask and its pairwise masks with every
 * other member of `maskSet` (the hospitals whose shares `me` received; ordered by MSP ID).
 * @throws {SecAggError} SECAGG_MALFORMED for a bad mask set, one without `me`, or secrets that
 * do not match `me`'s advertisement.
 */
export function maskUpdate(
  ctx: RoundContext,
  me: string,
  mySecrets: RoundSecrets,
  maskSet: readonly KeyAdvertisement[],
  quantised: Uint32Array,
): Uint32Array {
  checkContext(ctx.runId, ctx.round, 'round context');
  if (!(quantised instanceof Uint32Array))
    throw malformed('the quantised update must be a Uint32Array');
  const list = checkAdvertisements(maskSet, 'mask set');
  const own = list.find((a) => a.mspId === me);
  if (!own) throw malformed(`the mask set must include ${me}`, me);
  checkOwnAdvertisement(own, mySecrets);
  const out = Uint32Array.from(quantised);
  addWords(out, maskWords(selfMaskKey(ctx, mySecrets.selfMaskSeed, me), out.length), 1);
  for (const peer of list) {
    if (peer.mspId === me) continue;
    const agreement = agree(mySecrets.maskSecret, fromHex(peer.maskKey, SECRET_BYTES, 'maskKey'));
    const words = maskWords(pairwiseMaskKey(ctx, agreement, me, peer.mspId), out.length);
    addWords(out, words, pairwiseSign(me, peer.mspId));
  }
  return out;
}

/** +1 when `owner` adds the pairwise mask it shares with `peer`, −1 when it subtracts it. */
export function pairwiseSign(owner: string, peer: string): 1 | -1 {
  if (owner === peer) throw new SecAggError('SECAGG_MALFORMED', `${owner} has no mask with itself`);
  return peer > owner ? 1 : -1;
}

/** target += sign · words, mod 2^32 (Uint32Array stores wrap). */
export function addWords(target: Uint32Array, words: Uint32Array, sign: 1 | -1): void {
  if (sign === 1) {
    for (let i = 0; i < target.length; i++)
      target[i] = (target[i] as number) + (words[i] as number);
  } else {
    for (let i = 0; i < target.length; i++)
      target[i] = (target[i] as number) - (words[i] as number);
  }
}
