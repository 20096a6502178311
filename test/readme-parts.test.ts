// README's "Running the parts yourself", replayed on the Fabric network: the first block's
// gateway (as written, in its own process), then the second block as one bash script: synthetic
// hospitals, the initial model, the run file, `fedledger-run create`, three trainers, the status
// and the audit. Deviations from the text: `npm install` and `npm run build` are left out (the
// suite has done both), `scripts/network.sh up` runs in the repository (the suite's network), the
// commands run in a fresh folder that links node_modules and the network's files, and the run
// ID is made unique so that a network that has seen the replay before takes it again.
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { networkDir } from './support/network';
import { REPO_ROOT } from './support/paths';

/** The shell blocks of a README section, in order. */
function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`## ${heading}`);
  expect(start, `README has a "${heading}" section`).to.be.at.least(0);
  const end = readme.indexOf('\n## ', start + 3);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

describe('README: running the parts yourself (Fabric)', function () {
  let dir: string;
  let gateway: ChildProcess | undefined;
  let gatewayOutput = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fedledger-readme-'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, '.fedledger'));
    symlinkSync(networkDir(), join(dir, '.fedledger', 'network'));
  });
  after(() => {
    if (gateway?.pid !== undefined) process.kill(-gateway.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('works as written with the run command, from generating data to the audit', async function () {
    this.timeout(30 * 60_000);
    const [terminal1, terminal2] = shellBlocks(
      readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'),
      'Running the parts yourself',
    );
    const first = (terminal1 as string).split('\n').filter((l) => l.trim() !== '');
    expect(first.slice(0, 3)).to.deep.equal([
      'npm install',
      'npm run build',
      'scripts/network.sh up',
    ]);
    execFileSync('bash', ['-c', 'scripts/network.sh up'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const serve = first[3] as string;
    expect(serve).to.match(/^npx fedledger-gateway serve /);
    gateway = spawn('bash', ['-c', serve], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        gatewayOutput += chunk.toString('utf8');
        if (/fedledger gateway ready at https:\/\//.test(gatewayOutput)) resolve();
      };
      gateway?.stdout?.on('data', onData);
      gateway?.stderr?.on('data', onData);
      gateway?.on('exit', (code) =>
        reject(new Error(`the gateway exited (${code}): ${gatewayOutput}`)),
      );
    });

    const runId = `readme-${Date.now()}`;
    const script = `set -euo pipefail\n${(terminal2 as string).replaceAll('study-1', runId)}`;
    let output = '';
    const code = await new Promise<number>((resolve) => {
      const child = spawn('bash', ['-c', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
      child.on('exit', (c) => resolve(c ?? 1));
    });
    expect(code, output.slice(-6000)).to.equal(0);
    expect(output).to.match(
      new RegExp(`run ${runId} created \\(tx [0-9a-f]+, block \\d+\\); round 0 opened`),
    );
    for (const n of [1, 2, 3]) {
      expect(output).to.match(
        new RegExp(`round 2 \\(3 of 3\\) .*confirmed on peer0\\.hospital${n}`),
      );
    }
    expect(output).to.match(new RegExp(`run ${runId}: completed; 3 of 3 rounds closed`));
    expect(output).to.include('Verified: all 3 rounds ✓');
  });
});
