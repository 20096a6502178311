// Organisations on hosts of their own: `scripts/network.sh up --hosts` puts the orderers, the
// chaincode server, the gateway, the auditor and each hospital in a network namespace of its own
// (eight with the bridge's), and a short run goes across them: the gateway in the coordinator's
// namespace on its address, each trainer in its hospital's namespace with its organisation's own
// connection.json, the auditor verifying from its namespace through its own peer. Then no
// process may listen on any address but its own host's (and that host's loopback), and `down`
// leaves no namespace behind. Needs root and `ip netns` (iproute2; .ci/run installs it).
//
// The network has a folder of its own (<the suite's network folder>-hosts) and lives entirely in
// its namespaces, so it shares no address or port with the suite's network.
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { networkDir } from './support/network';
import { REPO_ROOT } from './support/paths';

const NETWORK_SH = join(REPO_ROOT, 'scripts', 'network.sh');
const TRAINER = join(REPO_ROOT, 'trainer', 'bin', 'fedledger-trainer.js');
const RUN = join(REPO_ROOT, 'trainer', 'bin', 'fedledger-run.js');
const GATEWAY = join(REPO_ROOT, 'gateway', 'bin', 'fedledger-gateway.js');
const AUDIT = join(REPO_ROOT, 'gateway', 'bin', 'fedledger-audit.js');
const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'];

/** Runs `node <script> args` in a namespace and resolves with its exit code and output. */
function inNamespace(
  ns: string,
  script: string,
  args: readonly string[],
): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, output }));
  });
}

/** The addresses (without ports) that something listens on in a namespace (TCP). */
function listeners(ns: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-ltnH'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.trim().split(/\s+/)[3] ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
}

