// The estimate of the time left that the demo prints after each round and the experiment after
// each cell (and each round or epoch inside one).
import { expect } from 'chai';
import { estimateRemaining, formatDuration, progressLine, secondsPerStep } from '../demo/eta';

describe('estimate of the time left', function () {
  it('formats durations for a progress line', function () {
    expect(formatDuration(0)).to.equal('0 s');
    expect(formatDuration(44.6)).to.equal('45 s');
    expect(formatDuration(89)).to.equal('89 s');
    expect(formatDuration(90)).to.equal('1.5 min');
    expect(formatDuration(3599)).to.equal('60.0 min');
    expect(formatDuration(3600)).to.equal('1 h 00 min');
    expect(formatDuration(2 * 3600 + 5 * 60 + 20)).to.equal('2 h 05 min');
    expect(formatDuration(NaN)).to.equal('?');
    expect(formatDuration(-1)).to.equal('?');
  });

  it('carries the pace so far over the steps left', function () {
    expect(estimateRemaining({ done: 0, total: 10, elapsedSeconds: 30 })).to.equal(undefined);
    expect(estimateRemaining({ done: 1, total: 10, elapsedSeconds: 30 })).to.equal(270);
    expect(estimateRemaining({ done: 4, total: 10, elapsedSeconds: 100 })).to.equal(150);
    expect(estimateRemaining({ done: 10, total: 10, elapsedSeconds: 100 })).to.equal(0);
  });

  it('shares the steps left among parallel jobs, never among more jobs than steps', function () {
    // Two jobs, 10 cells: after 60 s and 2 cells, each cell took 60 s of one job.
    expect(secondsPerStep({ done: 2, total: 10, elapsedSeconds: 60, parallel: 2 })).to.equal(60);
    expect(estimateRemaining({ done: 2, total: 10, elapsedSeconds: 60, parallel: 2 })).to.equal(
      240,
    );
    // One cell left: one job works on it, the other idles.
    expect(estimateRemaining({ done: 9, total: 10, elapsedSeconds: 270, parallel: 2 })).to.equal(
      60,
    );
  });

  it('prints what is done, the time left and the pace', function () {
    expect(progressLine({ done: 0, total: 10, elapsedSeconds: 5 }, 'round')).to.equal(
      '0/10 rounds done in 5 s',
    );
    expect(progressLine({ done: 1, total: 10, elapsedSeconds: 36 }, 'round')).to.equal(
      '1/10 rounds done in 36 s; about 5.4 min left (36 s per round so far)',
    );
    expect(progressLine({ done: 3, total: 3, elapsedSeconds: 100 }, 'cell')).to.equal(
      '3/3 cells done in 1.7 min; all done',
    );
    expect(progressLine({ done: 1, total: 1, elapsedSeconds: 10 }, 'round')).to.equal(
      '1/1 round done in 10 s; all done',
    );
  });
});
