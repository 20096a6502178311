// Secure aggregation's arithmetic: the unmasked sum of quantised weighted updates equals the
// weighted sum within the documented bound, masks cancel, and the fixed-point encoding behaves at
// its edges.
import { expect } from 'chai';
import type { SecAggSettings } from '../src/secagg';
import { dequantise, quantise, unmaskSum, defaultSecAggSettings } from '../src/secagg';
import {
  ctx,
  dealAndOpen,
  hospitals,
  maskAll,
  plainSum,
  revealAll,
  seededVector,
} from './secagg-helpers';

const P = 19_011;

describe('secure aggregation: sums', function () {
  this.timeout(60_000);

  it('unmasks three weighted updates to Σ w·Δ within n·2^-(f+1) per coordinate', async () => {
    const counts = [1200, 800, 2000];
    const total = counts.reduce((a, b) => a + b, 0);
    const settings = defaultSecAggSettings(3, total);
    const all = hospitals(3);
    const updates = all.map((_, k) => seededVector(P, k + 1, 0.5));
    const quantised = new Map(
      all.map((h, k) => [
        h.name,
        quantise(updates[k] as Float64Array, (counts[k] as number) / total, settings),
      ]),
    );
    const { held } = await dealAndOpen(all, settings.threshold);
    const masked = maskAll(all, all, quantised);
    const names = all.map((h) => h.name);
    const reveals = revealAll(all, held, names, []);
    const sum = await unmaskSum(
      ctx,
      all.map((h) => h.ad),
      masked,
      reveals,
      settings.threshold,
    );
    const decoded = dequantise(sum, settings);
    let maxError = 0;
    for (let i = 0; i < P; i++) {
      let expected = 0;
      counts.forEach(
        (c, k) => (expected += (c / total) * ((updates[k] as Float64Array)[i] as number)),
      );
      maxError = Math.max(maxError, Math.abs((decoded[i] as number) - expected));
    }
    const bound = 3 * 2 ** -(settings.fractionBits + 1);
    expect(maxError).to.be.at.most(bound);
    // The bound is tight enough to mean something: errors are of its order, not zero.
    expect(maxError).to.be.greaterThan(bound / 100);
    expect(sum).to.deep.equal(plainSum(quantised.values(), P));
  });

  it('cancels the masks of ten hospitals exactly', async () => {
    const settings = defaultSecAggSettings(10, 10);
    const all = hospitals(10);
    const quantised = new Map(
      all.map((h, k) => [h.name, quantise(seededVector(2_000, 100 + k), 0.1, settings)]),
    );
    const { held } = await dealAndOpen(all, settings.threshold);
    const masked = maskAll(all, all, quantised);
    // The masked sum alone is noise: the self masks are still in it.
    expect(plainSum(masked.values(), 2_000)).not.to.deep.equal(plainSum(quantised.values(), 2_000));
    const names = all.map((h) => h.name);
    const sum = await unmaskSum(
      ctx,
      all.map((h) => h.ad),
      masked,
      revealAll(all, held, names, []),
      settings.threshold,
    );
    const plain = plainSum(quantised.values(), 2_000);
    const difference = sum.map((x, i) => (x - (plain[i] as number)) >>> 0);
    expect(difference.every((d) => d === 0)).to.equal(true);
  });
});

describe('secure aggregation: fixed-point encoding', () => {
  const settings: SecAggSettings = {
    threshold: 2,
    range: 16,
    fractionBits: 26,
    weightScale: 4,
    phaseSeconds: 60,
    minSurvivors: 2,
  };

  it('round-trips negative, positive and zero values with two’s complement', () => {
    const q = quantise([-1.5, 0, 2.25, -(2 ** -26)], 1, settings);
    expect([...dequantise(q, settings)]).to.deep.equal([-1.5, 0, 2.25, -(2 ** -26)]);
    expect(q[0]).to.be.greaterThan(2 ** 31); // negative values wrap to the top half
  });

  it('applies the weight before clamping to ±range', () => {
    const q = quantise([100, -100, 10], 0.5, settings);
    expect([...dequantise(q, settings)]).to.deep.equal([16, -16, 5]);
  });

  it('sums wrap mod 2^32 and decode as signed', () => {
    const a = quantise([-3], 1, settings);
    const b = quantise([1], 1, settings);
    expect([...dequantise(plainSum([a, b], 1), settings)]).to.deep.equal([-2]);
  });

  it('refuses non-finite values and bad weights', () => {
    expect(() => quantise([Number.NaN], 1, settings)).to.throw(/not a finite/);
    expect(() => quantise([1], -1, settings)).to.throw(/weight/);
    expect(() => quantise([1], Number.POSITIVE_INFINITY, settings)).to.throw(/weight/);
  });
});
