// fedledger-audit's command line: output of trail and history on the simulated ledger, and the exit
// status and message of every kind of bad input (unknown run, missing blobs folder, no network…).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { AUDIT_EXIT, AUDIT_USAGE, runAudit } from '../src/audit/audit-cli';
import type { AuditLedgerConnection } from '../src/audit/audit-cli';
import { TRAIL_CSV_COLUMNS } from '../src/audit/trail-format';
import type { TrailView } from '../src/audit/trail-format';
import { Harness } from '../src/testing';
import { blobRoot, capture, completedRun, simulatedAuditor } from './audit-fixtures';

const RUN = 'cli-run';
const BIN = resolve(__dirname, '..', 'src', 'cli', 'audit.js');

describe('fedledger-audit command line', function () {
  let h: Harness;
  let scratch: string;

  before(async () => {
    h = await Harness.create();
    await completedRun(h, RUN);
    scratch = await mkdtemp(join(tmpdir(), 'fedledger-audit-cli-'));
  });
  after(async () => {
    await h.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  let connected = 0;
  const audit = async (...argv: string[]) => {
    const io = capture();
    const code = await runAudit(argv, {
      io,
      connect: (): AuditLedgerConnection => {
        connected++;
        return simulatedAuditor(h);
      },
    });
    return { code, ...io };
  };

  describe('output', () => {
    it('trail prints every round with each update, its fate and the aggregate', async () => {
      const r = await audit('trail', RUN);
      expect(r.code, r.stderr).to.equal(AUDIT_EXIT.OK);
      for (const round of [0, 1, 2]) expect(r.stdout).to.contain(`Round ${round} (closed)`);
      expect(r.stdout).to.match(
        /ORGANISATION\s+SHA-256\s+SAMPLES\s+ε SPENT\s+TX ID\s+BLOCK\s+TIME\s+FATE/,
      );
      expect(
        r.stdout.match(
          /Hospital2MSP\s+[0-9a-f]{12}\s+20\s+—\s+[0-9a-f]{12}\s+\d+\s+\S+Z\s+included/g,
        ),
      ).to.have.length(3);
      expect(r.stdout).to.contain('Ledger: SIMULATED');
    });

    it('trail --csv has one row per update with full hashes', async () => {
      const r = await audit('trail', RUN, '--csv');
      expect(r.code).to.equal(AUDIT_EXIT.OK);
      const lines = r.stdout.trimEnd().split('\r\n');
      expect(lines[0]).to.equal(TRAIL_CSV_COLUMNS.join(','));
      expect(lines).to.have.length(1 + 9);
      expect(lines[1]).to.match(
        /^cli-run,0,closed,[0-9a-f]{64},[0-9a-f]{64},Hospital1MSP,[0-9a-f]{64},10,,[0-9a-f]{64},\d+,\S+Z,true,included,,$/,
      );
    });

    it('trail --json is the trail view', async () => {
      const r = await audit('trail', RUN, '--json');
      const view = JSON.parse(r.stdout) as TrailView;
      expect(view.runId).to.equal(RUN);
      expect(view.rounds.map((x) => x.updates.map((u) => u.fate))).to.deep.equal([
        ['included', 'included', 'included'],
        ['included', 'included', 'included'],
        ['included', 'included', 'included'],
      ]);
      // Each record with the block that committed it; later rounds in later blocks.
      const blocks = view.rounds.map((x) => x.updates.map((u) => u.block ?? NaN));
      for (const round of blocks) for (const b of round) expect(b).to.be.a('number').above(0);
      expect(Math.max(...blocks[0]!)).to.be.below(Math.min(...blocks[1]!));
      expect(Math.max(...blocks[1]!)).to.be.below(Math.min(...blocks[2]!));
    });

    it('history lists every write of a key', async () => {
      const r = await audit('history', `round/${RUN}/1`);
      expect(r.code, r.stderr).to.equal(AUDIT_EXIT.OK);
      expect(r.stdout).to.contain(`History of round/${RUN}/1 (2 writes)`);
    });

    it('--help documents every exit code', async () => {
      const r = await audit('--help');
      expect(r.code).to.equal(AUDIT_EXIT.OK);
      for (const code of Object.values(AUDIT_EXIT))
        expect(r.stdout).to.match(new RegExp(`^  ${code}  `, 'm'));
      expect(AUDIT_USAGE).to.contain('scripts/network.sh up');
    });
  });

  describe('bad input', () => {
    it('an unknown run exits 3 and says so (trail and verify)', async () => {
      const trail = await audit('trail', 'no-such-run');
      expect(trail.code).to.equal(AUDIT_EXIT.NOT_FOUND);
      expect(trail.stderr).to.contain('the ledger has no run "no-such-run"');
      const verify = await audit('verify', 'no-such-run', '--blobs', blobRoot(h));
      expect(verify.code).to.equal(AUDIT_EXIT.NOT_FOUND);
      expect(verify.stderr).to.contain('the ledger has no run "no-such-run"');
      expect(verify.stdout).to.equal('');
    });

    it('a missing blobs folder exits 3 before the ledger is read', async () => {
      const before = connected;
      const r = await audit('verify', RUN, '--blobs', join(scratch, 'nowhere'));
      expect(r.code).to.equal(AUDIT_EXIT.NOT_FOUND);
      expect(r.stderr).to.contain(`the blobs folder ${join(scratch, 'nowhere')} does not exist`);
      expect(connected).to.equal(before);
    });

    it('a missing gateway CA file exits 3', async () => {
      const r = await audit(
        'verify',
        RUN,
        '--blobs',
        h.gateway.url,
        '--gateway-ca',
        join(scratch, 'ca.pem'),
      );
      expect(r.code).to.equal(AUDIT_EXIT.NOT_FOUND);
      expect(r.stderr).to.contain('cannot read the gateway CA file');
    });

    it('an unreachable gateway exits 4', async () => {
      const server = createServer();
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const port = (server.address() as AddressInfo).port;
      await new Promise<void>((done) => server.close(() => done()));
      const r = await audit('verify', RUN, '--blobs', `https://127.0.0.1:${port}`);
      expect(r.code).to.equal(AUDIT_EXIT.UNAVAILABLE);
      expect(r.stderr).to.contain(`cannot reach the gateway at https://127.0.0.1:${port}`);
    });

    it('a key the ledger has never written exits 3; a malformed key exits 2', async () => {
      const unknown = await audit('history', `update/${RUN}/0/NobodyMSP`);
      expect(unknown.code).to.equal(AUDIT_EXIT.NOT_FOUND);
      expect(unknown.stderr).to.contain('no history for key');
      const malformed = await audit('history', 'not-a-key');
      expect(malformed.code, malformed.stderr).to.equal(AUDIT_EXIT.USAGE);
    });

    const usage: [string, string[], RegExp][] = [
      ['no command', [], /name a command/],
      ['an unknown command', ['frobnicate', 'x'], /unknown command "frobnicate"/],
      ['verify without --blobs', ['verify', RUN], /verify needs --blobs/],
      ['trail without a run', ['trail'], /trail needs a run ID/],
      ['a block number that is not a number', ['block', 'latest'], /block number "latest"/],
      ['--csv for verify', ['verify', RUN, '--blobs', '.', '--csv'], /--csv is for trail only/],
      ['--json with --csv', ['trail', RUN, '--json', '--csv'], /exclude each other/],
      ['an unknown option', ['trail', RUN, '--colour'], /--colour/],
      ['extra arguments', ['trail', RUN, 'more'], /unexpected arguments: more/],
    ];
    for (const [what, argv, message] of usage) {
      it(`${what} exits 2`, async () => {
        const r = await audit(...argv);
        expect(r.code).to.equal(AUDIT_EXIT.USAGE);
        expect(r.stderr).to.match(message);
        expect(r.stderr).to.contain('fedledger-audit --help');
      });
    }

    it('the installed command exits 4 with "run scripts/network.sh up" when there is no network', () => {
      const result = spawnSync(
        process.execPath,
        [BIN, 'verify', RUN, '--blobs', blobRoot(h), '--network-dir', join(scratch, 'no-network')],
        { encoding: 'utf8' },
      );
      expect(result.status).to.equal(AUDIT_EXIT.UNAVAILABLE);
      expect(result.stderr).to.contain('cannot read the Fabric connection profile');
      expect(result.stderr).to.contain('run scripts/network.sh up');
    });

    it('the installed command exits 0 for --help', () => {
      const result = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
      expect(result.status).to.equal(0);
      expect(result.stdout).to.contain('Usage: fedledger-audit');
    });
  });
});
