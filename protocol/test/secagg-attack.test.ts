// Secure aggregation under attack: lying revealers, a gateway that moves, alters or forges sealed
// shares, a request to reveal both secrets of one hospital, and malformed or oversized messages.
// Each test plays the dishonest party and asserts the honest side refuses or still gets it right.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Reveal, ShareBundle } from '../src/secagg';
import {
  MAX_BUNDLE_BYTES,
  MAX_REVEAL_BYTES,
  advertise,
  dealShares,
  decodeReveal,
  decodeShareBundle,
  encodeReveal,
  encodeShareBundle,
  newRoundSecrets,
  openShare,
  quantise,
  revealShares,
  defaultSecAggSettings,
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

describe('secure aggregation: a gateway tampering with sealed shares', function () {
  this.timeout(30_000);
  let all: Hospital[];
  let bundle: ShareBundle;
  let a: Hospital;
  let b: Hospital;
  let c: Hospital;

  before(async () => {
    all = hospitals(3);
    [a, b, c] = all as [Hospital, Hospital, Hospital];
    bundle = await dealShares(
      ctx,
      a.name,
      a.secrets,
      all.map((h) => h.ad),
      2,
    );
  });

  it('the genuine entry opens', () => {
    const share = openShare(ctx, b.name, b.secrets, bundle, a.ad);
    expect(share.dealer).to.equal(a.name);
    expect(share.maskSecretShare).to.have.length(33);
  });

  it('refuses an entry moved to another recipient', async () => {
    const swapped = structuredClone(bundle);
    const [, forB, forC] = swapped.shares as [
      unknown,
      ShareBundle['shares'][0],
      ShareBundle['shares'][0],
    ];
    [forB.nonce, forC.nonce] = [forC.nonce, forB.nonce];
    [forB.ciphertext, forC.ciphertext] = [forC.ciphertext, forB.ciphertext];
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, swapped, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
    await expectCode(
      () => openShare(ctx, c.name, c.secrets, swapped, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses an entry reflected back: b’s share for a passed off as a’s share for b', async () => {
    // Both directions of a pair agree on the same X25519 secret; the key and associated data
    // name dealer and recipient so one direction cannot stand in for the other.
    const fromB = await dealShares(
      ctx,
      b.name,
      b.secrets,
      all.map((h) => h.ad),
      2,
    );
    const reflected = structuredClone(bundle);
    const target = reflected.shares[1] as ShareBundle['shares'][0];
    const source = fromB.shares[0] as ShareBundle['shares'][0];
    target.nonce = source.nonce;
    target.ciphertext = source.ciphertext;
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, reflected, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses an altered ciphertext', async () => {
    const altered = structuredClone(bundle);
    const entry = altered.shares[1] as ShareBundle['shares'][0];
    entry.ciphertext = (entry.ciphertext[0] === '0' ? '1' : '0') + entry.ciphertext.slice(1);
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, altered, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses a bundle dealt under a substituted key advertisement', async () => {
    // The gateway makes keys of its own, advertises them as a's to the dealing step, and deals
    // shares it knows; b opens with a's advertisement from the ledger.
    const forged = newRoundSecrets();
    const forgedAd = advertise(ctx, a.name, forged);
    const fake = await dealShares(ctx, a.name, forged, [forgedAd, b.ad, c.ad], 2);
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, fake, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
    // And a's genuine bundle does not open against the substituted advertisement.
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, bundle, forgedAd),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses an entry replayed from another round', async () => {
    const other = { runId: ctx.runId, round: ctx.round + 1 };
    const old = await dealShares(
      other,
      a.name,
      a.secrets,
      all.map((h) => h.ad),
      2,
    );
    await expectCode(() => openShare(ctx, b.name, b.secrets, old, a.ad), 'SECAGG_MALFORMED');
    const relabelled = { ...old, round: ctx.round };
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, relabelled, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses a bundle that names another dealer or lacks the recipient', async () => {
    await expectCode(() => openShare(ctx, b.name, b.secrets, bundle, c.ad), 'SECAGG_MALFORMED');
    const partial = await dealShares(ctx, a.name, a.secrets, [a.ad, c.ad], 2);
    await expectCode(() => openShare(ctx, b.name, b.secrets, partial, a.ad), 'SECAGG_MALFORMED');
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

/** JSON with sorted keys, like canonical JSON, for hand-built messages. */
function sortKeys(value: unknown): unknown {
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

describe('secure aggregation: malformed messages', function () {
  this.timeout(30_000);
  let bundleBytes: Uint8Array;
  let revealBytes: Uint8Array;

  before(async () => {
    const all = hospitals(3);
    const { bundles, held } = await dealAndOpen(all, 2);
    const names = all.map((h) => h.name);
    bundleBytes = encodeShareBundle(bundles.get(names[0] as string) as ShareBundle);
    revealBytes = encodeReveal(
      revealShares(
        ctx,
        names[0] as string,
        held.get(names[0] as string) ?? [],
        names.slice(0, 2),
        names.slice(2),
      ),
    );
  });

  const edit = (bytes: Uint8Array, change: (v: Record<string, unknown>) => void): Uint8Array => {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    change(value);
    return Buffer.from(JSON.stringify(sortKeys(value)));
  };

  it('round-trips both messages byte for byte', () => {
    expect(encodeShareBundle(decodeShareBundle(bundleBytes))).to.deep.equal(bundleBytes);
    expect(encodeReveal(decodeReveal(revealBytes))).to.deep.equal(revealBytes);
  });

  const bundleCases: [string, (b: Uint8Array) => Uint8Array][] = [
    ['not JSON', () => Buffer.from('{"format":')],
    ['invalid UTF-8', () => Buffer.from([0x7b, 0xff, 0x7d])],
    [
      'not canonical (spaces)',
      (b) => Buffer.from(JSON.stringify(JSON.parse(Buffer.from(b).toString()), null, 1)),
    ],
    ['an extra field', (b) => edit(b, (v) => (v.extra = 1))],
    ['another format', (b) => edit(b, (v) => (v.format = 'fedledger-secagg-shares/2'))],
    ['unsorted recipients', (b) => edit(b, (v) => (v.recipients as string[]).reverse())],
    ['a threshold above the recipients', (b) => edit(b, (v) => (v.threshold = 4))],
    [
      'a short nonce',
      (b) => edit(b, (v) => ((v.shares as { nonce: string }[])[0]!.nonce = 'abcd')),
    ],
    [
      'uppercase hex',
      (b) =>
        edit(b, (v) => {
          const s = (v.shares as { ciphertext: string }[])[0]!;
          s.ciphertext = s.ciphertext.toUpperCase();
        }),
    ],
    ['a missing share', (b) => edit(b, (v) => (v.shares as unknown[]).pop())],
    ['a negative round', (b) => edit(b, (v) => (v.round = -1))],
    ['oversized input', () => Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20)],
  ];
  for (const [what, make] of bundleCases) {
    it(`decodeShareBundle refuses ${what}`, async () => {
      await expectCode(() => decodeShareBundle(make(bundleBytes)), 'SECAGG_MALFORMED');
    });
  }

  const revealCases: [string, (b: Uint8Array) => Uint8Array][] = [
    ['not JSON', () => Buffer.from('[]]')],
    ['an array', () => Buffer.from('[]')],
    [
      'a share of the wrong length',
      (b) => edit(b, (v) => ((v.selfMaskShares as { share: string }[])[0]!.share = '00')),
    ],
    ['a missing field', (b) => edit(b, (v) => delete v.maskSecretShares)],
    ['shares out of order', (b) => edit(b, (v) => (v.selfMaskShares as unknown[]).reverse())],
    ['an empty revealer', (b) => edit(b, (v) => (v.from = ''))],
    ['oversized input', () => Buffer.alloc(MAX_REVEAL_BYTES + 1, 0x20)],
  ];
  for (const [what, make] of revealCases) {
    it(`decodeReveal refuses ${what}`, async () => {
      await expectCode(() => decodeReveal(make(revealBytes)), 'SECAGG_MALFORMED');
    });
  }
});
