// Table-driven tests of the aggregation strategies (pure functions).
import { expect } from 'chai';
import type { ClientUpdate, Strategy, StrategyParams } from '../src';
import { coordinateMedian, fedAvg, krum, krumScores, multiKrum, trimmedMean } from '../src';

const u = (mspId: string, sampleCount: number, ...delta: number[]): ClientUpdate => ({
  mspId,
  sampleCount,
  delta: Float32Array.from(delta),
});

interface Case {
  name: string;
  strategy: Strategy;
  params?: StrategyParams;
  updates: ClientUpdate[];
  delta: number[];
  selected: string[];
}

const CASES: Case[] = [
  {
    name: 'FedAvg weights by sample count',
    strategy: fedAvg,
    updates: [u('A', 1, 1, 0), u('B', 3, 5, 4)],
    delta: [4, 3],
    selected: ['A', 'B'],
  },
  {
    name: 'FedAvg ignores arrival order',
    strategy: fedAvg,
    updates: [u('B', 3, 5, 4), u('A', 1, 1, 0)],
    delta: [4, 3],
    selected: ['A', 'B'],
  },
  {
    name: 'median of an odd count',
    strategy: coordinateMedian,
    updates: [u('A', 1, 1, 9), u('B', 100, 2, -1), u('C', 1, 100, 3)],
    delta: [2, 3],
    selected: ['A', 'B', 'C'],
  },
  {
    name: 'median of an even count averages the middle two',
    strategy: coordinateMedian,
    updates: [u('A', 1, 1), u('B', 1, 2), u('C', 1, 4), u('D', 1, 100)],
    delta: [3],
    selected: ['A', 'B', 'C', 'D'],
  },
  {
    name: 'trimmed mean drops one value at each end (β = 0.2, m = 5)',
    strategy: trimmedMean,
    params: { trimFraction: 0.2 },
    updates: [u('A', 1, -100), u('B', 1, 1), u('C', 1, 2), u('D', 1, 3), u('E', 1, 100)],
    delta: [2],
    selected: ['A', 'B', 'C', 'D', 'E'],
  },
  {
    name: 'Krum picks the update closest to its neighbours (f = 1)',
    strategy: krum,
    params: { byzantine: 1 },
    updates: [
      u('A', 1, 0, 0),
      u('B', 1, 1, 0),
      u('C', 1, 0, 1),
      u('D', 1, 0.5, 0.5),
      u('E', 1, 50, 50),
    ],
    delta: [0.5, 0.5],
    selected: ['D'],
  },
  {
    name: 'Multi-Krum averages the m − f best (f = 1)',
    strategy: multiKrum,
    params: { byzantine: 1 },
    updates: [
      u('A', 1, 0, 0),
      u('B', 1, 1, 0),
      u('C', 1, 0, 1),
      u('D', 1, 1, 1),
      u('E', 1, 50, 50),
    ],
    delta: [0.5, 0.5],
    selected: ['A', 'B', 'C', 'D'],
  },
];

describe('aggregation strategies', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const result = c.strategy(c.updates, c.params ?? {});
      expect(Array.from(result.delta)).to.deep.equal(c.delta);
      expect(result.selected).to.deep.equal(c.selected);
    });
  }

  const refusals: [string, () => unknown, RegExp][] = [
    ['no updates', () => fedAvg([], {}), /At least one update/],
    ['mismatched lengths', () => fedAvg([u('A', 1, 1), u('B', 1, 1, 2)], {}), /parameters/],
    [
      'two updates from one organisation',
      () => fedAvg([u('A', 1, 1), u('A', 1, 2)], {}),
      /Two updates/,
    ],
    ['a non-positive sample count', () => fedAvg([u('A', 0, 1)], {}), /sample count/],
    [
      'β outside [0, 0.5)',
      () => trimmedMean([u('A', 1, 1)], { trimFraction: 0.5 }),
      /trimFraction/,
    ],
    [
      'Krum with too few updates for f',
      () => krumScores([u('A', 1, 1), u('B', 1, 2)], 1),
      /needs at least 5/,
    ],
  ];
  for (const [name, call, message] of refusals) {
    it(`refuses ${name}`, () => {
      expect(call).to.throw(RangeError, message);
    });
  }
});
