// The coordinator converges by itself: with the ledger refusing writes (as with too few orderers
// for consensus) at each step of a round, the run goes on once the ledger is back, without a
// restart, without anyone nudging it, and with every update counted once.
import { expect } from 'chai';
import sinon from 'sinon';
import type { AuditTrail, HistoryEntry, RoundRecord } from '@fedledger/protocol';
import { newSimulatedIdentity } from '@fedledger/chaincode';
import { roundKey } from '@fedledger/protocol';
import type { OrgName, OutageStep } from '../src/testing';
import { Harness, createRun, update } from '../src/testing';

/** Reads the simulated ledger directly, as an auditor's peer would, not through the gateway. */
const AUDITOR = newSimulatedIdentity('AuditorMSP', 'auditor');

const HOSPITALS = [
  ['hospital1', 'Hospital1MSP'],
  ['hospital2', 'Hospital2MSP'],
  ['hospital3', 'Hospital3MSP'],
] as const;

describe('coordinator liveness (ledger writes failing, then back)', function () {
  this.timeout(30_000);
  let h: Harness;

  beforeEach(async () => {
    h = await Harness.create();
  });
  afterEach(async () => {
    await h.dispose();
  });

  const trail = async (runId: string): Promise<AuditTrail> =>
    JSON.parse(await h.ledger.evaluate(AUDITOR, 'GetAuditTrail', runId)) as AuditTrail;

  /** Polls the ledger itself (no call into the coordinator) until `check` holds. */
  async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const roundStatus = async (runId: string, round: number): Promise<RoundRecord | undefined> =>
    (await trail(runId)).rounds.find((r) => r.round === round);

  async function submitAll(
    runId: string,
    round: number,
    who: readonly (readonly [OrgName, string])[] = HOSPITALS,
  ): Promise<void> {
    for (const [name, msp] of who) {
      const reply = await h.submit(name, runId, round, update(runId, round, msp, 100, round + 1));
      expect(reply.status, reply.body.toString()).to.equal(200);
    }
  }

  /** Holds `step` down until the ledger refused it `times` times, then lifts the outage. */
  async function outageFor(step: OutageStep, times: number): Promise<void> {
    await eventually(`${times} refused ${step}`, () =>
      Promise.resolve((h.outage.refused.get(step) ?? 0) >= times ? true : undefined),
    );
    h.outage.steps.delete(step);
  }

  async function expectEachRoundClosedOnce(runId: string): Promise<void> {
    const t = await trail(runId);
    for (const round of t.rounds) {
      const history = JSON.parse(
        await h.ledger.evaluate(AUDITOR, 'GetHistory', roundKey(runId, round.round)),
      ) as HistoryEntry[];
      // One write opening the round and one closing it.
      expect(history, `round ${round.round}`).to.have.length(2);
      const counted = [...(round.included ?? []), ...(round.excluded ?? []).map((e) => e.mspId)];
      expect(new Set(counted).size, `round ${round.round} counts`).to.equal(counted.length);
    }
  }

  it('closes a round whose CloseRound failed, once the ledger is back', async () => {
    const runId = 'close-fails';
    await createRun(h, runId, { roundsPlanned: 2 });
    h.outage.steps.add('closeRound');
    await submitAll(runId, 0);
    await outageFor('closeRound', 3);
    const round0 = await eventually('round 0 closed', async () => {
      const r = await roundStatus(runId, 0);
      return r?.status === 'closed' ? r : undefined;
    });
    expect(round0.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    await eventually('round 1 open', async () =>
      (await roundStatus(runId, 1))?.status === 'open' ? true : undefined,
    );
    await submitAll(runId, 1);
    await eventually('run completed', async () =>
      (await trail(runId)).run.status === 'completed' ? true : undefined,
    );
    await expectEachRoundClosedOnce(runId);
  });

  it('opens the next round when OpenRound failed right after the close', async () => {
    const runId = 'open-fails';
    await createRun(h, runId, { roundsPlanned: 2 });
    h.outage.steps.add('openRound');
    await submitAll(runId, 0);
    await eventually('round 0 closed', async () =>
      (await roundStatus(runId, 0))?.status === 'closed' ? true : undefined,
    );
    expect(await roundStatus(runId, 1)).to.equal(undefined);
    await outageFor('openRound', 3);
    const round1 = await eventually('round 1 open', async () => {
      const r = await roundStatus(runId, 1);
      return r?.status === 'open' ? r : undefined;
    });
    expect(round1.inputModelHash).to.equal((await roundStatus(runId, 0))?.aggregateHash);
    await submitAll(runId, 1);
    await eventually('run completed', async () =>
      (await trail(runId)).run.status === 'completed' ? true : undefined,
    );
    await expectEachRoundClosedOnce(runId);
  });

  it('opens round 0 of a run whose first OpenRound failed', async () => {
    const runId = 'first-open-fails';
    h.outage.steps.add('openRound');
    await createRun(h, runId, { roundsPlanned: 1 }).then(
      () => expect.fail('the run was reported created while its round 0 could not open'),
      (err: Error) => expect(err.message).to.match(/FL_ERR_LEDGER_UNAVAILABLE/),
    );
    await outageFor('openRound', 2);
    await eventually('round 0 open', async () =>
      (await roundStatus(runId, 0))?.status === 'open' ? true : undefined,
    );
  });

  it('closes at the deadline once the ledger is back, the deadline counted from the ledger opening', async () => {
    const runId = 'deadline-outage';
    await createRun(h, runId, { roundsPlanned: 1, roundDeadlineSeconds: 1 });
    h.outage.steps.add('closeRound');
    await submitAll(runId, 0, HOSPITALS.slice(0, 2));
    await outageFor('closeRound', 3);
    const round0 = await eventually('round 0 closed', async () => {
      const r = await roundStatus(runId, 0);
      return r?.status === 'closed' ? r : undefined;
    });
    expect(round0.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    const openFor = Date.parse(round0.closedAt ?? '') - Date.parse(round0.openedAt);
    expect(openFor).to.be.at.least(1000 - 250);
    await expectEachRoundClosedOnce(runId);
  });

  it('keeps trying a close the ledger refuses while updates keep committing', async () => {
    const runId = 'updates-during-outage';
    await createRun(h, runId, { roundsPlanned: 1 });
    h.outage.steps.add('closeRound');
    await submitAll(runId, 0, HOSPITALS.slice(0, 2));
    // The third update commits while CloseRound cannot: its commit triggers a close that fails.
    await submitAll(runId, 0, HOSPITALS.slice(2));
    await outageFor('closeRound', 4);
    const round0 = await eventually('round 0 closed', async () => {
      const r = await roundStatus(runId, 0);
      return r?.status === 'closed' ? r : undefined;
    });
    expect(round0.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    await expectEachRoundClosedOnce(runId);
  });

  it('closes a round past its deadline as soon as the quorum arrives, not a deadline later', async () => {
    const runId = 'late-quorum';
    await createRun(h, runId, { roundsPlanned: 1, roundDeadlineSeconds: 1 });
    await submitAll(runId, 0, HOSPITALS.slice(0, 1));
    // Past the deadline with one update of the two the quorum needs: still open.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await roundStatus(runId, 0))?.status).to.equal('open');
    const arrived = Date.now();
    await submitAll(runId, 0, HOSPITALS.slice(1, 2));
    const round0 = await eventually('round 0 closed', async () => {
      const r = await roundStatus(runId, 0);
      return r?.status === 'closed' ? r : undefined;
    });
    expect(Date.now() - arrived).to.be.below(1000);
    expect(round0.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
  });

  it('leaves alone a run whose settings hold no usable deadline, instead of spinning on it', async () => {
    // Another coordinator's run, created on the ledger without roundDeadlineSeconds.
    const other = newSimulatedIdentity('CoordinatorMSP', 'another-coordinator');
    await createRun(h, 'template', { roundsPlanned: 1 });
    const template = (await trail('template')).run;
    const settings: Record<string, unknown> = { ...template.settings };
    delete settings['roundDeadlineSeconds'];
    await h.ledger.submit(
      other,
      'CreateRun',
      JSON.stringify({
        runId: 'no-deadline',
        modelSpecHash: template.modelSpecHash,
        initialModelHash: template.initialModelHash,
        participants: template.participants,
        roundsPlanned: 1,
        minUpdatesPerRound: 2,
        strategy: 'fedavg',
        sampleCounts: template.sampleCounts,
        settings,
      }),
    );
    await h.ledger.submit(other, 'OpenRound', 'no-deadline', '0', template.initialModelHash);
    await h.stop();
    const reads = sinon.spy(h.ledger, 'evaluate');
    try {
      await h.start();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const trails = reads.getCalls().filter((c) => c.args[2] === 'no-deadline').length;
      expect(trails).to.be.below(5);
    } finally {
      reads.restore();
    }
  });
});
