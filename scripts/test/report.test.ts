// The demo's report pieces: chart axes and the final-model table.
import { expect } from 'chai';
import { lineChartSvg, niceStep, niceTicks } from '../demo/svg-chart';
import { finalModelTable, ledgerLines } from '../demo/report';
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
    expect(table[0]).to.match(/^test split \(round 1 model\)\s+accuracy\s+precision\s+recall\s+F1/);
    expect(table[2]).to.match(/^Hospital1MSP\s+90\.0%\s+0\.700\s+0\.600\s+0\.650\s+\+10\.0 pt\s*$/);
    expect(table[3]).to.match(/^pooled\s+75\.0%\s+0\.710\s+0\.610\s+0\.660\s+\+0\.0 pt\s*$/);
  });

  it('reports chain growth per transaction', function () {
    expect(ledgerLines(summary)).to.include(
      'chain growth: 20.0 KiB (2.0 KiB per transaction, blocks included)',
    );
  });
});
