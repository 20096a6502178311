// Round keys, advertisements, the secrets file and the run settings: what is accepted and what
// is refused, with the stable codes callers rely on.
import { expect } from 'chai';
import {
  advertise,
  checkAdvertisement,
  checkRunSecAggSettings,
  checkSettings,
  dealShares,
  defaultSecAggSettings,
  maskUpdate,
  newRoundSecrets,
  parseSecrets,
  serializeSecrets,
} from '../src/secagg';
import { ctx, expectCode, hospitals } from './secagg-helpers';

describe('secure aggregation: keys and advertisements', () => {
  const secrets = newRoundSecrets();
  const ad = advertise(ctx, 'Hospital01MSP', secrets);

  it('advertises two distinct public keys and a round-bound seed commitment', () => {
    expect(checkAdvertisement(ad)).to.deep.equal(ad);
    expect(ad.encryptionKey).to.match(/^[0-9a-f]{64}$/);
    expect(ad.maskKey).not.to.equal(ad.encryptionKey);
    const next = advertise({ ...ctx, round: ctx.round + 1 }, 'Hospital01MSP', secrets);
    expect(next.selfMaskCommitment).not.to.equal(ad.selfMaskCommitment);
    expect(advertise(ctx, 'Hospital02MSP', secrets).selfMaskCommitment).not.to.equal(
      ad.selfMaskCommitment,
    );
  });

  const bad: [string, unknown][] = [
    ['a string', 'x'],
    ['an extra field', { ...ad, note: 'x' }],
    ['a missing field', { mspId: ad.mspId, encryptionKey: ad.encryptionKey, maskKey: ad.maskKey }],
    ['a short key', { ...ad, maskKey: ad.maskKey.slice(2) }],
    ['uppercase hex', { ...ad, encryptionKey: ad.encryptionKey.toUpperCase() }],
    ['the same key twice', { ...ad, maskKey: ad.encryptionKey }],
    ['a low-order key (zero)', { ...ad, maskKey: '00'.repeat(32) }],
    ['a low-order key (one)', { ...ad, encryptionKey: '01' + '00'.repeat(31) }],
    ['an empty MSP ID', { ...ad, mspId: '' }],
  ];
  for (const [what, value] of bad) {
    it(`refuses an advertisement with ${what}`, async () => {
      await expectCode(() => checkAdvertisement(value), 'SECAGG_MALFORMED');
    });
  }

  it('round-trips secrets through their file and refuses anything else', async () => {
    const parsed = parseSecrets(serializeSecrets(secrets));
    expect(advertise(ctx, 'Hospital01MSP', parsed)).to.deep.equal(ad);
    await expectCode(() => parseSecrets('not json'), 'SECAGG_MALFORMED');
    const json = JSON.parse(serializeSecrets(secrets)) as Record<string, string>;
    await expectCode(
      () => parseSecrets(JSON.stringify({ ...json, maskSecret: 'ab' })),
      'SECAGG_MALFORMED',
    );
    await expectCode(
      () => parseSecrets(JSON.stringify({ ...json, format: 'x' })),
      'SECAGG_MALFORMED',
    );
  });

  it('refuses to deal or mask under secrets its advertisement does not match', async () => {
    const all = hospitals(3);
    const ads = all.map((h) => h.ad);
    const [a] = all as [(typeof all)[0]];
    const other = newRoundSecrets();
    await expectCode(() => dealShares(ctx, a.name, other, ads, 2), 'SECAGG_MALFORMED');
    await expectCode(
      () => maskUpdate(ctx, a.name, other, ads, new Uint32Array(3)),
      'SECAGG_MALFORMED',
    );
    await expectCode(() => dealShares(ctx, a.name, a.secrets, ads, 4), 'SECAGG_SETTINGS');
    await expectCode(
      () => dealShares(ctx, a.name, a.secrets, [...ads, a.ad], 2),
      'SECAGG_MALFORMED',
    );
    await expectCode(
      () => maskUpdate(ctx, 'NobodyMSP', a.secrets, ads, new Uint32Array(3)),
      'SECAGG_MALFORMED',
    );
  });
});

describe('secure aggregation: settings', () => {
  const good = defaultSecAggSettings(3, 4000);

  it('defaults to a majority threshold, range 16, 26 fraction bits, 60 s phases', () => {
    expect(good).to.deep.equal({
      threshold: 2,
      range: 16,
      fractionBits: 26,
      weightScale: 4000,
      phaseSeconds: 60,
      minSurvivors: 3,
    });
    expect(defaultSecAggSettings(2, 1).minSurvivors).to.equal(2);
    expect(defaultSecAggSettings(10, 1).minSurvivors).to.equal(3);
    expect(defaultSecAggSettings(10, 1).threshold).to.equal(6);
    expect(defaultSecAggSettings(2, 1).threshold).to.equal(2);
    expect(checkSettings(good, 3)).to.deep.equal(good);
  });

  const bad: [string, unknown, number][] = [
    ['not an object', null, 3],
    ['an unknown field', { ...good, extra: 1 }, 3],
    ['a threshold of 1', { ...good, threshold: 1 }, 3],
    ['a threshold above the participants', { ...good, threshold: 4 }, 3],
    ['a fractional threshold', { ...good, threshold: 2.5 }, 3],
    ['one participant', { ...good }, 1],
    ['a zero range', { ...good, range: 0 }, 3],
    ['range · 2^f at 2^31', { ...good, range: 32 }, 3],
    ['fraction bits 31', { ...good, range: 0.5, fractionBits: 31 }, 3],
    ['fractional fraction bits', { ...good, fractionBits: 2.5 }, 3],
    ['a zero weight scale', { ...good, weightScale: 0 }, 3],
    ['a fractional weight scale', { ...good, weightScale: 1.5 }, 3],
    ['a zero phase', { ...good, phaseSeconds: 0 }, 3],
    ['a string number', { ...good, range: '16' }, 3],
    ['one survivor', { ...good, minSurvivors: 1 }, 3],
    ['more survivors than participants', { ...good, minSurvivors: 4 }, 3],
  ];
  for (const [what, value, participants] of bad) {
    it(`refuses settings with ${what}`, async () => {
      await expectCode(() => checkSettings(value, participants), 'SECAGG_SETTINGS');
    });
  }

  const three = ['A', 'B', 'C'];
  const counts = { A: 1000, B: 1000, C: 2000 };
  it('accepts settings that fit the run: weights over the declared samples, a majority threshold', () => {
    expect(checkRunSecAggSettings(good, three, counts)).to.deep.equal(good);
  });
  const six = { A: 1000, B: 1000, C: 500, D: 500, E: 500, F: 500 };
  const misfits: [string, unknown, Record<string, number>][] = [
    [
      'a weight divisor above the declared samples (every update quantised to 0)',
      { ...good, weightScale: 2 ** 40 },
      counts,
    ],
    ['a weight divisor below them (the sum wraps)', { ...good, weightScale: 1 }, counts],
    ['a minority threshold', { ...defaultSecAggSettings(6, 4000), threshold: 2 }, six],
    ['too few fraction bits', { ...good, fractionBits: 8 }, counts],
    ['a range below 1', { ...good, range: 0.5 }, counts],
  ];
  for (const [what, value, declared] of misfits) {
    it(`refuses run settings with ${what}`, async () => {
      const participants = Object.keys(declared);
      await expectCode(
        () => checkRunSecAggSettings(value, participants, declared),
        'SECAGG_SETTINGS',
      );
    });
  }
});
