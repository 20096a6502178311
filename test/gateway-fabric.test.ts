// The gateway's full-run scenario on the real Fabric network: 3 hospitals sign their own
// submissions (offline signing), one tampered blob, one upload without a ledger record.
import { expect } from 'chai';
import { Harness, fullRunScenario } from '@fedledger/gateway/testing';

describe('gateway on the Fabric network', function () {
  let h: Harness;
  before(async () => {
    h = await Harness.createOnFabric();
  });
  after(async () => {
    await h?.dispose();
  });

  it('runs 3 rounds through REST; only ledger-verified updates are aggregated', async () => {
    const runId = `gw-fabric-${Date.now()}`;
    const result = await fullRunScenario(h, runId);
    expect(result.verification.ok).to.equal(true);
    // Every update record's creator is the hospital itself (signed with its own key).
    for (const round of result.trail.rounds) {
      for (const u of round.updates) expect(u.creator.mspId).to.equal(u.mspId);
    }
    expect(h.gateway.ledger.kind).to.equal('fabric');
  });

  it('a gateway restarted mid-round completes the run with every accepted update once', async () => {
    const { createRun, update, waitClosed } = await import('@fedledger/gateway/testing');
    const runId = `gw-fabric-restart-${Date.now()}`;
    await createRun(h, runId, { roundsPlanned: 1 });
    expect(
      (await h.submit('hospital1', runId, 0, update(runId, 0, 'Hospital1MSP', 10, 1))).status,
    ).to.equal(200);
    expect(
      (await h.submit('hospital2', runId, 0, update(runId, 0, 'Hospital2MSP', 20, 2))).status,
    ).to.equal(200);
    await h.stop();
    await h.start();
    expect(
      (await h.submit('hospital3', runId, 0, update(runId, 0, 'Hospital3MSP', 30, 3))).status,
    ).to.equal(200);
    const round = await waitClosed(h, runId, 0);
    expect(round.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    const history = await h.call('auditor', 'GET', `/v1/audit/history?key=round/${runId}/0`);
    expect(history.json<{ history: unknown[] }>().history).to.have.length(2);
  });

  it('an encrypted run reaches the plaintext run’s model within 1e-5 per weight', async () => {
    const { CKKS_PARAMS, generateSecretKey, secretKeyFingerprint } =
      await import('@fedledger/protocol/ckks');
    const { encryptedRunScenario } = await import('@fedledger/gateway/testing');
    const key = await generateSecretKey(CKKS_PARAMS);
    const result = await encryptedRunScenario(
      h,
      `gw-fabric-he-${Date.now()}`,
      key,
      await secretKeyFingerprint(CKKS_PARAMS, key),
    );
    expect(result.maxDifference).to.be.lessThan(1e-5);
    expect(result.verification.ok).to.equal(true);
  });
});
