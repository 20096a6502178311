// bench:secagg's measuring function on a tiny round (P = 100, n = 3): it runs the whole protocol,
// checks the unmasked sums itself, and returns figures that add up.
import { expect } from 'chai';
import { measureSecAggRound } from '../bench/secagg-round';

describe('bench:secagg, one simulated secure-aggregation round', function () {
  this.timeout(60_000);

  it('times masking and unmasking of three hospitals’ 100-parameter updates', async () => {
    const lines: string[] = [];
    const f = await measureSecAggRound({
      hospitals: 3,
      parameters: 100,
      runs: 1,
      progress: (l) => lines.push(l),
    });
    expect(f.hospitals).to.equal(3);
    expect(f.parameters).to.equal(100);
    expect(f.threshold).to.equal(2);
    for (const ms of [
      f.clientMaskMs,
      f.plainClientMs,
      f.unmaskMs,
      f.unmaskDroppedMs,
      f.plainSumMs,
    ]) {
      expect(ms).to.be.greaterThan(0);
    }
    expect(f.secaggBytes).to.equal(f.maskedContainerBytes + f.bundleBytes + f.revealBytes);
    // An I32 and an F32 tensor of the same length: the same container size.
    expect(Math.abs(f.maskedContainerBytes - f.plainBytes)).to.be.below(16);
    expect(f.bundleBytes).to.be.greaterThan(3 * 164);
    expect(f.maxAbsError).to.be.at.most(f.errorBound);
    expect(f.errorBound).to.equal(3 * 2 ** -27);
    expect(lines.some((l) => l.includes('unmasking'))).to.equal(true);
  });
});
