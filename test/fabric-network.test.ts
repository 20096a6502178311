// The fedledger contract on the real Fabric network (4 SmartBFT orderers, 4 peers, CCaaS): the
// rules hold end to end, the auditor reads from its own peer, and the network rides out the loss
// of one orderer and of one hospital peer.
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { connectGateway, loadNetworkProfile } from '@fedledger/gateway';
import type { NetworkGatewayConnection, NetworkProfile } from '@fedledger/gateway';
import { parseLedgerErrorCode, updateKey } from '@fedledger/protocol';
import type {
  HistoryEntry,
  LedgerErrorCode,
  RunConfig,
  UpdateRecord,
  UpdateSubmission,
} from '@fedledger/protocol';
import { blockHeight, eventually, startNode, stopNode } from './support/network';

const HOSPITALS = ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'];
const MSP_OF: Record<string, string> = {
  hospital1: 'Hospital1MSP',
  hospital2: 'Hospital2MSP',
  hospital3: 'Hospital3MSP',
};
const ORDERERS = ['orderer1', 'orderer2', 'orderer3', 'orderer4'];

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const decode = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** The ledger error code in a Fabric error: in the message or in an endorser's detail. */
function ledgerCodeOf(err: unknown): LedgerErrorCode | undefined {
  if (!(err instanceof Error)) return undefined;
  const details = (err as { details?: { message: string }[] }).details ?? [];
  for (const text of [err.message, ...details.map((d) => d.message)]) {
    const code = parseLedgerErrorCode(text);
    if (code) return code;
  }
  return undefined;
}

async function expectRefusal(promise: Promise<unknown>, code: LedgerErrorCode): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(ledgerCodeOf(err), String(err)).to.equal(code);
    return;
  }
  expect.fail(`expected the ledger to refuse with ${code}`);
}

