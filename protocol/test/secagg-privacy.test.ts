// What the gateway sees of one hospital: its masked vector carries no trace of the update (no
// linear correlation, bytes uniform), while the unmasked quantised vector is the update itself.
import { expect } from 'chai';
import type { RoundSecrets } from '../src/secagg';
import {
  advertise,
  defaultSecAggSettings,
  maskUpdate,
  newRoundSecrets,
  quantise,
} from '../src/secagg';
import { ctx, seededVector } from './secagg-helpers';

const P = 19_011;

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** χ² of the byte values of `words` against the uniform distribution (255 degrees of freedom). */
function byteChiSquare(words: Uint32Array): number {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b] = (counts[b] as number) + 1;
  const expected = bytes.length / 256;
  return counts.reduce((chi, c) => chi + (c - expected) ** 2 / expected, 0);
}

describe('secure aggregation: a masked update hides the update', () => {
  const signed = (v: Uint32Array): Int32Array => new Int32Array(v.buffer, v.byteOffset, v.length);
  let update: Float64Array;
  let plain: Uint32Array;
  let masked: Uint32Array;

  before(() => {
    const settings = defaultSecAggSettings(3, 3);
    const names = ['Hospital01MSP', 'Hospital02MSP', 'Hospital03MSP'];
    const secrets = names.map(() => newRoundSecrets());
    const ads = names.map((name, k) => advertise(ctx, name, secrets[k] as RoundSecrets));
    update = seededVector(P, 7, 0.2);
    plain = quantise(update, 1 / 3, settings);
    // The middle hospital: it adds one pairwise mask and subtracts the other.
    masked = maskUpdate(ctx, names[1] as string, secrets[1] as RoundSecrets, ads, plain);
  });

  it('the plain quantised vector is the update (sanity: the measures can see a signal)', () => {
    expect(pearson(signed(plain), update)).to.be.greaterThan(0.999);
    // Small signed integers are far from byte-uniform: χ² in the tens of thousands.
    expect(byteChiSquare(plain)).to.be.greaterThan(10_000);
  });

  it('the masked vector is uncorrelated with the plain one over 19,011 coordinates', () => {
    expect(Math.abs(pearson(signed(masked), signed(plain)))).to.be.below(0.05);
    expect(Math.abs(pearson(masked, plain))).to.be.below(0.05);
    expect(Math.abs(pearson(signed(masked), update))).to.be.below(0.05);
  });

  it('the masked vector’s bytes are uniform (χ² with 255 degrees of freedom below 400)', () => {
    // Mean 255, standard deviation 22.6: 400 is over six deviations out.
    expect(byteChiSquare(masked)).to.be.below(400);
  });
});
