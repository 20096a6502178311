// Crash, not close: a gateway process on the Fabric network is killed with SIGKILL at five points
// of a round (after an upload before its signature; between the two signatures; after a commit
// before the reply; while aggregating; between CloseRound and OpenRound) and started again on the
// same state folder and port. Three hospitals take part with the trainer's own participation
// loop and outbox, checking on their own peers; a hospital whose signing session was lost
// resubmits from its outbox by itself. Each time the run completes, every update is on the
// ledger exactly once and included once, and fedledger-audit verify passes from peer0.auditor.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AUDIT_EXIT, CRASH_POINTS } from '@fedledger/gateway';
import type { UpdateRecord } from '@fedledger/protocol';
import { sha256Hex } from '@fedledger/protocol';
import { freePort, startGatewayProcess } from './support/gateway-process';
import type { Participation } from './support/hospitals';
import {
  HOSPITAL_MSPS,
  createHospitalRun,
  hospitalUpdate,
  participate,
  verifyFromAuditorPeer,
} from './support/hospitals';
import { networkDir } from './support/network';

const ROUNDS = 2;

describe('a gateway killed with SIGKILL at five points of a round (Fabric)', function () {
  this.timeout(600_000);
  const connectionJson = () => join(networkDir(), 'connection.json');
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'fedledger-crash-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  for (const point of CRASH_POINTS) {
    it(`${point}: restarted, the run completes with every update counted once and verifies`, async () => {
      const runId = `crash-${point}-${Date.now()}`;
      const stateDir = join(scratch, point, 'gateway');
      const port = await freePort();
      const start = (env: Record<string, string> = {}) =>
        startGatewayProcess({ stateDir, networkDir: networkDir(), port, env });
      let gw = await start({ FEDLEDGER_CRASH_AT: point, FEDLEDGER_CRASH_RUN: runId });
      const first = gw;
      // When the gateway dies, it is started again at once, as a supervisor would.
      const restarted = first.exited.then(async (exit) => {
        gw = await start();
        return exit;
      });
      let hospitals: Participation | undefined;
      try {
        await createHospitalRun(connectionJson(), first, runId, ROUNDS, 3);
        hospitals = participate({
          connectionJson: connectionJson(),
          gw: first,
          runId,
          workdir: join(scratch, point),
        });
        const { owns, logs } = hospitals;
        const results = await hospitals.results;

        // The first gateway really died at that point, by SIGKILL.
        const exit = await restarted;
        expect(exit.signal, first.output()).to.equal('SIGKILL');
        expect(first.output()).to.contain(`crash point ${point} reached in run ${runId}`);
        // A hospital whose signing session died with the gateway delivered from its outbox.
        if (['after-upload', 'between-signatures', 'after-commit'].includes(point)) {
          expect(logs.join('\n')).to.match(
            /outbox: (delivered run \S+ round 0|run \S+ round 0 is already on the ledger)/,
          );
        }

        // Every hospital ends with the ledger's final model, every round once per hospital.
        const trail = await owns[0]!.getAuditTrail(runId);
        expect(trail?.run.status).to.equal('completed');
        expect(trail?.rounds).to.have.length(ROUNDS);
        for (const round of trail!.rounds) {
          expect(round.updates.map((u: UpdateRecord) => u.mspId).sort()).to.deep.equal([
            'Hospital1MSP',
            'Hospital2MSP',
            'Hospital3MSP',
          ]);
          expect(round.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
          expect(round.excluded ?? []).to.deep.equal([]);
          // Each record holds exactly the bytes that hospital trained for that round.
          for (const u of round.updates) {
            const sent = hospitalUpdate(runId, round.round, HOSPITAL_MSPS.indexOf(u.mspId));
            expect(u.sha256, logs.join('\n')).to.equal(sha256Hex(sent));
          }
        }
        for (const r of results) {
          expect(r.finalModel.sha256).to.equal(trail!.run.finalModelHash);
          expect(r.finalModel.checkedAgainst).to.match(/this hospital's own peer$/);
        }
        const audit = await verifyFromAuditorPeer(runId, gw);
        expect(audit.code, audit.out).to.equal(AUDIT_EXIT.OK);
        expect(audit.out).to.contain(`Verified: all ${ROUNDS} rounds ✓`);
      } finally {
        hospitals?.close();
        await first.stop();
        await restarted.catch(() => undefined);
        await gw.stop();
      }
    });
  }
});
