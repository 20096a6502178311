// A model that predicts one class, or never recognises a class, is flagged: accuracy alone hides it.
import { expect } from 'chai';
import { predictionWarnings } from '../src/model/metrics';

describe('prediction warnings', () => {
  const classes = ['home', 'readmitted', 'died'];

  it('flags a model that predicts a single class, and every class it never recognises', () => {
    // confusion[true][predicted]: everything predicted "home" (67.1 % of the rows).
    const majorityOnly = [
      [671, 0, 0],
      [200, 0, 0],
      [129, 0, 0],
    ];
    expect(predictionWarnings(majorityOnly, classes)).to.deep.equal([
      'the model predicts a single class ("home") for all 1,000 rows: the recall of "readmitted" (200 rows) and "died" (129 rows) is 0',
    ]);
  });

  it('flags a class with recall 0 when the model predicts several', () => {
    const noDeaths = [
      [600, 71, 0],
      [50, 150, 0],
      [100, 29, 0],
    ];
    expect(predictionWarnings(noDeaths, classes)).to.deep.equal([
      'recall of class "died" is 0: none of its 129 rows is recognised',
    ]);
  });

  it('is silent for a model that recognises every class, and for classes without rows', () => {
    const fine = [
      [600, 60, 11],
      [50, 140, 10],
      [0, 0, 0],
    ];
    expect(predictionWarnings(fine, classes)).to.deep.equal([]);
    expect(predictionWarnings([], classes)).to.deep.equal([]);
  });

  it('names classes by index when no names are given', () => {
    expect(
      predictionWarnings([
        [5, 0],
        [3, 0],
      ]),
    ).to.deep.equal([
      'the model predicts a single class ("0") for all 8 rows: the recall of "1" (3 rows) is 0',
    ]);
  });
});
