// Real CSVs as they come: columns to ignore, dates, semicolon- and tab-delimited files, rows
// without a label, and a hospital without positive cases that still trains.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { referenceModelSpec } from '@fedledger/protocol';
import { detectDelimiter } from '../src/data/csv';
import { daysSince } from '../src/data/dates';
import { prepareHospitalData } from '../src/data/hospital-data';
import type { DataSchema } from '../src/data/schema';
import { validateSchema } from '../src/data/schema';
import { loadTable } from '../src/data/table';
import { DataError } from '../src/errors';
import { initialModelTensors } from '../src/model/mlp';
import { trainPlain } from '../src/training/plain-trainer';
import { tempDir, useFastestBackend } from './helpers';

const SCHEMA: DataSchema = {
  columns: [
    { name: 'patient_id', type: 'id' },
    { name: 'notes', type: 'ignore' },
    { name: 'age', type: 'numeric' },
    { name: 'admitted', type: 'date', format: 'DD/MM/YYYY', reference: '2020-01-01' },
    { name: 'sex', type: 'categorical', categories: ['F', 'M'] },
    { name: 'outcome', type: 'label', classes: ['no', 'yes'] },
  ],
};

const HEADER = ['patient_id', 'notes', 'age', 'admitted', 'sex', 'outcome'];

/** Rows with outcome `yes` every fifth row (unless `positives` is false). */
function csv(delimiter: string, n: number, options: { positives?: boolean } = {}): string {
  const lines = [HEADER.join(delimiter)];
  for (let i = 0; i < n; i++) {
    const day = String(1 + (i % 28)).padStart(2, '0');
    const outcome = options.positives !== false && i % 5 === 0 ? 'yes' : 'no';
    lines.push(
      [
        String(i),
        `free text ${i}`,
        String(40 + (i % 30)),
        `${day}/03/2024`,
        i % 2 ? 'M' : 'F',
        outcome,
      ].join(delimiter),
    );
  }
  return `${lines.join('\n')}\n`;
}

describe('CSVs as they come', () => {
  const dir = tempDir();
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('ignores a column of type "ignore" and turns a date into days since its reference', () => {
    const data = prepareHospitalData({ csvFile: write('plain.csv', csv(',', 40)), schema: SCHEMA });
    // age, admitted (one number, not one column per distinct date), sex=F, sex=M.
    expect(data.preprocessing.featureNames).to.deep.equal(['age', 'admitted', 'sex=F', 'sex=M']);
    const table = loadTable(join(dir, 'plain.csv'), SCHEMA);
    // 01/03/2024 is 1,521 days after 2020-01-01 (2020 and 2024 are leap years).
    expect(table.numeric.get('admitted')?.[0]).to.equal(1521);
    expect(table.numeric.has('notes')).to.equal(false);
    expect(daysSince('2024-03-01T12:00', 'YYYY-MM-DD', 0)).to.equal(19783.5);
    expect(daysSince('31/02/2024', 'DD/MM/YYYY', 0)).to.equal(undefined);
    expect(daysSince('03/31/2024', 'MM/DD/YYYY', 0)).to.equal(19813);
    expect(() =>
      validateSchema(
        { columns: [{ name: 'd', type: 'date', format: 'YY' }, SCHEMA.columns[5]] },
        's.json',
      ),
    ).to.throw(DataError, /format/);
  });

  it('counts unreadable dates like unreadable numbers, naming the first', () => {
    const text = csv(',', 200).replace('01/03/2024', 'soon');
    const data = prepareHospitalData({ csvFile: write('baddate.csv', text), schema: SCHEMA });
    expect(data.warnings.join('\n')).to.match(/column "admitted": 1 unreadable cell .*"soon"/);
  });

  it('detects ";" and tab delimiters, or takes one given, and hints when the header says otherwise', () => {
    const semicolon = write('semi.csv', csv(';', 40));
    const tab = write('tab.csv', csv('\t', 40));
    expect(loadTable(semicolon, SCHEMA).delimiter).to.equal(';');
    expect(loadTable(tab, SCHEMA).delimiter).to.equal('\t');
    expect(loadTable(semicolon, SCHEMA, { delimiter: ';' }).rows).to.equal(40);
    expect(detectDelimiter('a;b;c', ['a', 'b', 'c'])).to.equal(';');
    expect(detectDelimiter('a,b', [])).to.equal(',');
    try {
      loadTable(semicolon, SCHEMA, { delimiter: ',' });
      expect.fail('a ";" file read with "," must be refused');
    } catch (error) {
      expect(error).to.be.instanceOf(DataError);
      expect((error as DataError).code).to.equal('DATA_UNKNOWN_COLUMN');
      expect((error as Error).message).to.contain(
        'the header looks ";"-delimited but was read with ","; pass --delimiter ";"',
      );
    }
  });

  it('skips rows without a label and counts them, or refuses them when asked', () => {
    const text = csv(',', 40)
      .replace(/,no\n/, ',\n')
      .replace(/,yes\n/, ',NA\n');
    const file = write('unlabelled.csv', text);
    const table = loadTable(file, SCHEMA);
    expect(table.rows).to.equal(38);
    expect(table.unlabelled.count).to.equal(2);
    expect(table.unlabelled.firstLines).to.deep.equal([2, 3]);
    const data = prepareHospitalData({ csvFile: file, schema: SCHEMA });
    expect(data.warnings.join('\n')).to.contain('2 rows without a label skipped (line 2, line 3');
    try {
      loadTable(file, SCHEMA, { unlabelled: 'refuse' });
      expect.fail('refuse must stop at the first unlabelled row');
    } catch (error) {
      expect((error as DataError).code).to.equal('DATA_BAD_VALUE');
      expect((error as DataError).location.row).to.equal(2);
    }
  });

  it('lets a hospital without positive cases train', async () => {
    await useFastestBackend();
    const data = prepareHospitalData({
      csvFile: write('negatives.csv', csv(',', 60, { positives: false })),
      schema: SCHEMA,
    });
    expect(data.classCounts).to.deep.equal([60, 0]);
    expect(data.warnings.join('\n')).to.contain('class "yes" has no rows');
    const spec = referenceModelSpec(data.train.featureDim, 2);
    const result = await trainPlain(spec, initialModelTensors(spec, 1), data.train, { epochs: 1 });
    expect(result.tensors).to.have.length(spec.layers.length * 2);
    expect(result.tensors.every((t) => t.data.every((v) => Number.isFinite(v)))).to.equal(true);
  });
});
