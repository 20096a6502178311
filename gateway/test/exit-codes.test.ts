// The documented exit codes of fedledger-audit and fedledger-gateway (their --help), driven as
// child processes, as an operator's script sees them. fedledger-audit's 1 (verify found a problem)
// and 5 (anything else) need a ledger: audit-cli.test.ts covers them in-process.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { AUDIT_EXIT, AUDIT_USAGE } from '../src/audit/audit-cli';

const AUDIT = resolve(__dirname, '..', 'src', 'cli', 'audit.js');
const GATEWAY = resolve(__dirname, '..', 'src', 'cli', 'gateway.js');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(bin: string, argv: readonly string[]): Promise<Outcome> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...argv], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

/** A connection profile naming an auditor and a coordinator whose files do not exist. */
function fakeNetwork(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const peer = { mspId: 'AuditorMSP', endpoint: '127.0.0.1:1', hostAlias: 'peer0.auditor' };
  const identity = (mspId: string) => ({
    mspId,
    certPath: join(dir, 'none.pem'),
    keyPath: join(dir, 'none.key'),
    peer: 'peer0.auditor',
    caCertPath: join(dir, 'ca.pem'),
  });
  writeFileSync(
    join(dir, 'connection.json'),
    JSON.stringify({
      channel: 'fedledger',
      chaincode: 'fedledger',
      peers: { 'peer0.auditor': { ...peer, tlsRootCertPath: join(dir, 'tls.pem') } },
      identities: { auditor: identity('AuditorMSP'), coordinator: identity('CoordinatorMSP') },
      orderers: {},
    }),
  );
  return dir;
}

describe('exit codes of fedledger-audit and fedledger-gateway (child processes)', function () {
  this.timeout(120_000);
  const scratch = mkdtempSync(join(tmpdir(), 'fedledger-exit-codes-'));
  const network = fakeNetwork(join(scratch, 'network'));
  const noNetwork = join(scratch, 'no-network');
  const state = join(scratch, 'state');

  const audit: [string, string[], number, RegExp][] = [
    ['--help', ['--help'], AUDIT_EXIT.OK, /Usage: fedledger-audit/],
    ['no command', [], AUDIT_EXIT.USAGE, /name a command/],
    [
      'an unknown option',
      ['trail', 'r', '--colour'],
      AUDIT_EXIT.USAGE,
      /^fedledger-audit: unknown option --colour$/m,
    ],
    [
      'an option without its value',
      ['verify', 'r', '--blobs'],
      AUDIT_EXIT.USAGE,
      /--blobs needs a value/,
    ],
    [
      'an identity connection.json does not name',
      ['trail', 'r', '--network-dir', network, '--identity', 'nobody'],
      AUDIT_EXIT.USAGE,
      /--identity nobody: .*connection\.json has no identity of that name \(known: auditor, coordinator\)/,
    ],
    [
      'a peer connection.json does not name',
      ['trail', 'r', '--network-dir', network, '--peer', 'peer9'],
      AUDIT_EXIT.USAGE,
      /--peer peer9: .*has no peer of that name/,
    ],
    [
      'a missing --blobs folder',
      ['verify', 'r', '--blobs', join(scratch, 'nowhere')],
      AUDIT_EXIT.NOT_FOUND,
      /does not exist/,
    ],
    [
      'no network',
      ['trail', 'r', '--network-dir', noNetwork],
      AUDIT_EXIT.UNAVAILABLE,
      /run scripts\/network\.sh up/,
    ],
  ];
  for (const [what, argv, code, message] of audit) {
    it(`fedledger-audit: ${what} exits ${code}`, async () => {
      const r = await cli(AUDIT, argv);
      expect(r.code, r.stderr).to.equal(code);
      expect(code === 0 ? r.stdout : r.stderr).to.match(message);
      // Node's own parseArgs advice never reaches the auditor.
      expect(r.stderr).to.not.include('positional argument');
    });
  }

  it('fedledger-audit documents every code it exits with', () => {
    for (const code of new Set(audit.map((c) => c[2])))
      expect(AUDIT_USAGE).to.match(new RegExp(`^  ${code}  `, 'm'));
  });

  const gateway: [string, string[], number, RegExp][] = [
    ['--help', ['--help'], 0, /Usage: fedledger-gateway serve/],
    ['no command', [], 2, /Usage: fedledger-gateway/],
    ['an unknown command', ['frobnicate'], 2, /unknown command "frobnicate"/],
    ['an unknown option', ['serve', '--colour'], 2, /fedledger-gateway: unknown option --colour/],
    [
      'a port out of range',
      ['serve', '--state-dir', state, '--port', '70000'],
      2,
      /--port must be 0-65535/,
    ],
    [
      'an unknown ledger',
      ['serve', '--state-dir', state, '--ledger', 'paper'],
      2,
      /--ledger must be fabric or simulated/,
    ],
    [
      'an identity connection.json does not name',
      ['serve', '--state-dir', state, '--network-dir', network, '--identity', 'nobody'],
      2,
      /--identity nobody: .*has no identity of that name/,
    ],
    [
      'no network',
      ['serve', '--state-dir', state, '--network-dir', noNetwork],
      1,
      /cannot read the Fabric connection profile/,
    ],
  ];
  for (const [what, argv, code, message] of gateway) {
    it(`fedledger-gateway: ${what} exits ${code}`, async () => {
      const r = await cli(GATEWAY, argv);
      expect(r.code, r.stderr).to.equal(code);
      expect(`${r.stdout}${r.stderr}`).to.match(message);
      expect(r.stderr).to.not.include('positional argument');
    });
  }
});
