// ε composes over runs on the same data file: the hospital's privacy ledger and its budget check.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PrivacyEvent } from '../src/dp/accountant';
import { pldEpsilon } from '../src/dp/pld-accountant';
import {
  budgetWarning,
  dataFileSha256,
  projectBudget,
  readPrivacyLedger,
  recordRunPrivacy,
} from '../src/dp/privacy-ledger';
import { PrivacyError } from '../src/errors';
import { tempDir } from './helpers';

const ROUND: PrivacyEvent = {
  mechanism: 'gaussian',
  samplingRate: 1,
  noiseMultiplier: 5,
  count: 10,
};

describe('privacy ledger across runs', function () {
  this.timeout(30_000);

  it('keys runs by the data file’s bytes, not its name', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.csv'), 'x,y\n1,2\n');
    writeFileSync(join(dir, 'b.csv'), 'x,y\n1,2\n');
    writeFileSync(join(dir, 'c.csv'), 'x,y\n1,3\n');
    expect(dataFileSha256(join(dir, 'a.csv'))).to.equal(dataFileSha256(join(dir, 'b.csv')));
    expect(dataFileSha256(join(dir, 'a.csv'))).not.to.equal(dataFileSha256(join(dir, 'c.csv')));
  });

  it('composes earlier runs on the same file with the planned one and warns past the budget', () => {
    const file = join(tempDir(), 'privacy-ledger.json');
    recordRunPrivacy(file, { dataSha256: 'a'.repeat(64), runId: 'run-1', events: [ROUND] });
    recordRunPrivacy(file, { dataSha256: 'b'.repeat(64), runId: 'other-data', events: [ROUND] });
    // Recording a run again replaces its entry (the accountant's history grows each round).
    recordRunPrivacy(file, { dataSha256: 'a'.repeat(64), runId: 'run-1', events: [ROUND] });
    const ledger = readPrivacyLedger(file);
    expect(ledger.entries).to.have.length(2);
    const projection = projectBudget(ledger, 'a'.repeat(64), 'run-2', [ROUND], 1e-5);
    const one = pldEpsilon([ROUND], 1e-5);
    expect(projection.earlierRuns).to.deep.equal(['run-1']);
    expect(projection.earlierEpsilon).to.be.closeTo(one, 1e-9);
    expect(projection.projectedEpsilon).to.be.closeTo(pldEpsilon([ROUND, ROUND], 1e-5), 1e-9);
    // Composition beats adding the two ε, but two runs cost more than one.
    expect(projection.projectedEpsilon).to.be.within(one * 1.2, 2 * one);

    expect(budgetWarning(projection, 10, 'run-2', 1e-5)).to.equal(undefined);
    const warning = budgetWarning(projection, one * 1.1, 'run-2', 1e-5);
    expect(warning).to.match(
      /^privacy budget: run run-2 would bring this data file to ε = \d+\.\d{4} at δ = 0\.00001 after 1 earlier run\(s\) on the same data file \(run-1; ε = \d+\.\d{4} together\), over the budget of/,
    );
    // The same run resumed is not an earlier run of itself.
    expect(projectBudget(ledger, 'a'.repeat(64), 'run-1', [ROUND], 1e-5).earlierRuns).to.deep.equal(
      [],
    );
  });

  it('refuses a ledger file it did not write', () => {
    const file = join(tempDir(), 'privacy-ledger.json');
    writeFileSync(file, '{"format":"something-else"}');
    expect(() => readPrivacyLedger(file)).to.throw(PrivacyError, /move it aside/);
  });
});
