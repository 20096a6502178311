// Secure aggregation's wire messages under malformed input: share bundles and reveals that are
// not canonical JSON, have fields missing, extra or out of bounds, or are oversized, are refused
// with SECAGG_MALFORMED; well-formed ones round-trip byte for byte.
import { expect } from 'chai';
import type { ShareBundle } from '../src/secagg';
import {
  MAX_BUNDLE_BYTES,
  MAX_REVEAL_BYTES,
  decodeReveal,
  decodeShareBundle,
  encodeReveal,
  encodeShareBundle,
  revealShares,
} from '../src/secagg';
import { ctx, dealAndOpen, expectCode, hospitals, sortKeys } from './secagg-helpers';

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
