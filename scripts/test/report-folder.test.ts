// The demo's report folders: one per run under the --out folder, `latest` pointing at the newest,
// and a run ID whose folder exists refused before anything is written.
import { expect } from 'chai';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportFolderExistsError, pointLatest, reportFolderFor } from '../demo/report-folder';
import { writeReport } from '../demo/report';
import type { DemoSummary } from '../demo/report';

function summary(runId: string): DemoSummary {
  return {
    runId,
    wallSeconds: 60,
    patientsPerHospital: 100,
    epochs: 1,
    targetEpsilon: 1,
    delta: 1e-5,
    rounds: [],
    ledger: { kind: 'simulated', txCount: 0, latencies: [] },
    verification: { ok: true, rounds: [] },
  };
}

describe('demo report folders', function () {
  it('gives each run its own folder and points latest at the newest', async function () {
    const root = mkdtempSync(join(tmpdir(), 'fedledger-report-'));
    for (const runId of ['demo-1', 'demo-2']) {
      const dir = reportFolderFor(root, runId);
      expect(dir).to.equal(join(root, runId));
      await writeReport(dir, summary(runId));
      expect(pointLatest(root, runId)).to.equal(join(root, 'latest'));
    }
    // The first run's report is still there, untouched; latest names the second.
    expect(readFileSync(join(root, 'demo-1', 'report.md'), 'utf8')).to.include('demo-1');
    expect(lstatSync(join(root, 'latest')).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(join(root, 'latest'))).to.equal('demo-2');
    expect(readFileSync(join(root, 'latest', 'report.md'), 'utf8')).to.include('demo-2');
  });

  it('refuses a run ID whose report folder exists, before the run', function () {
    const root = mkdtempSync(join(tmpdir(), 'fedledger-report-'));
    mkdirSync(join(root, 'demo-1'));
    expect(() => reportFolderFor(root, 'demo-1'))
      .to.throw(ReportFolderExistsError)
      .with.property('message')
      .that.includes('choose another --run-id');
    expect(() => reportFolderFor(root, 'latest')).to.throw(/cannot name a report folder/);
    expect(() => reportFolderFor(root, '../x')).to.throw(/cannot name a report folder/);
  });

  it('leaves a latest that is not a link alone and writes latest.txt instead', function () {
    const root = mkdtempSync(join(tmpdir(), 'fedledger-report-'));
    writeFileSync(join(root, 'latest'), 'mine');
    expect(pointLatest(root, 'demo-3')).to.equal(join(root, 'latest.txt'));
    expect(readFileSync(join(root, 'latest'), 'utf8')).to.equal('mine');
    expect(readFileSync(join(root, 'latest.txt'), 'utf8')).to.equal('demo-3\n');
    expect(existsSync(join(root, 'demo-3'))).to.equal(false);
  });
});
