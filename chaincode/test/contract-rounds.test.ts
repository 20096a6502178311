import { expect } from 'chai';
import { EXCLUSION_CODES, LEDGER_ERROR_CODES, canonicalJson } from '@fedledger/protocol';
import type { AuditTrail, HistoryEntry, RoundRecord, RunRecord } from '@fedledger/protocol';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedLedger } from '../src';
import type { SimulatedEvent } from '../src';
import {
  INITIAL,
  auditor,
  closeRequest,
  closeWithAll,
  coordinator,
  expectRefusal,
  h1,
  h2,
  hashOf,
  hospitals,
  ledgerWithOpenRound,
  runConfig,
  submission,
  submitAll,
} from './fixtures';

describe('contract: chain of custody', () => {
  it('rejects round 0 with a model other than the initial one', async () => {
    const ledger = new SimulatedLedger();
    await ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig()));
    await expectRefusal(
      ledger.submit(coordinator, 'OpenRound', 'run-1', '0', hashOf('other')),
      'CHAIN_OF_CUSTODY',
    );
  });

  it('accepts round 0 with the initial model', async () => {
    const ledger = await ledgerWithOpenRound();
    const round = JSON.parse(
      await ledger.evaluate(auditor, 'GetRound', 'run-1', '0'),
    ) as RoundRecord;
    expect(round.inputModelHash).to.equal(INITIAL);
  });

  it('rejects round r+1 before round r has closed, and opening a round twice', async () => {
    const ledger = await ledgerWithOpenRound();
    await expectRefusal(
      ledger.submit(coordinator, 'OpenRound', 'run-1', '1', hashOf('aggregate 0')),
      'ROUND_OUT_OF_ORDER',
    );
    await expectRefusal(
      ledger.submit(coordinator, 'OpenRound', 'run-1', '2', hashOf('aggregate 1')),
      'ROUND_OUT_OF_ORDER',
    );
    await expectRefusal(
      ledger.submit(coordinator, 'OpenRound', 'run-1', '0', INITIAL),
      'ROUND_EXISTS',
    );
  });

  it("rejects round r+1 with an input other than round r's aggregate", async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    await closeWithAll(ledger, 0);
    await expectRefusal(
      ledger.submit(coordinator, 'OpenRound', 'run-1', '1', INITIAL),
      'CHAIN_OF_CUSTODY',
    );
  });

  it("accepts round r+1 after r closed, with r's aggregate as input", async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    const closed = await closeWithAll(ledger, 0);
    const commit = await ledger.submit(
      coordinator,
      'OpenRound',
      'run-1',
      '1',
      closed.aggregateHash ?? '',
    );
    expect((JSON.parse(commit.result) as RoundRecord).inputModelHash).to.equal(
      hashOf('aggregate 0'),
    );
  });

  it('rejects rounds past the planned count', async () => {
    const ledger = await ledgerWithOpenRound(runConfig({ roundsPlanned: 1 }));
    await submitAll(ledger, 0);
    await closeWithAll(ledger, 0);
    await expectRefusal(
      ledger.submit(coordinator, 'OpenRound', 'run-1', '1', hashOf('aggregate 0')),
      'RUN_COMPLETED',
    );
    const ledger2 = await ledgerWithOpenRound(runConfig({ roundsPlanned: 2 }));
    await expectRefusal(
      ledger2.submit(coordinator, 'OpenRound', 'run-1', '2', hashOf('x')),
      'ROUND_LIMIT',
    );
  });

  it('accepts the last planned round and completes the run when it closes', async () => {
    const ledger = await ledgerWithOpenRound(runConfig({ roundsPlanned: 1 }));
    await submitAll(ledger, 0);
    await closeWithAll(ledger, 0);
    const run = JSON.parse(await ledger.evaluate(auditor, 'GetRun', 'run-1')) as RunRecord;
    expect(run).to.deep.include({ status: 'completed', finalModelHash: hashOf('aggregate 0') });
    await expectRefusal(ledger.submit(h1, 'SubmitUpdate', submission(h1, 0)), 'RUN_COMPLETED');
  });
});

