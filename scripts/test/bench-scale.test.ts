// bench:scale's one measurement, for real on the simulated ledger: a gateway process of its own,
// a run of five hospitals each signing its own submission, the round closed with every update
// and the next one open, and the gateway's memory read from /proc while it happened.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { measureRound } from '../bench/scale-round';

describe('bench:scale, one round of n hospitals (simulated ledger)', function () {
  this.timeout(120_000);

  it('times upload and close of a five-hospital round and reads the gateway’s memory', async () => {
    const result = await measureRound({
      ledger: 'simulated',
      hospitals: 5,
      model: {
        label: 'light',
        spec: {
          name: 'light',
          inputDim: 4,
          layers: [
            { units: 5, activation: 'relu' },
            { units: 3, activation: 'softmax' },
          ],
        },
      },
      concurrency: 2,
      pkiDir: join(mkdtempSync(join(tmpdir(), 'fedledger-scale-test-')), 'pki'),
    });
    expect(result.hospitals).to.equal(5);
    expect(result.parameters).to.equal(43);
    expect(result.uploadS).to.be.greaterThan(0);
    expect(result.closeS).to.be.greaterThan(0);
    expect(result.roundS).to.be.closeTo(result.uploadS + result.closeS, 1e-9);
    expect(result.decideS + result.closeRoundS + result.openRoundS).to.be.at.most(
      result.closeS + 1e-3,
    );
    // A Node.js process resident set: tens of MiB at least, and the peak not below idle.
    expect(result.idleRssMiB).to.be.greaterThan(20);
    expect(result.peakRssMiB).to.be.at.least(result.closePeakRssMiB);
  });
});
