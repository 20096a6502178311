// Liveness on the real network: 2 of the 4 BFT orderers (no consensus quorum) are taken down at
// four moments of a round: when the round has just opened, right after its last update commits,
// during CloseRound (endorsed, not yet ordered) and during OpenRound. The gateway, a process of
// its own run with --unhandled-rejections=strict, is never restarted: once the orderers are back
// the run completes by itself, every update included exactly once, every round closed once, with
// no round closed by its deadline, and fedledger-audit verify passes from the auditor's peer.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AUDIT_EXIT, PAUSE_POINTS } from '@fedledger/gateway';
import type { HistoryEntry } from '@fedledger/protocol';
import { roundKey } from '@fedledger/protocol';
import { connectGateway, loadNetworkProfile } from '@fedledger/protocol/fabric';
import { freePort, startGatewayProcess } from './support/gateway-process';
import type { Participation } from './support/hospitals';
import { createHospitalRun, participate, verifyFromAuditorPeer } from './support/hospitals';
import { eventually, networkDir, startNode, stopNode } from './support/network';

const ROUNDS = 2;
/** Two of four: SmartBFT with n = 4 tolerates one fault, so no block can be ordered. */
const DOWN = ['orderer3', 'orderer4'];

describe('2 of 4 orderers down at four moments of a round: the run goes on by itself (Fabric)', function () {
  this.timeout(600_000);
  const connectionJson = () => join(networkDir(), 'connection.json');
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fedledger-outage-'));
  });
  after(async () => {
    // Whatever happened, the orderers are up again for the suites that follow.
    for (const orderer of DOWN) await startNode(orderer).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  });

  for (const point of PAUSE_POINTS) {
    // Round 1's open for the OpenRound point (round 0 opens when the run is created).
    const round = point === 'open-endorsed' || point === 'round-opened' ? 1 : 0;
    it(`${point} (round ${round}): the run completes without a gateway restart`, async () => {
      const runId = `outage-${point}-${Date.now()}`;
      const pauseFile = join(scratch, `${point}.paused`);
      const gw = await startGatewayProcess({
        stateDir: join(scratch, point, 'gateway'),
        networkDir: networkDir(),
        port: await freePort(),
        nodeOptions: ['--unhandled-rejections=strict'],
        env: {
          FEDLEDGER_PAUSE_AT: point,
          FEDLEDGER_PAUSE_ROUND: String(round),
          FEDLEDGER_PAUSE_FILE: pauseFile,
        },
      });
      const auditor = connectGateway(loadNetworkProfile(connectionJson()), 'auditor');
      let hospitals: Participation | undefined;
      try {
        await createHospitalRun(connectionJson(), gw, runId, ROUNDS, 2);
        hospitals = participate({
          connectionJson: connectionJson(),
          gw,
          runId,
          workdir: join(scratch, point),
          timeoutMs: 90_000,
          pollMs: 200,
          maxPollMs: 1000,
        });
        const { owns, logs } = hospitals;
        // The gateway holds at the moment; the orderers go down; it carries on into the outage.
        await eventually(`the gateway to reach ${point}`, () =>
          Promise.resolve(existsSync(pauseFile) ? true : undefined),
        );
        for (const orderer of DOWN) await stopNode(orderer);
        await rm(pauseFile);
        // Not a fixed wait: the outage lasts until the gateway has seen the ledger refuse it
        // (a coordinator step retried, or a hospital's submission failed).
        await eventually(
          'the ledger to refuse a write during the outage',
          () =>
            Promise.resolve(
              /trying again in \d+ ms/.test(gw.output()) ||
                /kept in the outbox/.test(logs.join('\n'))
                ? true
                : undefined,
            ),
          180_000,
        );
        for (const orderer of DOWN) await startNode(orderer);

        const results = await hospitals.results;
        const trail = await owns[0]!.getAuditTrail(runId);
        expect(trail?.run.status, gw.output()).to.equal('completed');
        expect(trail?.rounds).to.have.length(ROUNDS);
        for (const r of trail!.rounds) {
          // All three: no round was closed by its deadline (an hour) or with an update missing.
          expect(r.included, `round ${r.round}`).to.deep.equal([
            'Hospital1MSP',
            'Hospital2MSP',
            'Hospital3MSP',
          ]);
          expect(r.updates).to.have.length(3);
          const history = JSON.parse(
            Buffer.from(
              await auditor.contract.evaluateTransaction('GetHistory', roundKey(runId, r.round)),
            ).toString('utf8'),
          ) as HistoryEntry[];
          expect(history, `writes of round ${r.round}`).to.have.length(2);
        }
        for (const result of results) {
          expect(result.finalModel.sha256).to.equal(trail!.run.finalModelHash);
        }
        // The outage really refused the step held at that moment, and it was tried again.
        if (point !== 'round-opened') {
          expect(gw.output()).to.match(/failed \(\d+ in a row\); trying again in \d+ ms/);
        }
        // The same process all along, and no promise rejected unhandled (strict would kill it).
        expect(await Promise.race([gw.exited, Promise.resolve('running')])).to.equal('running');
        expect(gw.output()).not.to.match(/Unhandled|uncaught/i);
        const { code, out } = await verifyFromAuditorPeer(runId, gw);
        expect(code, out).to.equal(AUDIT_EXIT.OK);
      } finally {
        for (const orderer of DOWN) await startNode(orderer).catch(() => undefined);
        hospitals?.close();
        auditor.close();
        await gw.stop();
      }
    });
  }
});