describe('Fabric network (4 BFT orderers, 4 peers, CCaaS chaincode)', function () {
  this.timeout(180_000);

  let profile: NetworkProfile;
  const openedRuns: string[] = [];
  const connections = new Map<string, NetworkGatewayConnection>();

  const as = (identity: string, peer?: string): NetworkGatewayConnection => {
    const key = `${identity}@${peer ?? ''}`;
    let connection = connections.get(key);
    if (!connection) {
      connection = connectGateway(profile, identity, peer);
      connections.set(key, connection);
    }
    return connection;
  };

  /** Creates a run of the three hospitals and opens its round 0 (as the coordinator). */
  async function openRun(label: string): Promise<string> {
    const runId = `${label}-${randomUUID().slice(0, 8)}`;
    const config: RunConfig = {
      runId,
      modelSpecHash: sha256(`${runId}/spec`),
      initialModelHash: sha256(`${runId}/model-0`),
      participants: HOSPITALS,
      roundsPlanned: 1,
      minUpdatesPerRound: 1,
      strategy: 'fedavg',
      sampleCounts: Object.fromEntries(HOSPITALS.map((msp) => [msp, 1_000_000])),
      settings: { test: label },
    };
    const { contract } = as('coordinator');
    // The coordinator's submit returns once its own peer (peer0.hospital1) has committed; other
    // peers endorse the next transactions, so wait until each hospital's peer has the record.
    await contract.submitTransaction('CreateRun', JSON.stringify(config));
    await seenByEveryHospital('GetRun', runId);
    await contract.submitTransaction('OpenRound', runId, '0', config.initialModelHash);
    await seenByEveryHospital('GetRound', runId, '0');
    openedRuns.push(runId);
    return runId;
  }

  /**
   * Closes round 0 of a run this suite opened, which completes it, so that the suite leaves no
   * open round behind for other suites (a gateway resumes every active run it finds).
   */
  async function completeRun(runId: string): Promise<void> {
    const list = async (): Promise<UpdateRecord[]> =>
      JSON.parse(
        decode(await as('hospital1').contract.evaluateTransaction('ListUpdates', runId, '0')),
      ) as UpdateRecord[];
    let updates = await list();
    if (updates.length === 0) {
      const record = await submitUpdate('hospital1', runId);
      await seenByEveryHospital('GetUpdate', runId, '0', record.mspId);
      updates = await list();
    }
    for (const update of updates) {
      await seenByEveryHospital('GetUpdate', runId, '0', update.mspId);
    }
    await as('coordinator').contract.submitTransaction(
      'CloseRound',
      JSON.stringify({
        runId,
        round: 0,
        aggregateHash: sha256(`${runId}/model-1`),
        included: updates.map((u) => u.mspId),
        excluded: [],
      }),
    );
  }

  async function seenByEveryHospital(query: string, ...args: string[]): Promise<void> {
    for (const hospital of Object.keys(MSP_OF)) {
      await eventually(`${query} ${args.join(' ')} on ${hospital}'s peer`, async () => {
        await as(hospital).contract.evaluateTransaction(query, ...args);
        return true;
      });
    }
  }

  function submission(runId: string, mspId: string): UpdateSubmission {
    return {
      runId,
      round: 0,
      mspId,
      sha256: sha256(`${runId}/${mspId}/update`),
      sampleCount: 1000,
      byteLength: 4096,
      encoding: 'float32',
    };
  }

  /** SubmitUpdate as a hospital, for its own MSP unless `mspId` says otherwise. */
  async function submitUpdate(
    hospital: string,
    runId: string,
    mspId?: string,
  ): Promise<UpdateRecord> {
    const body = submission(runId, mspId ?? MSP_OF[hospital] ?? '');
    const { contract } = as(hospital);
    // SubmitUpdate answers with the key only; the committing peer then has the record.
    const key = decode(await contract.submitTransaction('SubmitUpdate', JSON.stringify(body)));
    expect(key).to.equal(updateKey(runId, 0, body.mspId));
    return JSON.parse(
      decode(await contract.evaluateTransaction('GetUpdate', runId, '0', body.mspId)),
    ) as UpdateRecord;
  }

  /** Waits until every named node reports the same block height as orderer1. */
  async function waitForSameHeight(nodes: string[]): Promise<number> {
    return eventually(`${nodes.join(', ')} to reach orderer1's block height`, async () => {
      const reference = await blockHeight('orderer1');
      const heights = await Promise.all(nodes.map((n) => blockHeight(n)));
      return heights.every((h) => h === reference) ? reference : undefined;
    });
  }

  before(function () {
    profile = loadNetworkProfile();
  });

  after(async function () {
    try {
      for (const runId of openedRuns) await completeRun(runId);
    } finally {
      for (const connection of connections.values()) connection.close();
    }
  });

  it('records an update that the auditor reads from its own peer, written exactly once', async function () {
    const runId = await openRun('audit');
    const record = await submitUpdate('hospital1', runId);
    expect(record.mspId).to.equal('Hospital1MSP');
    expect(record.creator.mspId).to.equal('Hospital1MSP');

    const auditor = as('auditor', 'peer0.auditor');
    expect(auditor.peerName).to.equal('peer0.auditor');
    const seen = await eventually('the update on peer0.auditor', async () => {
      const bytes = await auditor.contract.evaluateTransaction(
        'GetUpdate',
        runId,
        '0',
        'Hospital1MSP',
      );
      return JSON.parse(decode(bytes)) as UpdateRecord;
    });
    expect(seen.sha256).to.equal(record.sha256);
    expect(seen.txId).to.equal(record.txId);

    const history = JSON.parse(
      decode(
        await auditor.contract.evaluateTransaction(
          'GetHistory',
          updateKey(runId, 0, 'Hospital1MSP'),
        ),
      ),
    ) as HistoryEntry[];
    expect(history).to.have.length(1);
    expect(history[0]?.txId).to.equal(record.txId);
  });

  it('refuses a run created by a hospital calling the chaincode directly (NOT_CONSORTIUM_COORDINATOR)', async function () {
    const runId = `hospital-run-${randomUUID().slice(0, 8)}`;
    const config: RunConfig = {
      runId,
      modelSpecHash: sha256(`${runId}/spec`),
      initialModelHash: sha256(`${runId}/model-0`),
      participants: ['Hospital1MSP'],
      roundsPlanned: 1,
      minUpdatesPerRound: 1,
      strategy: 'fedavg',
      sampleCounts: { Hospital1MSP: 1000 },
      settings: { test: 'hospital-run' },
    };
    await expectRefusal(
      as('hospital1').contract.submitTransaction('CreateRun', JSON.stringify(config)),
      'NOT_CONSORTIUM_COORDINATOR',
    );
    await expectRefusal(
      as('auditor').contract.evaluateTransaction('GetRun', runId),
      'RUN_NOT_FOUND',
    );
  });

  it('refuses a hospital submitting in the name of another (MSP_MISMATCH)', async function () {
    const runId = await openRun('mismatch');
    await expectRefusal(submitUpdate('hospital2', runId, 'Hospital1MSP'), 'MSP_MISMATCH');
  });

  it('refuses a second submission for the same round (UPDATE_EXISTS)', async function () {
    const runId = await openRun('duplicate');
    await submitUpdate('hospital2', runId);
    await seenByEveryHospital('GetUpdate', runId, '0', 'Hospital2MSP');
    await expectRefusal(submitUpdate('hospital2', runId), 'UPDATE_EXISTS');
  });

  it('commits with one orderer down, and the orderer catches up when it returns', async function () {
    await stopNode('orderer4');
    try {
      const runId = await openRun('orderer-down');
      for (const hospital of ['hospital1', 'hospital2', 'hospital3']) {
        const record = await submitUpdate(hospital, runId);
        expect(record.runId).to.equal(runId);
      }
    } finally {
      await startNode('orderer4');
    }
    const height = await waitForSameHeight(ORDERERS.slice(1));
    expect(height).to.be.greaterThan(1);
  });

  it('endorses with two of three hospitals while one hospital peer is down', async function () {
    const runId = await openRun('peer-down');
    await stopNode('peer0.hospital3');
    try {
      const first = await submitUpdate('hospital1', runId);
      const second = await submitUpdate('hospital2', runId);
      expect([first.mspId, second.mspId]).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
      const listed = JSON.parse(
        decode(await as('hospital1').contract.evaluateTransaction('ListUpdates', runId, '0')),
      ) as UpdateRecord[];
      expect(listed.map((u) => u.mspId)).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    } finally {
      await startNode('peer0.hospital3');
    }
    await waitForSameHeight(['peer0.hospital3', 'peer0.hospital1']);
  });
});
