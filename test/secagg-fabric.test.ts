// Secure aggregation on the real Fabric network: each hospital signs its key advertisement and
// reads its peers' keys from its own peer (never from the gateway), the masked round closes with
// the plaintext FedAvg within the quantisation bound, a hospital that drops after dealing its
// shares does not stop the round, and the auditor recomputes every aggregate through its own peer
// from what the ledger names alone.
import { join } from 'node:path';
import { expect } from 'chai';
import type { KeysRecord } from '@fedledger/protocol';
import type { NetworkGatewayConnection } from '@fedledger/protocol/fabric';
import { connectGateway, loadNetworkProfile } from '@fedledger/protocol/fabric';
import type { AuditIo } from '@fedledger/gateway';
import { AUDIT_EXIT, runAudit } from '@fedledger/gateway';
import type { OrgName } from '@fedledger/gateway/testing';
import {
  Harness,
  SECAGG_HOSPITALS,
  createSecAggRun,
  playSecAggRound,
  secAggError,
  secAggSettingsOf,
} from '@fedledger/gateway/testing';
import { networkDir } from './support/network';

describe('secure aggregation on Fabric, keys read from each hospital’s own peer', function () {
  this.timeout(600_000);
  let h: Harness;
  const peers = new Map<string, NetworkGatewayConnection>();
  const sources: string[] = [];

  before(async () => {
    const connectionJson = join(networkDir(), 'connection.json');
    h = await Harness.createOnFabric(connectionJson);
    const profile = loadNetworkProfile(connectionJson);
    for (const who of [...SECAGG_HOSPITALS, 'auditor']) {
      peers.set(who, connectGateway(profile, who));
    }
  });
  after(async () => {
    for (const connection of peers.values()) connection.close();
    await h?.dispose();
  });

  /** ListKeys evaluated on the hospital's own peer under its own identity. */
  const ownPeerKeys = async (who: OrgName, runId: string, round: number) => {
    const connection = peers.get(who) as NetworkGatewayConnection;
    sources.push(connection.peerName);
    const bytes = await connection.contract.evaluateTransaction('ListKeys', runId, String(round));
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as KeysRecord[];
  };

  it('runs two masked rounds, one with a hospital dropping after dealing, and the auditor verifies both from its own peer', async () => {
    const runId = `secagg-fabric-${Date.now()}`;
    const initial = await createSecAggRun(h, runId, 2, { phaseSeconds: 5, minSurvivors: 2 }, 10);
    const s = await secAggSettingsOf(h, runId);
    const first = await playSecAggRound(h, runId, 0, {
      submitters: SECAGG_HOSPITALS,
      readKeys: ownPeerKeys,
    });
    expect(sources).to.deep.equal(['peer0.hospital1', 'peer0.hospital2', 'peer0.hospital3']);
    expect(first.closed.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    const one = await secAggError(
      h,
      first.closed,
      await h.gateway.blobs.get(initial),
      first.hospitals,
      s,
    );
    expect(one.worst).to.be.lessThan(one.bound);

    const second = await playSecAggRound(h, runId, 1, {
      submitters: ['hospital1', 'hospital3'],
      readKeys: ownPeerKeys,
    });
    expect(second.closed.secagg?.survivors).to.deep.equal(['Hospital1MSP', 'Hospital3MSP']);
    expect(second.closed.included).to.deep.equal(['Hospital1MSP', 'Hospital3MSP']);
    const input = await h.gateway.blobs.get(first.closed.aggregateHash ?? '');
    const two = await secAggError(h, second.closed, input, second.hospitals, s);
    expect(two.worst).to.be.lessThan(two.bound);

    // The auditor's peer holds the keys each hospital signed, and the close records name the
    // reveals; verify recomputes both aggregates from them.
    const auditorKeys = await ownPeerKeys('auditor', runId, 1);
    expect(auditorKeys.map((k) => k.creator.mspId)).to.deep.equal([
      'Hospital1MSP',
      'Hospital2MSP',
      'Hospital3MSP',
    ]);
    const result = { code: -1, stdout: '' };
    const io: AuditIo = { out: (text) => void (result.stdout += text), err: () => undefined };
    const fromGateway = ['--blobs', h.gateway.url, '--gateway-ca', h.tls.caCertPath];
    const ownPeer = [
      '--network-dir',
      networkDir(),
      '--identity',
      'auditor',
      '--peer',
      'peer0.auditor',
    ];
    result.code = await runAudit(['verify', runId, ...fromGateway, ...ownPeer], { io });
    expect(result.code, result.stdout).to.equal(AUDIT_EXIT.OK);
    expect(result.stdout).to.contain('verified against Hyperledger Fabric');
    expect(result.stdout).to.contain(
      'round 1: aggregate recomputed from Hospital1MSP, Hospital3MSP',
    );
  });
});
