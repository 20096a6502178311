// Share reveal (Bonawitz et al., CCS 2017, round 4, Unmasking): once the round's updates are in, a
// hospital reveals the self-mask shares it holds of the survivors and the mask-secret shares of
// those that dropped, never both for one hospital (that would unmask its update), and never its
// own mask secret (it is alive: if its update is in, that would unmask it). Take the survivors
// from the ledger, not from the gateway, and reveal once per round.
import { canonicalJson } from '../canonical-json';
import { SHARE_BYTES } from './shares';
import type { HeldShare, Reveal, RevealedShare, RoundContext } from './types';
import {
  checkContext,
  checkMspId,
  exactFields,
  fromHex,
  malformed,
  parseCanonicalJson,
  strictlySorted,
  toHex,
} from './wire';

const FORMAT = 'fedledger-secagg-reveal/1';
/** Largest encoded reveal accepted: 255 shares with the longest MSP IDs fit. */
export const MAX_REVEAL_BYTES = 256 * 1024;

/**
 * What `me` reveals for `ctx`: from the shares it `held`, the self-mask shares of `survivors` and
 * the mask-secret shares of `dropped` (a name with no held share is left out).
 * @throws {SecAggError} SECAGG_MALFORMED if a hospital is in both lists or twice in one, `me` is
 * among the dropped, fewer than two survive, or two held shares claim the same dealer.
 */
export function revealShares(
  ctx: RoundContext,
  me: string,
  held: readonly HeldShare[],
  survivors: readonly string[],
  dropped: readonly string[],
): Reveal {
  checkContext(ctx.runId, ctx.round, 'round context');
  checkMspId(me, 'revealer');
  const alive = new Set(survivors);
  const gone = new Set(dropped);
  if (alive.size !== survivors.length || gone.size !== dropped.length) {
    throw malformed('the survivor and dropped lists must not repeat a hospital');
  }
  for (const name of gone) {
    if (alive.has(name)) {
      throw malformed(`${name} is listed as both surviving and dropped: refusing to reveal`, name);
    }
  }
  if (gone.has(me)) throw malformed(`${me} never reveals its own mask secret`, me);
  if (alive.size < 2) {
    throw malformed('fewer than two survivors: their sum would be one hospital’s update');
  }
  const byDealer = new Map<string, HeldShare>();
  for (const share of held) {
    if (byDealer.has(share.dealer))
      throw malformed(`two held shares from ${share.dealer}`, share.dealer);
    byDealer.set(share.dealer, share);
  }
  const pick = (names: Set<string>, part: (s: HeldShare) => Uint8Array): RevealedShare[] =>
    [...names].sort().flatMap((of) => {
      const share = byDealer.get(of);
      return share ? [{ of, share: toHex(part(share)) }] : [];
    });
  return checkReveal({
    format: FORMAT,
    runId: ctx.runId,
    round: ctx.round,
    from: me,
    selfMaskShares: pick(alive, (s) => s.selfMaskShare),
    maskSecretShares: pick(gone, (s) => s.maskSecretShare),
  });
}

/** The canonical JSON bytes of a reveal. @throws {SecAggError} SECAGG_MALFORMED. */
export function encodeReveal(r: Reveal): Uint8Array {
  return Buffer.from(canonicalJson(checkReveal(r)), 'utf8');
}

/**
 * Reads a reveal strictly: canonical JSON, bounded size, exact fields, shares sorted by hospital,
 * each a share of the exact length, no hospital in both lists.
 * @throws {SecAggError} SECAGG_MALFORMED.
 */
export function decodeReveal(bytes: Uint8Array): Reveal {
  return checkReveal(parseCanonicalJson(bytes, MAX_REVEAL_BYTES, 'reveal'));
}

/** A well-formed copy of an untrusted reveal. @throws {SecAggError} SECAGG_MALFORMED. */
export function checkReveal(value: unknown): Reveal {
  const r = exactFields(
    value,
    ['format', 'runId', 'round', 'from', 'selfMaskShares', 'maskSecretShares'],
    'reveal',
  );
  if (r.format !== FORMAT) throw malformed(`reveal format must be "${FORMAT}"`);
  checkContext(r.runId, r.round, 'reveal');
  const from = checkMspId(r.from, 'revealer');
  const selfMaskShares = checkShares(r.selfMaskShares, 'selfMaskShares', from);
  const maskSecretShares = checkShares(r.maskSecretShares, 'maskSecretShares', from);
  const selfOf = new Set(selfMaskShares.map((s) => s.of));
  for (const { of } of maskSecretShares) {
    if (selfOf.has(of)) throw malformed(`reveal of ${from} holds both secrets of ${of}`, from);
    if (of === from) throw malformed(`reveal of ${from} holds its own mask secret`, from);
  }
  return {
    format: FORMAT,
    runId: r.runId as string,
    round: r.round as number,
    from,
    selfMaskShares,
    maskSecretShares,
  };
}

function checkShares(value: unknown, what: string, from: string): RevealedShare[] {
  if (!Array.isArray(value) || value.length > 255) {
    throw malformed(`reveal ${what} must be a list of at most 255 shares`, from);
  }
  const shares = value.map((entry, i) => {
    const e = exactFields(entry, ['of', 'share'], `reveal ${what}[${i}]`);
    const of = checkMspId(e.of, `reveal ${what}[${i}].of`);
    fromHex(e.share, SHARE_BYTES, `reveal ${what}[${i}].share`);
    return { of, share: e.share as string };
  });
  if (!strictlySorted(shares.map((s) => s.of))) {
    throw malformed(`reveal ${what} must be sorted by hospital, one share each`, from);
  }
  return shares;
}
