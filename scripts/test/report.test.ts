// The demo's report pieces: chart axes and the final-model table.
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLORS, lineChartSvg, niceStep, niceTicks, seriesStyle } from '../demo/svg-chart';
import {
  finalModelTable,
  ledgerLines,
  protectionLine,
  reauditLines,
  warningLines,
  writeReport,
} from '../demo/report';
import type { DemoSummary } from '../demo/report';

describe('demo report', function () {
  it('puts axis ticks on 1-2-5 steps that cover the data', function () {
    expect(niceStep(0.107, 5)).to.be.closeTo(0.02, 1e-12);
    expect(niceStep(9, 10)).to.equal(1);
    expect(niceTicks(0.777, 0.883, 5)).to.deep.equal([
      0.76, 0.78, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9,
    ]);
    expect(niceTicks(1, 10, 10)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(niceTicks(0, 0.3, 3)).to.deep.equal([0, 0.1, 0.2, 0.3]);
    // Counting axes (rounds, epochs) tick at whole numbers only, however short.
    expect(niceTicks(0, 1, 10, true)).to.deep.equal([0, 1]);
    expect(niceTicks(2, 4, 10, true)).to.deep.equal([2, 3, 4]);
    expect(niceTicks(0, 50, 10, true)).to.deep.equal([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
  });

  it('draws every series of a chart in its own colour (and dash, past ten)', function () {
    const styles = Array.from({ length: 12 }, (_, i) => seriesStyle(i));
    expect(new Set(styles.slice(0, COLORS.length).map((s) => s.color)).size).to.equal(
      COLORS.length,
    );
    expect(new Set(styles.map((s) => `${s.color}/${s.dash}`)).size).to.equal(12);
    // The experiment's convergence chart: 7 arms, 7 colours; epochs tick at integers.
    const svg = lineChartSvg(
      Array.from({ length: 7 }, (_, i) => ({
        name: `arm ${i}`,
        points: [
          { x: 1, y: 0.5 + i / 100 },
          { x: 2, y: 0.6 + i / 100 },
        ],
      })),
      { title: 't', xLabel: 'local epochs', yLabel: 'acc', integerX: true },
    );
    const strokes = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="(#[0-9a-f]{6})"/g)].map(
      (m) => m[1],
    );
    expect(strokes).to.have.length(7);
    expect(new Set(strokes).size).to.equal(7);
    const xLabels = [...svg.matchAll(/text-anchor="middle" fill="#5d6878">([^<]*)</g)].map(
      (m) => m[1],
    );
    expect(xLabels).to.deep.equal(['1', '2']);
  });

  it('draws the legend right of the plot, clear of every line', function () {
    const svg = lineChartSvg(
      [
        {
          name: 'Hospital1MSP',
          points: [
            { x: 1, y: 0.9 },
            { x: 2, y: 0.95 },
          ],
        },
        {
          name: 'pooled',
          points: [
            { x: 1, y: 0.8 },
            { x: 2, y: 0.85 },
          ],
        },
      ],
      { title: 't', xLabel: 'round', yLabel: 'accuracy', width: 700 },
    );
    const plotRight = Math.max(
      ...[...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1])),
    );
    const legendLeft = Math.min(
      ...[...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="10"/g)].map((m) => Number(m[1])),
    );
    expect(legendLeft).to.be.greaterThan(plotRight);
    expect(svg).to.include('>Hospital1MSP</text>');
  });

  const summary: DemoSummary = {
    runId: 'r',
    wallSeconds: 60,
    patientsPerHospital: 100,
    epochs: 1,
    targetEpsilon: 1,
    delta: 1e-5,
    rounds: [0, 1].map((round) => ({
      round,
      aggregateHash: 'ab',
      included: [],
      epsilon: 0.5 * (round + 1),
      evaluations: [
        {
          split: 'Hospital1MSP',
          accuracy: 0.8 + round / 10,
          precision: 0.7,
          recall: 0.6,
          f1: 0.65,
        },
        { split: 'pooled', accuracy: 0.75, precision: 0.71, recall: 0.61, f1: 0.66 },
      ],
    })),
    ledger: { kind: 'fabric', txCount: 10, latencies: [0.1, 0.2], chainBytes: 20480 },
    verification: { ok: true, rounds: [] },
  };

  it('tabulates the final model per split with its change since the first round', function () {
    const table = finalModelTable(summary).split('\n');
    expect(table[0]).to.match(
      /^test split \(round 1 model\)\s+accuracy\s+majority\s+balanced acc\s+ROC AUC\s+PR AUC\s+precision\s+recall\s+F1/,
    );
    // Summaries without the newer metrics show "-" in their place.
    expect(table[2]).to.match(
      /^Hospital1MSP\s+90\.0%\s+-\s+-\s+-\s+-\s+0\.700\s+0\.600\s+0\.650\s+\+10\.0 pt\s*$/,
    );
    expect(table[3]).to.match(
      /^pooled\s+75\.0%\s+-\s+-\s+-\s+-\s+0\.710\s+0\.610\s+0\.660\s+\+0\.0 pt\s*$/,
    );
    // With them: the majority rate beside accuracy, balanced accuracy and the AUCs.
    const last = summary.rounds[1]!;
    const withRanking: DemoSummary = {
      ...summary,
      rounds: [
        summary.rounds[0]!,
        {
          ...last,
          evaluations: last.evaluations.map((e) => ({
            ...e,
            majorityRate: 0.75,
            balancedAccuracy: 0.5,
            rocAuc: 0.5,
            prAuc: 0.25,
          })),
        },
      ],
    };
    expect(finalModelTable(withRanking).split('\n')[3]).to.match(
      /^pooled\s+75\.0%\s+75\.0%\s+50\.0%\s+0\.500\s+0\.250\s+0\.710/,
    );
  });

  it('warns when the final model predicts a single class or misses a class', function () {
    expect(warningLines(summary)).to.deep.equal([]);
    const last = summary.rounds[1]!;
    const degenerate: DemoSummary = {
      ...summary,
      rounds: [
        summary.rounds[0]!,
        {
          ...last,
          evaluations: [
            last.evaluations[0]!,
            {
              ...last.evaluations[1]!,
              warnings: ['the model predicts a single class ("home") for all 10 rows'],
            },
          ],
        },
      ],
    };
    expect(warningLines(degenerate)).to.deep.equal([
      'pooled (round 1 model): the model predicts a single class ("home") for all 10 rows',
    ]);
  });

  it('writes charts with rounds numbered from 0, as the tables and the ledger do', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'fedledger-report-'));
    await writeReport(dir, summary);
    const accuracy = readFileSync(join(dir, 'accuracy.svg'), 'utf8');
    const xLabels = [...accuracy.matchAll(/text-anchor="middle" fill="#5d6878">([^<]*)</g)].map(
      (m) => m[1],
    );
    expect(xLabels).to.deep.equal(['0', '1']);
    const rounds = readFileSync(join(dir, 'rounds.csv'), 'utf8').split('\n');
    expect(rounds[1]).to.match(/^0,/);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).to.include('numbered from 0');
  });

  it('says how to audit the run again, and whether the ledger is still there', async function () {
    const kept: DemoSummary = {
      ...summary,
      reaudit: { blobDir: '.fedledger/demo/r/gateway/blobs', networkKept: true },
    };
    const lines = reauditLines(kept);
    expect(lines).to.include(
      '  npx fedledger-audit verify r --blobs .fedledger/demo/r/gateway/blobs',
    );
    expect(lines.join('\n')).to.include('DELETES the ledger');
    const gone = reauditLines({ ...kept, reaudit: { ...kept.reaudit!, networkKept: false } });
    expect(gone.join('\n')).to.include('can no longer be audited').and.include('--keep-network');
    const simulated = reauditLines({ ...kept, ledger: { ...kept.ledger, kind: 'simulated' } });
    expect(simulated.join('\n')).to.include('cannot be audited again');
    const dir = mkdtempSync(join(tmpdir(), 'fedledger-report-'));
    await writeReport(dir, kept);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).to.include('## Auditing this run again');
    expect(md).to.include(
      '    npx fedledger-audit verify r --blobs .fedledger/demo/r/gateway/blobs',
    );
  });

  it('says when there are fewer latency timings than transactions', function () {
    const noted: DemoSummary = {
      ...summary,
      ledger: { ...summary.ledger, txCount: 3, latencies: [0.1, 0.2], latencyNote: 'why' },
    };
    expect(ledgerLines(noted)[1]).to.equal(
      'transactions: 3; submit→commit mean 0.150 s, p95 0.200 s over 2 timings (why)',
    );
  });

  it('reports chain growth per transaction', function () {
    expect(ledgerLines(summary)).to.include(
      'chain growth: 20.0 KiB (2.0 KiB per transaction, blocks included)',
    );
  });

  it('names the protection the updates travelled under, plaintext when none is recorded', async function () {
    expect(protectionLine(summary)).to.equal(
      'protection: plaintext: plaintext updates (DP-noised)',
    );
    const ckks: DemoSummary = {
      ...summary,
      protection: { mode: 'ckks', label: 'CKKS-encrypted updates' },
    };
    expect(protectionLine(ckks)).to.equal('protection: ckks: CKKS-encrypted updates');
    const dir = mkdtempSync(join(tmpdir(), 'fedledger-report-'));
    await writeReport(dir, ckks);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).to.include(
      '; protection: ckks: CKKS-encrypted updates.',
    );
  });
});
