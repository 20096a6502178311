// bench:secagg's whole-round figures: the local round measured on a tiny synthetic hospital, and
// the per-hospital round arithmetic and ledger counts checked against hand-computed tables.
import { expect } from 'chai';
import { measureLocalRound } from '../bench/local-round';
import { roundOverhead, roundTransactions } from '../bench/round-overhead';
import type { SecAggRoundFigures } from '../bench/secagg-round';

/** Round figures with easy numbers; only the timings matter to the arithmetic. */
function figures(over: Partial<SecAggRoundFigures>): SecAggRoundFigures {
  return {
    hospitals: 3,
    parameters: 19_011,
    threshold: 2,
    clientMaskMs: 17,
    plainClientMs: 0.5,
    maskedEncodeMs: 0.25,
    clientOpenRevealMs: 5,
    unmaskMs: 3,
    unmaskDroppedMs: 6,
    plainSumMs: 1.5,
    maskedContainerBytes: 0,
    bundleBytes: 0,
    revealBytes: 0,
    secaggBytes: 0,
    plainBytes: 0,
    maxAbsError: 0,
    errorBound: 0,
    ...over,
  };
}

describe('bench:secagg, a whole round per hospital', function () {
  this.timeout(60_000);

  it('adds training to both sides and shares the gateway’s work among the n hospitals', () => {
    const r = roundOverhead(figures({}), 1000);
    // 1000 + 0.5 + 1.5/3 and 1000 + 17 + 0.25 + 5 + 3/3
    expect(r.plainRoundMs).to.equal(1001);
    expect(r.secaggRoundMs).to.equal(1023.25);
    expect(r.ratio).to.be.closeTo(1023.25 / 1001, 1e-12);
    expect(r.meetsTarget).to.equal(true);
    // (17 + 3) / (0.5 + 1.5): the cryptography alone, unchanged by training
    expect(r.computeRatio).to.equal(10);
  });

  it('fails the ≤ 2× target when the cryptography outweighs the training', () => {
    const r = roundOverhead(figures({ hospitals: 10, unmaskMs: 50 }), 10);
    // 10 + 0.5 + 0.15 = 10.65 against 10 + 17 + 0.25 + 5 + 5 = 37.25
    expect(r.plainRoundMs).to.be.closeTo(10.65, 1e-12);
    expect(r.secaggRoundMs).to.be.closeTo(37.25, 1e-12);
    expect(r.meetsTarget).to.equal(false);
  });

  it('refuses a training time that is not a time', () => {
    for (const bad of [NaN, -1, Infinity])
      expect(() => roundOverhead(figures({}), bad)).to.throw(RangeError);
  });

  it('counts n + 2 ledger transactions for a plaintext round and n + 2 more for a secure one', () => {
    expect(roundTransactions(3)).to.deep.equal({
      plaintext: 5,
      addedByHospitals: 3,
      addedByCoordinator: 2,
      secagg: 10,
    });
    expect(roundTransactions(50).secagg).to.equal(104);
    expect(() => roundTransactions(0)).to.throw(RangeError);
    expect(() => roundTransactions(2.5)).to.throw(RangeError);
  });

  it('times the trainer’s local round of a small synthetic hospital, plainly and with DP-SGD', async () => {
    const lines: string[] = [];
    const f = await measureLocalRound({
      patients: 300,
      epochs: 1,
      seed: 7,
      dpSgd: { targetEpsilon: 1, delta: 1e-5, plannedRounds: 2 },
      progress: (l) => lines.push(l),
    });
    expect(f.patients).to.equal(300);
    expect(f.epochs).to.equal(1);
    // The reference MLP on the synthetic schema: the reference update's size.
    expect(f.parameters).to.equal(19_011);
    // 80 % of the patients form the training split; oversampling only adds rows.
    expect(f.sampleCount).to.be.within(230, 250);
    expect(f.trainRows).to.be.at.least(f.sampleCount);
    expect(f.plainMs).to.be.greaterThan(0);
    expect(f.dpSgdMs).to.be.greaterThan(0);
    expect(f.backend).to.be.a('string').and.not.equal('');
    expect(lines.some((l) => l.includes('DP-SGD'))).to.equal(true);
  });
});
