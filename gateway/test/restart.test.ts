// Killing the gateway mid-round and starting a new one on the same ledger and state folder: the
// run completes, every accepted update is included exactly once, no round is closed twice.
import { rmSync } from 'node:fs';
import { expect } from 'chai';
import { sha256Hex } from '@fedledger/protocol';
import type { AuditTrail } from '@fedledger/protocol';
import { Harness, createRun, update, waitClosed } from '../src/testing';

describe('gateway restart safety', function () {
  let h: Harness;
  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  it('resumes from the ledger and the blob store after a kill mid-round', async () => {
    const runId = 'restart';
    await createRun(h, runId, { roundsPlanned: 2 });
    expect(
      (await h.submit('hospital1', runId, 0, update(runId, 0, 'Hospital1MSP', 40, 1))).status,
    ).to.equal(200);
    expect(
      (await h.submit('hospital2', runId, 0, update(runId, 0, 'Hospital2MSP', 60, 2))).status,
    ).to.equal(200);
    // Hospital3 is between signing steps when the gateway dies: its proposal is endorsed, the
    // transaction is not yet submitted.
    const upload = await h.call(
      'hospital3',
      'POST',
      `/v1/runs/${runId}/rounds/0/updates`,
      update(runId, 0, 'Hospital3MSP', 80, 3),
    );
    const { submissionId, proposalDigest } = upload.json<{
      submissionId: string;
      proposalDigest: string;
    }>();
    expect(
      (
        await h.call('hospital3', 'POST', `/v1/submissions/${submissionId}/proposal-signature`, {
          signature: await h.sign('hospital3', proposalDigest),
        })
      ).status,
    ).to.equal(200);
    await h.stop(); // the kill: in-memory sessions and timers are gone

    await h.start();
    // The signing session died with the process; the hospital uploads again and completes.
    expect(
      (await h.submit('hospital3', runId, 0, update(runId, 0, 'Hospital3MSP', 80, 3))).status,
    ).to.equal(200);
    const round0 = await waitClosed(h, runId, 0);
    expect(round0.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);

    // Round 1: two submit, then a kill; after the restart the last one submits and it closes.
    expect(
      (await h.submit('hospital1', runId, 1, update(runId, 1, 'Hospital1MSP', 40, 4))).status,
    ).to.equal(200);
    expect(
      (await h.submit('hospital2', runId, 1, update(runId, 1, 'Hospital2MSP', 60, 5))).status,
    ).to.equal(200);
    await h.stop();
    await h.start();
    expect(
      (await h.submit('hospital3', runId, 1, update(runId, 1, 'Hospital3MSP', 80, 6))).status,
    ).to.equal(200);
    await waitClosed(h, runId, 1);

    const trail = (
      await h.call('auditor', 'GET', `/v1/audit/runs/${runId}/trail`)
    ).json<AuditTrail>();
    expect(trail.run.status).to.equal('completed');
    for (const round of trail.rounds) {
      expect(round.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
      expect(round.excluded).to.deep.equal([]);
      // Opened once and closed once: two writes to the round's key.
      const history = await h.call(
        'auditor',
        'GET',
        `/v1/audit/history?key=round/${runId}/${round.round}`,
      );
      expect(history.json<{ history: unknown[] }>().history).to.have.length(2);
    }
    const verify = await h.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`);
    expect(verify.json<{ ok: boolean }>().ok).to.equal(true);
  });

  it('finishes a close that a crash interrupted between CloseRound and OpenRound', async () => {
    const runId = 'restart-open';
    await createRun(h, runId, { roundsPlanned: 2 });
    for (const [i, who] of (['hospital1', 'hospital2', 'hospital3'] as const).entries()) {
      const msp = `Hospital${i + 1}MSP`;
      expect((await h.submit(who, runId, 0, update(runId, 0, msp, 10, i))).status).to.equal(200);
    }
    const closed = await waitClosed(h, runId, 0);
    // Simulate the crash window: stop, and check the resumed gateway sees round 1 open with the
    // closed aggregate as input (reconcile is idempotent when it is already open).
    await h.stop();
    await h.start();
    const round1 = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/1`);
    expect(round1.json<{ round: { inputModelHash: string; status: string } }>().round).to.include({
      inputModelHash: closed.aggregateHash,
      status: 'open',
    });
  });

  it('becomes ready even when a run cannot be resumed (its blobs are gone, quorum not met)', async () => {
    const runId = 'restart-stuck';
    await createRun(h, runId, { roundsPlanned: 1, minUpdatesPerRound: 3 });
    for (const [i, who] of (['hospital1', 'hospital2', 'hospital3'] as const).entries()) {
      const bytes = update(runId, 0, `Hospital${i + 1}MSP`, 10, i);
      if (i === 2) {
        // The last two blobs vanish before the round can close.
        for (const j of [0, 1]) {
          rmSync(h.gateway.blobs.locate(sha256Hex(update(runId, 0, `Hospital${j + 1}MSP`, 10, j))));
        }
      }
      expect((await h.submit(who, runId, 0, bytes)).status).to.equal(200);
    }
    await h.stop();
    await h.start(); // resolves only when the gateway is ready
    const ready = await h.call(null, 'GET', '/readyz');
    expect(ready.status).to.equal(200);
    const round = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/0`);
    expect(round.json<{ round: { status: string } }>().round.status).to.equal('open');
  });
});