describe('organisations on hosts of their own (network namespaces, Fabric)', function () {
  this.timeout(900_000);
  const dir = `${networkDir()}-hosts`;
  const env = { ...process.env, FEDLEDGER_NETWORK_DIR: dir };
  const work = mkdtempSync(join(tmpdir(), 'fedledger-hosts-'));
  let prefix = '';
  let subnet = '';
  let gateway: ChildProcess | undefined;
  let gatewayOutput = '';

  const ns = (host: string): string => `${prefix}${host}`;
  const addressOf: Record<string, (s: string) => string> = {
    orderer: (s) => `${s}.2`,
    chaincode: (s) => `${s}.3`,
    coordinator: (s) => `${s}.4`,
    auditor: (s) => `${s}.5`,
  };
  const ip = (host: string): string =>
    host.startsWith('hospital')
      ? `${subnet}.${10 + Number(host.slice('hospital'.length))}`
      : (addressOf[host] as (s: string) => string)(subnet);

  before(() => {
    if (process.getuid?.() !== 0) {
      throw new Error('this test creates network namespaces: run it as root (CI does)');
    }
    execFileSync('ip', ['-V']);
    execFileSync(NETWORK_SH, ['up', '--hosts'], { cwd: REPO_ROOT, env, stdio: 'inherit' });
    [prefix = '', subnet = ''] = readFileSync(join(dir, 'hosts'), 'utf8').trim().split(/\s+/);
  });

  after(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGTERM');
      await new Promise((r) => gateway?.once('exit', r));
    }
    spawnSync(NETWORK_SH, ['down'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
  });

  it('runs a round across eight namespaces and verifies it from the auditor’s', async () => {
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const ours = names.split('\n').filter((l) => l.startsWith(prefix));
    expect(ours.length).to.be.at.least(8);

    // Data and the run file (files only, no network).
    execFileSync(process.execPath, [
      TRAINER,
      'generate',
      '--out',
      join(work, 'data'),
      '--patients',
      '300',
    ]);
    const runId = `hosts-${Date.now()}`;
    execFileSync(process.execPath, [
      TRAINER,
      'init',
      '--run-id',
      runId,
      '--data',
      join(work, 'data', 'hospital1.csv'),
      '--schema',
      join(work, 'data', 'schema.json'),
      '--out',
      join(work, 'initial.safetensors'),
      '--save-spec',
      join(work, 'model-spec.json'),
    ]);
    writeFileSync(
      join(work, 'run.json'),
      JSON.stringify({
        runId,
        model: { spec: 'model-spec.json', initial: 'initial.safetensors' },
        participants: { Hospital1MSP: 300, Hospital2MSP: 300, Hospital3MSP: 300 },
        rounds: 1,
        quorum: 2,
        deadline: '1h',
      }),
    );

    // The gateway on the coordinator's host, with the coordinator's own connection.json.
    const stateDir = join(work, 'gateway');
    const gatewayUrl = `https://${ip('coordinator')}:8443`;
    gateway = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns('coordinator'),
        process.execPath,
        GATEWAY,
        'serve',
        '--network-dir',
        join(dir, 'orgs', 'coordinator'),
        '--host',
        ip('coordinator'),
        '--port',
        '8443',
        '--state-dir',
        stateDir,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((ready, fail) => {
      const onData = (c: Buffer): void => {
        gatewayOutput += c.toString('utf8');
        if (gatewayOutput.includes(`fedledger gateway ready at ${gatewayUrl}`)) ready();
      };
      gateway?.stdout?.on('data', onData);
      gateway?.stderr?.on('data', onData);
      gateway?.once('exit', (code) =>
        fail(new Error(`gateway exited (${code}):\n${gatewayOutput}`)),
      );
    });
    const ca = join(stateDir, 'tls', 'ca.pem');

    const created = await inNamespace(ns('coordinator'), RUN, [
      'create',
      join(work, 'run.json'),
      '--gateway',
      gatewayUrl,
      '--gateway-ca',
      ca,
      '--identities',
      join(dir, 'orgs', 'coordinator', 'connection.json'),
    ]);
    expect(created.code, created.output).to.equal(0);

    // Each hospital's trainer on its own host, with only its own identity.
    const trainers = await Promise.all(
      HOSPITALS.map((h) =>
        inNamespace(ns(h), TRAINER, [
          'run',
          '--gateway',
          gatewayUrl,
          '--gateway-ca',
          ca,
          '--identities',
          join(dir, 'orgs', h, 'connection.json'),
          '--identity',
          h,
          '--run',
          runId,
          '--data',
          join(work, 'data', `${h}.csv`),
          '--schema',
          join(work, 'data', 'schema.json'),
          '--workdir',
          join(work, h),
          '--epochs',
          '1',
        ]),
      ),
    );
    trainers.forEach((t, i) => expect(t.code, `${HOSPITALS[i]}:\n${t.output}`).to.equal(0));
    // Each confirmed its commits on its own peer, at its own host's address.
    expect(trainers[0]?.output).to.include('peer0.hospital1');

    // The auditor, from its host, through its own peer.
    const audit = await inNamespace(ns('auditor'), AUDIT, [
      'verify',
      runId,
      '--network-dir',
      join(dir, 'orgs', 'auditor'),
      '--blobs',
      join(stateDir, 'blobs'),
    ]);
    expect(audit.code, audit.output).to.equal(0);
    expect(audit.output).to.match(/✓/);

    // Nobody listens on another organisation's address: each host's listeners are on its own
    // address or its own loopback.
    const hosts = ['orderer', 'chaincode', 'coordinator', 'auditor', ...HOSPITALS];
    for (const host of hosts) {
      const addresses = listeners(ns(host));
      for (const a of addresses) {
        expect([ip(host), '127.0.0.1', '::1'], `${host} listens on ${a}`).to.include(a);
      }
    }
    expect(listeners(ns('coordinator'))).to.include(ip('coordinator'));
    expect(listeners(ns('orderer'))).to.include(ip('orderer'));
    for (const h of HOSPITALS) expect(listeners(ns(h))).to.include(ip(h));
  });

  it('leaves no namespace behind after down', async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGTERM');
      await new Promise((r) => gateway?.once('exit', r));
    }
    const result = spawnSync(NETWORK_SH, ['down'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(names.split('\n').filter((l) => l.startsWith(prefix))).to.deep.equal([]);
    expect(existsSync(dir)).to.equal(false);
  });
});
