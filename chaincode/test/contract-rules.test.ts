import { expect } from 'chai';
import { MAX_BLOB_BYTES } from '@fedledger/protocol';
import type { RoundRecord, RunConfig, RunRecord } from '@fedledger/protocol';
import { SimulatedLedger, consortiumCoordinators } from '../src';
import { certificateFingerprint } from '../src/ledger-state';
import {
  INITIAL,
  auditor,
  closeRequest,
  closeWithAll,
  coordinator,
  expectRefusal,
  getUpdate,
  h1,
  h2,
  h3,
  hashOf,
  impostor,
  ledgerWithOpenRound,
  runConfig,
  submission,
  submitAll,
} from './fixtures';

describe('contract: creating runs', () => {
  it('rejects a run created by a hospital or the auditor: only the consortium coordinator creates runs', async () => {
    const ledger = new SimulatedLedger();
    for (const caller of [h1, auditor]) {
      await expectRefusal(
        ledger.submit(caller, 'CreateRun', JSON.stringify(runConfig())),
        'NOT_CONSORTIUM_COORDINATOR',
      );
    }
    await expectRefusal(ledger.evaluate(auditor, 'GetRun', 'run-1'), 'RUN_NOT_FOUND');
  });

  it('accepts a run from an organisation the consortium configuration names', async () => {
    const ledger = new SimulatedLedger({ coordinators: ['Hospital1MSP'] });
    await ledger.submit(h1, 'CreateRun', JSON.stringify(runConfig()));
    await expectRefusal(
      ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig({ runId: 'run-2' }))),
      'NOT_CONSORTIUM_COORDINATOR',
    );
  });

  it('reads the consortium coordinators from FEDLEDGER_COORDINATOR_MSPS', () => {
    expect(consortiumCoordinators({})).to.deep.equal(['CoordinatorMSP']);
    expect(
      consortiumCoordinators({ FEDLEDGER_COORDINATOR_MSPS: ' OperatorMSP, , BackupMSP ' }),
    ).to.deep.equal(['OperatorMSP', 'BackupMSP']);
    expect(consortiumCoordinators({ FEDLEDGER_COORDINATOR_MSPS: ' , ' })).to.deep.equal([]);
  });

  it('rejects a second run with the same ID', async () => {
    const ledger = await ledgerWithOpenRound();
    await expectRefusal(
      ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig())),
      'RUN_EXISTS',
    );
  });

  it('accepts a run and records its creator as coordinator', async () => {
    const ledger = new SimulatedLedger();
    await ledger.submit(
      coordinator,
      'CreateRun',
      JSON.stringify(
        runConfig({
          participants: ['B', 'A'],
          minUpdatesPerRound: 1,
          sampleCounts: { A: 5, B: 7 },
        }),
      ),
    );
    const run = JSON.parse(await ledger.evaluate(auditor, 'GetRun', 'run-1')) as RunRecord;
    expect(run.coordinator.mspId).to.equal('CoordinatorMSP');
    expect(run.coordinator.id).to.equal(coordinator.id);
    expect(run.coordinator.certFingerprint).to.match(/^[0-9a-f]{64}$/);
    expect(run.participants).to.deep.equal(['A', 'B']);
    expect(run.sampleCounts).to.deep.equal({ A: 5, B: 7 });
    expect(run.status).to.equal('active');
  });

  it('rejects malformed run configs with a code naming the field', async () => {
    const ledger = new SimulatedLedger();
    const bad: [Partial<RunConfig>, RegExp][] = [
      [{ runId: 'has space' }, /run ID/],
      [{ participants: [] }, /participants/],
      [{ participants: ['A', 'A'] }, /repeat/],
      [{ roundsPlanned: 0 }, /roundsPlanned/],
      [{ minUpdatesPerRound: 4 }, /minUpdatesPerRound/],
      [{ strategy: 'best' as never }, /strategy/],
      [{ settings: [] as never }, /settings/],
    ];
    for (const [override, pattern] of bad) {
      const error = await expectRefusal(
        ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig(override))),
        'INVALID_ARGUMENT',
      );
      expect(error.message).to.match(pattern);
    }
    await expectRefusal(ledger.submit(coordinator, 'CreateRun', '{not json'), 'INVALID_ARGUMENT');
    await expectRefusal(
      ledger.submit(
        coordinator,
        'CreateRun',
        JSON.stringify(runConfig({ initialModelHash: 'abc' })),
      ),
      'INVALID_HASH',
    );
  });

  it('refuses queries for a run that does not exist', async () => {
    await expectRefusal(new SimulatedLedger().evaluate(auditor, 'GetRun', 'nope'), 'RUN_NOT_FOUND');
  });
});

