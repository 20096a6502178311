// Shared fixtures of the secure-aggregation tests: a simulated round of n hospitals run through
// the protocol's own functions (advertise, deal, open, mask, reveal), and seeded random updates.
import { expect } from 'chai';
import type {
  HeldShare,
  KeyAdvertisement,
  Reveal,
  RoundContext,
  RoundSecrets,
  SecAggErrorCode,
  ShareBundle,
} from '../src/secagg';
import {
  SecAggError,
  advertise,
  dealShares,
  maskUpdate,
  newRoundSecrets,
  openShare,
  revealShares,
} from '../src/secagg';

export const ctx: RoundContext = { runId: 'run-secagg', round: 3 };

export interface Hospital {
  name: string;
  secrets: RoundSecrets;
  ad: KeyAdvertisement;
}

/** n hospitals with fresh secrets and their advertisements for `ctx`. */
export function hospitals(n: number, context: RoundContext = ctx): Hospital[] {
  return Array.from({ length: n }, (_, k) => {
    const name = `Hospital${String(k + 1).padStart(2, '0')}MSP`;
    const secrets = newRoundSecrets();
    return { name, secrets, ad: advertise(context, name, secrets) };
  });
}

/** Every hospital deals to all; each opens its entry of every bundle. */
export async function dealAndOpen(
  all: readonly Hospital[],
  threshold: number,
  context: RoundContext = ctx,
): Promise<{ bundles: Map<string, ShareBundle>; held: Map<string, HeldShare[]> }> {
  const ads = all.map((h) => h.ad);
  const bundles = new Map<string, ShareBundle>();
  for (const h of all)
    bundles.set(h.name, await dealShares(context, h.name, h.secrets, ads, threshold));
  const held = new Map<string, HeldShare[]>();
  for (const me of all) {
    held.set(
      me.name,
      all.map((dealer) =>
        openShare(context, me.name, me.secrets, bundles.get(dealer.name) as ShareBundle, dealer.ad),
      ),
    );
  }
  return { bundles, held };
}

/** The survivors' masked vectors, each masked against the whole mask set. */
export function maskAll(
  all: readonly Hospital[],
  survivors: readonly Hospital[],
  quantised: ReadonlyMap<string, Uint32Array>,
): Map<string, Uint32Array> {
  const ads = all.map((h) => h.ad);
  return new Map(
    survivors.map((h) => [
      h.name,
      maskUpdate(ctx, h.name, h.secrets, ads, quantised.get(h.name) as Uint32Array),
    ]),
  );
}

/** What each revealer reveals, given who survived. */
export function revealAll(
  revealers: readonly Hospital[],
  held: ReadonlyMap<string, HeldShare[]>,
  survivors: readonly string[],
  dropped: readonly string[],
): Reveal[] {
  return revealers.map((h) =>
    revealShares(ctx, h.name, held.get(h.name) as HeldShare[], survivors, dropped),
  );
}

/** Σ of quantised vectors mod 2^32. */
export function plainSum(vectors: Iterable<Uint32Array>, length: number): Uint32Array {
  const sum = new Uint32Array(length);
  for (const v of vectors)
    for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + (v[i] as number);
  return sum;
}

/** Deterministic values in [-scale, scale] (xorshift32), so failures reproduce. */
export function seededVector(length: number, seed: number, scale = 1): Float64Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 0xffffffff) * 2 - 1) * scale;
  }
  return out;
}

/** The SecAggError a call throws (sync or async), failing the test if it throws none. */
export async function refusal(work: () => unknown): Promise<SecAggError> {
  let caught: unknown;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a refusal').to.be.instanceOf(SecAggError);
  return caught as SecAggError;
}

/** Asserts a call is refused with `code`. */
export async function expectCode(work: () => unknown, code: SecAggErrorCode): Promise<SecAggError> {
  const error = await refusal(work);
  expect(error.code, error.message).to.equal(code);
  return error;
}

/** JSON with sorted keys, like canonical JSON, for hand-built messages. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