describe('contract: closing rounds', () => {
  it('rejects an included update that is not recorded in the round', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0, [h1, h2]);
    await expectRefusal(
      ledger.submit(
        coordinator,
        'CloseRound',
        closeRequest(0, ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']),
      ),
      'UNKNOWN_UPDATE',
    );
    const wrongHash = [
      {
        mspId: 'Hospital2MSP',
        sha256: hashOf('not it'),
        code: 'NORM_EXCEEDED',
        detail: 'x',
        onLedger: true,
      },
    ];
    await expectRefusal(
      ledger.submit(
        coordinator,
        'CloseRound',
        closeRequest(0, ['Hospital1MSP'], { excluded: wrongHash }),
      ),
      'UNKNOWN_UPDATE',
    );
  });

  it('rejects a close that leaves a recorded update unaccounted for', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    await expectRefusal(
      ledger.submit(coordinator, 'CloseRound', closeRequest(0, ['Hospital1MSP', 'Hospital2MSP'])),
      'ROUND_INCOMPLETE',
    );
  });

  it('rejects a close below the minimum number of updates', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0, [h1]);
    await expectRefusal(
      ledger.submit(coordinator, 'CloseRound', closeRequest(0, ['Hospital1MSP'])),
      'QUORUM_NOT_MET',
    );
  });

  it('rejects closing a round twice or a round that does not exist', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    await closeWithAll(ledger, 0);
    await expectRefusal(
      ledger.submit(
        coordinator,
        'CloseRound',
        closeRequest(
          0,
          hospitals.map((h) => h.mspId),
        ),
      ),
      'ROUND_NOT_OPEN',
    );
    await expectRefusal(
      ledger.submit(coordinator, 'CloseRound', closeRequest(1, [])),
      'ROUND_NOT_FOUND',
    );
  });

  const excludedH3 = (fields: Record<string, unknown>) => [
    { mspId: 'Hospital3MSP', sha256: hashOf('Hospital3MSP/0'), onLedger: true, ...fields },
  ];

  it('rejects an exclusion with a code outside the closed set, a long detail, or a wrong onLedger', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    const cases: [Record<string, unknown>, string][] = [
      [{ code: 'MADE_UP', detail: 'x' }, 'UNKNOWN_EXCLUSION_CODE'],
      [{ code: 'hash_mismatch', detail: 'x' }, 'UNKNOWN_EXCLUSION_CODE'],
      [{ reason: 'HASH_MISMATCH: blob bytes differ' }, 'UNKNOWN_EXCLUSION_CODE'],
      [{ detail: 'no code at all' }, 'UNKNOWN_EXCLUSION_CODE'],
      [{ code: 'NORM_EXCEEDED', detail: 'x'.repeat(501) }, 'INVALID_ARGUMENT'],
      [{ code: 'NORM_EXCEEDED', detail: 'x', onLedger: false }, 'INVALID_ARGUMENT'],
      [{ code: 'NOT_ON_LEDGER', detail: 'x', onLedger: true }, 'INVALID_ARGUMENT'],
      // An off-ledger entry for an organisation that has a record would shadow its fate.
      [
        { code: 'NOT_ON_LEDGER', detail: 'x', onLedger: false, sha256: hashOf('other') },
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [fields, code] of cases) {
      await expectRefusal(
        ledger.submit(
          coordinator,
          'CloseRound',
          closeRequest(0, ['Hospital1MSP', 'Hospital2MSP'], { excluded: excludedH3(fields) }),
        ),
        code,
      );
    }
  });

  it('accepts a close meeting the minimum, recording the aggregate and typed exclusions', async () => {
    const ledger = await ledgerWithOpenRound();
    await submitAll(ledger, 0);
    const excluded = [
      {
        mspId: 'Hospital3MSP',
        sha256: hashOf('Hospital3MSP/0'),
        code: 'HASH_MISMATCH',
        detail: 'blob bytes differ',
        onLedger: true,
      },
      {
        mspId: 'Hospital9MSP',
        sha256: hashOf('stray'),
        code: 'NOT_ON_LEDGER',
        detail: 'uploaded, never recorded',
        onLedger: false,
      },
    ];
    const commit = await ledger.submit(
      coordinator,
      'CloseRound',
      closeRequest(0, ['Hospital2MSP', 'Hospital1MSP'], { excluded }),
    );
    const round = JSON.parse(commit.result) as RoundRecord;
    expect(round).to.deep.include({
      status: 'closed',
      aggregateHash: hashOf('aggregate 0'),
      closeTxId: commit.txId,
    });
    expect(round.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    expect(round.excluded).to.deep.equal(excluded);
  });
});