describe('contract: coordinator role', () => {
  it('rejects opening a round by anyone but the creator, even from the same MSP', async () => {
    const ledger = new SimulatedLedger();
    await ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig()));
    await expectRefusal(
      ledger.submit(impostor, 'OpenRound', 'run-1', '0', INITIAL),
      'NOT_COORDINATOR',
    );
    await expectRefusal(ledger.submit(h1, 'OpenRound', 'run-1', '0', INITIAL), 'NOT_COORDINATOR');
  });

  it('accepts opening a round by the creator', async () => {
    const ledger = new SimulatedLedger();
    await ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig()));
    const commit = await ledger.submit(coordinator, 'OpenRound', 'run-1', '0', INITIAL);
    expect((JSON.parse(commit.result) as RoundRecord).status).to.equal('open');
  });

  it('rejects closing a round by anyone but the creator', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    await expectRefusal(
      ledger.submit(
        impostor,
        'CloseRound',
        closeRequest(0, ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']),
      ),
      'NOT_COORDINATOR',
    );
  });

  it('accepts closing a round by the creator', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    expect((await closeWithAll(ledger, 0)).status).to.equal('closed');
  });
});

describe('contract: submitting updates', () => {
  it('rejects an organisation that is not a participant', async () => {
    const ledger = await ledgerWithOpenRound();
    await expectRefusal(
      ledger.submit(auditor, 'SubmitUpdate', submission(auditor, 0)),
      'NOT_PARTICIPANT',
    );
  });

  it('accepts a participant submitting for itself, recording its certificate', async () => {
    const ledger = await ledgerWithOpenRound();
    const commit = await ledger.submit(h1, 'SubmitUpdate', submission(h1, 0));
    const record = await getUpdate(ledger, 0, 'Hospital1MSP');
    expect(record.creator).to.deep.equal({
      mspId: 'Hospital1MSP',
      certFingerprint: certificateFingerprint(h1.certificate),
    });
    expect(record.creator.certFingerprint).to.not.equal(certificateFingerprint(h2.certificate));
    expect(record.txId).to.equal(commit.txId);
    expect(record.key).to.equal('update/run-1/0/Hospital1MSP');
    // The transaction answers with the key alone (the record is in its write set and event).
    expect(commit.result).to.equal(record.key);
  });

  it('rejects a participant submitting as another organisation', async () => {
    const ledger = await ledgerWithOpenRound();
    await expectRefusal(
      ledger.submit(h2, 'SubmitUpdate', submission(h1, 0, { mspId: 'Hospital1MSP' })),
      'MSP_MISMATCH',
    );
    await expectRefusal(
      ledger.evaluate(auditor, 'GetUpdate', 'run-1', '0', 'Hospital1MSP'),
      'UPDATE_NOT_FOUND',
    );
  });

  it('rejects a second submission for the same key and keeps the first', async () => {
    const ledger = await ledgerWithOpenRound();
    await ledger.submit(h1, 'SubmitUpdate', submission(h1, 0));
    const first = await getUpdate(ledger, 0, 'Hospital1MSP');
    await expectRefusal(
      ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sha256: hashOf('other') })),
      'UPDATE_EXISTS',
    );
    expect(await getUpdate(ledger, 0, 'Hospital1MSP')).to.deep.equal(first);
  });

  it('accepts one update per organisation per round', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    const list = JSON.parse(await ledger.evaluate(auditor, 'ListUpdates', 'run-1', '0')) as {
      mspId: string;
    }[];
    expect(list.map((u) => u.mspId)).to.deep.equal([
      'Hospital1MSP',
      'Hospital2MSP',
      'Hospital3MSP',
    ]);
  });

  it('lists every run in run ID order', async () => {
    const ledger = await ledgerWithOpenRound();
    const runs = JSON.parse(await ledger.evaluate(auditor, 'ListRuns')) as { runId: string }[];
    expect(runs.map((r) => r.runId)).to.deep.equal(['run-1']);
  });

  it('rejects submissions to a closed or a future round', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0, [h1, h2]);
    await ledger.submit(
      coordinator,
      'CloseRound',
      closeRequest(0, ['Hospital1MSP', 'Hospital2MSP']),
    );
    const closed = await expectRefusal(
      ledger.submit(h3, 'SubmitUpdate', submission(h3, 0)),
      'ROUND_NOT_OPEN',
    );
    expect(closed.message).to.match(/closed/);
    const future = await expectRefusal(
      ledger.submit(h3, 'SubmitUpdate', submission(h3, 1)),
      'ROUND_NOT_OPEN',
    );
    expect(future.message).to.match(/not been opened/);
  });

  it('accepts a submission to the open round', async () => {
    const ledger = await ledgerWithOpenRound();
    const commit = await ledger.submit(h3, 'SubmitUpdate', submission(h3, 0));
    expect(commit.blockNumber).to.equal(3);
  });

  it('rejects hashes that are not 64 lowercase hex characters', async () => {
    const ledger = await ledgerWithOpenRound();
    for (const sha256 of [
      hashOf('x').toUpperCase(),
      hashOf('x').slice(1),
      `${hashOf('x').slice(1)}g`,
    ]) {
      await expectRefusal(
        ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sha256 })),
        'INVALID_HASH',
      );
    }
  });

  it('accepts a lowercase hex hash', async () => {
    const ledger = await ledgerWithOpenRound();
    await ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sha256: hashOf('x') }));
    expect((await getUpdate(ledger, 0, 'Hospital1MSP')).sha256).to.equal(hashOf('x'));
  });

  it('rejects sample counts that are not positive safe integers', async () => {
    const ledger = await ledgerWithOpenRound();
    for (const sampleCount of [0, -3, 1.5, 2 ** 53, '10' as never]) {
      await expectRefusal(
        ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sampleCount })),
        'INVALID_SAMPLE_COUNT',
      );
    }
  });

  it('rejects a run without a declared sample count for every participant, and no one else', async () => {
    const ledger = new SimulatedLedger();
    const all = { Hospital1MSP: 10, Hospital2MSP: 10, Hospital3MSP: 10 };
    for (const sampleCounts of [
      undefined,
      { Hospital1MSP: 10, Hospital2MSP: 10 },
      { ...all, Hospital3MSP: 0 },
      { ...all, Hospital3MSP: 1e12 },
      { ...all, Hospital3MSP: '10' },
      { ...all, Stranger: 10 },
    ]) {
      await expectRefusal(
        ledger.submit(coordinator, 'CreateRun', JSON.stringify({ ...runConfig(), sampleCounts })),
        'INVALID_SAMPLE_COUNT',
      );
    }
  });

  it('rejects an update claiming more samples than its organisation declared (10^12 too)', async () => {
    const ledger = await ledgerWithOpenRound(
      runConfig({ sampleCounts: { Hospital1MSP: 500, Hospital2MSP: 500, Hospital3MSP: 500 } }),
    );
    for (const sampleCount of [501, 1e12]) {
      await expectRefusal(
        ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sampleCount })),
        'SAMPLE_COUNT_EXCEEDED',
      );
    }
  });

  it('accepts an update claiming exactly its declared sample count', async () => {
    const ledger = await ledgerWithOpenRound(
      runConfig({ sampleCounts: { Hospital1MSP: 500, Hospital2MSP: 500, Hospital3MSP: 500 } }),
    );
    await ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sampleCount: 500 }));
    expect((await getUpdate(ledger, 0, 'Hospital1MSP')).sampleCount).to.equal(500);
  });

  it('accepts a sample count of one', async () => {
    const ledger = await ledgerWithOpenRound();
    await ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { sampleCount: 1 }));
    expect((await getUpdate(ledger, 0, 'Hospital1MSP')).sampleCount).to.equal(1);
  });

  it('rejects byte lengths that are not positive or exceed the limit', async () => {
    const ledger = await ledgerWithOpenRound();
    for (const byteLength of [0, MAX_BLOB_BYTES + 1]) {
      await expectRefusal(
        ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { byteLength })),
        'INVALID_BYTE_LENGTH',
      );
    }
  });

  it('accepts the largest allowed byte length', async () => {
    const ledger = await ledgerWithOpenRound();
    await ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { byteLength: MAX_BLOB_BYTES }));
    expect((await getUpdate(ledger, 0, 'Hospital1MSP')).byteLength).to.equal(MAX_BLOB_BYTES);
  });

  it('rejects DP accounting written as floats instead of decimal strings', async () => {
    const ledger = await ledgerWithOpenRound();
    const dp = { mechanism: 'gaussian-update', epsilonSpent: 0.3, delta: '1e-5' } as never;
    await expectRefusal(
      ledger.submit(h1, 'SubmitUpdate', submission(h1, 0, { dp })),
      'INVALID_ARGUMENT',
    );
  });
});
