// `npm run experiment` with its default ledger table: the sweep on the simulated ledger, then one
// federated + DP run on the real Fabric network, whose transactions, latencies and block-file
// growth fill the table beside the study's Table II.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { REPO_ROOT } from './support/paths';

const exec = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'scripts', 'dist', 'experiment', 'experiment.js');

async function experiment(args: string[]): Promise<string> {
  const { stdout } = await exec(process.execPath, [SCRIPT, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

describe('experiment: the ledger table from a run on Fabric', function () {
  let out: string;
  const tiny = ['--patients', '300', '--rounds', '2', '--epochs', '1', '--repeats', '1'];

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'fedledger-experiment-fabric-'));
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs the sweep on the simulated ledger and one ε = 1 run on Fabric for Table II', async () => {
    const stdout = await experiment([...tiny, '--epsilons', '1', '--no-ckks', '--out', out]);
    expect(stdout).to.include('LEDGER: SIMULATED ledger');
    expect(stdout).to.include('the network is already up and healthy; using it');
    expect(stdout).to.match(/federated \+ DP ε=1 r0 on Fabric: ✓ run \S+ verified from the ledger/);
    expect(existsSync(join(out, 'cells', 'federated-dp-eps1-r0-fabric.json'))).to.equal(true);
    const table = stdout.slice(stdout.indexOf('ledger figure'));
    expect(table).to.match(/ledger figure\s+ours \(Fabric\)\s+study/);
    expect(table).to.match(/ledger growth per run\s+[\d.]+ KiB of block files \(peer0\.auditor\)/);
    expect(table).to.match(/runs verified from the ledger\s+1\/1/);
    expect(table).to.match(/ordering\s+Fabric \(BFT orderers\)\s+PBFT/);
    expect(table).to.not.include('NOT Fabric figures');

    // Resumable like every other cell; the network the suite started is left running.
    const again = await experiment([...tiny, '--epsilons', '1', '--no-ckks', '--out', out]);
    expect(again).to.include('the Fabric run for the ledger table finished earlier');
    expect(again).to.not.include('started (seed');
    await exec(join(REPO_ROOT, 'scripts', 'network.sh'), ['status']);
  });
});
