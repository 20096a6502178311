// `npm run demo` end to end on the real Fabric network, with a small configuration: three trainer
// processes, DP-SGD, every round on the ledger, the audit, the summary and the report folder.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from './support/paths';

/**
 * Runs a short demo on Fabric (800 patients, 2 rounds, 1 epoch) with `extra` options; its exit
 * code and everything it printed.
 */
function demo(
  runId: string,
  out: string,
  ...extra: string[]
): Promise<{ code: number; output: string }> {
  const args = [
    join(REPO_ROOT, 'scripts', 'dist', 'demo', 'demo.js'),
    ...['--ledger', 'fabric', ...extra, '--patients', '800', '--rounds', '2', '--epochs', '1'],
    ...['--run-id', runId, '--out', out],
  ];
  let output = '';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (c) => resolve({ code: c ?? 1, output }));
  });
}

describe('demo on the Fabric network (short)', function () {
  const out = join(REPO_ROOT, 'test-output', 'demo-report');

  it('completes with verification passing, a summary table and a report with charts', async () => {
    await rm(out, { recursive: true, force: true });
    const runId = `demo-e2e-${Date.now()}`;
    const { code, output } = await demo(runId, out);
    expect(code, output.slice(-4000)).to.equal(0);
    expect(output).to.include('the network is already up and healthy');
    expect(output).to.match(/\[ledger\] round 0 closed in block \d+/);
    expect(output).to.match(/\[ledger\] round 1 closed in block \d+/);
    expect(output).to.include('[audit] ✓ every hash, aggregate and chain-of-custody link verified');
    // Each hospital checks models and confirms its commits on its own peer, and says so.
    for (const n of [1, 2, 3]) {
      expect(output).to.match(
        new RegExp(
          `\\[Hospital${n}MSP\\] round 1: model [0-9a-f]{64} matches the ledger \\(read from peer0\\.hospital${n}, this hospital's own peer`,
        ),
      );
      expect(output).to.match(
        new RegExp(
          `\\[Hospital${n}MSP\\] round 1 \\(2 of 2\\) .* confirmed on peer0\\.hospital${n}, this hospital's own peer`,
        ),
      );
    }
    expect(output).to.match(/round\s+block\s+acc Hospital1/);
    // Beside accuracy, what it must beat: the majority rate, balanced accuracy and the AUCs.
    expect(output).to.match(
      /test split \(round 1 model\)\s+accuracy\s+majority\s+balanced acc\s+ROC AUC\s+PR AUC\s+precision\s+recall\s+F1/,
    );
    expect(output).to.match(
      /^pooled\s+\d+\.\d%\s+\d+\.\d%\s+\d+\.\d%\s+0\.\d{3}\s+0\.\d{3}\s+0\.\d{3}\s+0\.\d{3}\s+0\.\d{3}/m,
    );
    // Chain growth is read from peer0.auditor's block files: it must have been measured.
    expect(output).to.match(/chain growth: \d+\.\d KiB \(\d+\.\d KiB per transaction/);
    // An estimate of the time left after the first round; how to audit the run again.
    expect(output).to.match(/\[demo\] training: 1\/2 rounds done in .*; about .* left/);
    expect(output).to.include(`npx fedledger-audit verify ${runId} --blobs `);
    // The report folder is the run's own, and latest points at it.
    const folder = join(out, runId);
    expect(readFileSync(join(out, 'latest', 'report.md'), 'utf8')).to.include(runId);
    for (const file of [
      'report.md',
      'rounds.csv',
      'ledger.csv',
      'accuracy.svg',
      'epsilon.svg',
      'ledger-latency.svg',
    ]) {
      expect(existsSync(join(folder, file)), file).to.equal(true);
    }
    const report = readFileSync(join(folder, 'report.md'), 'utf8');
    expect(report).to.include(runId);
    expect(report).to.not.include('Simulated ledger');
    expect(report).to.include('## Auditing this run again');
    expect(readFileSync(join(folder, 'accuracy.svg'), 'utf8')).to.include('<svg');
  });

  it('runs with secure aggregation (--protection secagg): masked updates, keys from each own peer, verification passing', async () => {
    const runId = `demo-secagg-${Date.now()}`;
    const { code, output } = await demo(runId, out, '--protection', 'secagg');
    expect(code, output.slice(-4000)).to.equal(0);
    for (const n of [1, 2, 3]) {
      for (const round of [0, 1]) {
        expect(output).to.match(
          new RegExp(
            `\\[Hospital${n}MSP\\] round ${round}: keys advertised \\(tx [0-9a-f]+, block \\d+; confirmed on peer0\\.hospital${n}, this hospital's own peer\\)`,
          ),
        );
        expect(output).to.match(
          new RegExp(
            `\\[Hospital${n}MSP\\] round ${round}: mask set Hospital1MSP, Hospital2MSP, Hospital3MSP \\(read from peer0\\.hospital${n}, this hospital's own peer\\)`,
          ),
        );
      }
    }
    expect(output).to.match(/\[ledger\] round 1 closed in block \d+: 3 updates aggregated/);
    expect(output).to.include('[audit] ✓ every hash, aggregate and chain-of-custody link verified');
    expect(output).to.match(/^protection: secagg: masked updates/m);
    expect(readFileSync(join(out, runId, 'report.md'), 'utf8')).to.match(/secure aggregation/);
  });
});
