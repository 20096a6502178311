// Secure aggregation against dishonest revealers and reveal requests: a revealer that lies, a
// reveal of another round, a request to reveal both secrets of one hospital or a hospital's own
// mask secret. Each test plays the dishonest party and asserts the honest side still gets the
// right sum or refuses.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Reveal } from '../src/secagg';
import {
  decodeReveal,
  defaultSecAggSettings,
  encodeReveal,
  quantise,
  revealShares,
  unmaskSum,
} from '../src/secagg';
import type { Hospital } from './secagg-helpers';
import {
  ctx,
  dealAndOpen,
  expectCode,
  hospitals,
  maskAll,
  plainSum,
  revealAll,
  seededVector,
  sortKeys,
} from './secagg-helpers';

const P = 1_000;

/** A reveal whose every share is replaced: random bytes, or the same x coordinate with a false y. */
function lie(reveal: Reveal, keepX: boolean): Reveal {
  const forge = (share: string): string => {
    const bytes = randomBytes(33);
    if (keepX) bytes[32] = Buffer.from(share, 'hex')[32] as number;
    return bytes.toString('hex');
  };
  return {
    ...reveal,
    selfMaskShares: reveal.selfMaskShares.map((s) => ({ of: s.of, share: forge(s.share) })),
    maskSecretShares: reveal.maskSecretShares.map((s) => ({ of: s.of, share: forge(s.share) })),
  };
}

describe('secure aggregation: lying revealers', function () {
  this.timeout(60_000);
  let all: Hospital[];
  let quantised: Map<string, Uint32Array>;
  let held: Awaited<ReturnType<typeof dealAndOpen>>['held'];

  before(async () => {
    all = hospitals(5);
    const settings = defaultSecAggSettings(5, 5);
    quantised = new Map(
      all.map((h, k) => [h.name, quantise(seededVector(P, 60 + k), 0.2, settings)]),
    );
    ({ held } = await dealAndOpen(all, 3));
  });

  for (const keepX of [false, true]) {
    const how = keepX ? 'false values at its true x coordinates' : 'random shares';
    it(`recovers the exact sum despite one revealer sending ${how} (t = 3 honest remain)`, async () => {
      const alive = all.slice(0, 4);
      const gone = all.slice(4);
      const masked = maskAll(all, alive, quantised);
      const reveals = revealAll(
        alive,
        held,
        alive.map((h) => h.name),
        gone.map((h) => h.name),
      );
      reveals[0] = lie(reveals[0] as Reveal, keepX);
      const sum = await unmaskSum(
        ctx,
        all.map((h) => h.ad),
        masked,
        reveals,
        3,
      );
      expect(sum).to.deep.equal(
        plainSum(
          alive.map((h) => quantised.get(h.name) as Uint32Array),
          P,
        ),
      );
    });
  }

  it('refuses, naming the hospital, when a lie leaves fewer than t honest shares', async () => {
    const masked = maskAll(all, all, quantised);
    const names = all.map((h) => h.name);
    const reveals = revealAll(all.slice(0, 3), held, names, []);
    reveals[2] = lie(reveals[2] as Reveal, true);
    const error = await expectCode(
      () =>
        unmaskSum(
          ctx,
          all.map((h) => h.ad),
          masked,
          reveals,
          3,
        ),
      'SECAGG_RECOVERY_FAILED',
    );
    expect(names).to.include(error.mspId);
    expect(error.message).to.contain(String(error.mspId));
  });

  it('counts only reveals of this round: one relabelled from another round is left out', async () => {
    const masked = maskAll(all, all, quantised);
    const names = all.map((h) => h.name);
    const reveals = revealAll(all.slice(0, 3), held, names, []);
    // Two current reveals are below t = 3; the third, moved to another round, must not count.
    const stale = { ...(reveals[2] as Reveal), round: ctx.round + 1 };
    await expectCode(
      () =>
        unmaskSum(
          ctx,
          all.map((h) => h.ad),
          masked,
          [reveals[0], reveals[1], stale] as Reveal[],
          3,
        ),
      'SECAGG_RECOVERY_FAILED',
    );
    const sum = await unmaskSum(
      ctx,
      all.map((h) => h.ad),
      masked,
      reveals,
      3,
    );
    expect(sum).to.deep.equal(plainSum(quantised.values(), P));
  });
});

describe('secure aggregation: reveal requests', function () {
  this.timeout(30_000);
  let all: Hospital[];
  let held: Awaited<ReturnType<typeof dealAndOpen>>['held'];

  before(async () => {
    all = hospitals(3);
    ({ held } = await dealAndOpen(all, 2));
  });

  it('refuses to reveal both secrets of one hospital', async () => {
    const [a, b, c] = all.map((h) => h.name) as [string, string, string];
    const error = await expectCode(
      () => revealShares(ctx, a, held.get(a) ?? [], [a, b, c], [c]),
      'SECAGG_MALFORMED',
    );
    expect(error.mspId).to.equal(c);
  });

  it('refuses to reveal its own mask secret, or for a lone survivor', async () => {
    const [a, b, c] = all.map((h) => h.name) as [string, string, string];
    await expectCode(
      () => revealShares(ctx, a, held.get(a) ?? [], [b, c], [a]),
      'SECAGG_MALFORMED',
    );
    await expectCode(
      () => revealShares(ctx, a, held.get(a) ?? [], [a], [b, c]),
      'SECAGG_MALFORMED',
    );
  });

  it('a reveal holding both secrets of one hospital does not decode', async () => {
    const [a, b, c] = all.map((h) => h.name) as [string, string, string];
    const r = revealShares(ctx, a, held.get(a) ?? [], [a, b], [c]);
    const both = { ...r, selfMaskShares: [...r.selfMaskShares, ...r.maskSecretShares] };
    await expectCode(
      () => decodeReveal(Buffer.from(JSON.stringify(sortKeys(both)))),
      'SECAGG_MALFORMED',
    );
    await expectCode(() => encodeReveal(both), 'SECAGG_MALFORMED');
  });
});
