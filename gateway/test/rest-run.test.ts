// The full-run scenario (gateway/src/testing/scenarios.ts) on the simulated ledger; the root
// integration suite runs the same scenario on the Fabric network.
import { expect } from 'chai';
import { Harness, fullRunScenario } from '../src/testing';

describe('REST run on the simulated ledger', function () {
  let h: Harness;
  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  it('aggregates only ledger-verified updates and records the exclusions on the ledger', async () => {
    const result = await fullRunScenario(h, 'rest-run');
    expect(result.trail.rounds.map((r) => r.status)).to.deep.equal(['closed', 'closed', 'closed']);
    expect(result.verification.rounds.map((r) => r.ok)).to.deep.equal([true, true, true]);
    expect(result.verification.ok).to.equal(true);
  });
});
