// The gateway's first peer goes down: it carries on through the next peer that connection.json
// lists for its identity (the coordinator's fallbackPeers), for its own transactions, for the
// hospitals' signed submissions and for its block stream, and the run completes.
import { expect } from 'chai';
import type { FabricLedgerClient } from '@fedledger/gateway';
import { Harness, createRun, update } from '@fedledger/gateway/testing';
import type { RoundRecord } from '@fedledger/protocol';
import { loadNetworkProfile } from '@fedledger/protocol/fabric';
import { eventually, startNode, stopNode } from './support/network';

describe("the gateway's peer goes down: it fails over to the next (Fabric)", function () {
  this.timeout(300_000);
  let h: Harness;
  before(async () => {
    h = await Harness.createOnFabric();
  });
  after(async () => {
    await startNode('peer0.hospital1').catch(() => undefined);
    await h?.dispose();
  });

  it('creates a run, takes two hospitals’ submissions and closes the round with peer0.hospital1 down', async () => {
    const coordinator = loadNetworkProfile().identities['coordinator'];
    expect(coordinator?.peer).to.equal('peer0.hospital1');
    expect(coordinator?.fallbackPeers).to.deep.equal(['peer0.hospital2', 'peer0.hospital3']);
    const ledger = h.gateway.ledger as FabricLedgerClient;
    expect(ledger.peerName).to.equal('peer0.hospital1');

    await stopNode('peer0.hospital1');
    const runId = `failover-${Date.now()}`;
    await createRun(h, runId, {
      roundsPlanned: 1,
      participants: ['Hospital2MSP', 'Hospital3MSP'],
      minUpdatesPerRound: 2,
      sampleCounts: { Hospital2MSP: 1000, Hospital3MSP: 1000 },
    });
    expect(ledger.peerName).to.not.equal('peer0.hospital1');
    for (const [who, msp, seed] of [
      ['hospital2', 'Hospital2MSP', 2],
      ['hospital3', 'Hospital3MSP', 3],
    ] as const) {
      const reply = await h.submit(who, runId, 0, update(runId, 0, msp, 100, seed));
      expect(reply.status, reply.body.toString()).to.equal(200);
    }
    // Closed by the coordinator on its own, through the peer it failed over to.
    const round = await eventually('round 0 to close', async () => {
      const reply = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/0`);
      const record = reply.json<{ round: RoundRecord }>().round;
      return record.status === 'closed' ? record : undefined;
    });
    expect(round.included).to.deep.equal(['Hospital2MSP', 'Hospital3MSP']);
  });
});