describe('contract: state, time and events', () => {
  it('writes state as canonical JSON with the transaction time, not the clock', async () => {
    const txTime = new Date('2031-01-02T03:04:05.678Z');
    const ledger = new SimulatedLedger({ now: () => txTime });
    const commit = await ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig()));
    expect(commit.result).to.equal(canonicalJson(JSON.parse(commit.result)));
    const run = JSON.parse(commit.result) as RunRecord;
    expect(run.createdAt).to.equal('2031-01-02T03:04:05.678Z');
    expect(run.txId).to.equal(commit.txId);
  });

  it('emits each event with the record as its payload', async () => {
    const ledger = new SimulatedLedger();
    const events: SimulatedEvent[] = [];
    ledger.onEvent((e) => events.push(e));
    await ledger.submit(coordinator, 'CreateRun', JSON.stringify(runConfig()));
    await ledger.submit(coordinator, 'OpenRound', 'run-1', '0', INITIAL);
    await submitAll(ledger, 0);
    await closeWithAll(ledger, 0);
    expect(events.map((e) => e.name)).to.deep.equal([
      'RunCreated',
      'RoundOpened',
      'UpdateSubmitted',
      'UpdateSubmitted',
      'UpdateSubmitted',
      'RoundClosed',
    ]);
    const closed = JSON.parse(
      await ledger.evaluate(auditor, 'GetRound', 'run-1', '0'),
    ) as RoundRecord;
    expect(events[5]?.payload.toString('utf8')).to.equal(canonicalJson(closed));
    expect(ledger.eventsAfter(5).map((e) => e.name)).to.deep.equal(['RoundClosed']);
  });

  it('rejects history queries for malformed keys', async () => {
    const ledger = await ledgerWithOpenRound();
    for (const key of ['update/run-1/0', 'thing/run-1', 'round/run-1/x', 'update/run-1/0/']) {
      await expectRefusal(ledger.evaluate(auditor, 'GetHistory', key), 'INVALID_ARGUMENT');
    }
  });

  it('documents every code the contract can refuse with', () => {
    const srcDir = join(__dirname, '..', '..', 'src');
    const used = new Set<string>();
    for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
      for (const match of readFileSync(join(srcDir, file), 'utf8').matchAll(/'([A-Z][A-Z_]+)'/g)) {
        if (match[1] !== undefined) used.add(match[1]);
      }
    }
    expect(used.size).to.be.greaterThan(15);
    // Exclusion codes are data the contract writes (an abandoned round's), not refusals.
    for (const code of used) {
      if (!(code in EXCLUSION_CODES)) expect(LEDGER_ERROR_CODES).to.have.property(code);
    }
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    for (const code of Object.keys(LEDGER_ERROR_CODES))
      expect(readme).to.include(`| \`${code}\` |`);
  });
});

describe('simulated ledger: a full run through the real contract', () => {
  it('runs 3 hospitals × 3 rounds and writes every update key exactly once', async () => {
    const ledger = await ledgerWithOpenRound();
    for (let round = 0; round < 3; round++) {
      await submitAll(ledger, round);
      const closed = await closeWithAll(ledger, round);
      if (round < 2)
        await ledger.submit(
          coordinator,
          'OpenRound',
          'run-1',
          String(round + 1),
          closed.aggregateHash ?? '',
        );
    }
    const trail = JSON.parse(
      await ledger.evaluate(auditor, 'GetAuditTrail', 'run-1'),
    ) as AuditTrail;
    expect(trail.run.status).to.equal('completed');
    expect(trail.rounds.map((r) => r.round)).to.deep.equal([0, 1, 2]);
    for (const round of trail.rounds) {
      expect(round.updates.map((u) => u.mspId)).to.deep.equal([
        'Hospital1MSP',
        'Hospital2MSP',
        'Hospital3MSP',
      ]);
      for (const update of round.updates) {
        const history = JSON.parse(
          await ledger.evaluate(auditor, 'GetHistory', update.key),
        ) as HistoryEntry[];
        expect(history).to.have.length(1);
        expect(history[0]?.txId).to.equal(update.txId);
        expect(history[0]?.value).to.deep.equal(update);
      }
    }
    const roundHistory = JSON.parse(
      await ledger.evaluate(auditor, 'GetHistory', 'round/run-1/1'),
    ) as HistoryEntry[];
    expect(roundHistory.map((h) => (h.value as RoundRecord).status)).to.deep.equal([
      'open',
      'closed',
    ]);
    // CreateRun and OpenRound 0, three rounds of 3 submissions and a close, OpenRound 1 and 2.
    expect(ledger.blockHeight).to.equal(2 + 3 * (3 + 1) + 2);
    expect(ledger.label).to.match(/SIMULATED/);
  });
});
