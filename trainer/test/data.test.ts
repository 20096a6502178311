// The data pipeline: CSV reading, schema checks, bad-data errors, preprocessing, splits.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classCounts } from '../src/data/dataset';
import { forEachCsvRecord } from '../src/data/csv';
import { prepareHospitalData } from '../src/data/hospital-data';
import { loadPreprocessing, savePreprocessing } from '../src/data/preprocessing';
import type { DataSchema } from '../src/data/schema';
import { loadSchema } from '../src/data/schema';
import { DataError } from '../src/errors';
import { tempDir } from './helpers';

const SCHEMA: DataSchema = {
  columns: [
    { name: 'id', type: 'id' },
    { name: 'age', type: 'numeric' },
    { name: 'lab', type: 'numeric' },
    { name: 'sex', type: 'categorical', categories: ['F', 'M'] },
    { name: 'ward', type: 'categorical' },
    { name: 'outcome', type: 'label', classes: ['home', 'readmitted', 'died'] },
  ],
};

function rows(n: number, make: (i: number) => string): string {
  return `id,age,lab,sex,ward,outcome\n${Array.from({ length: n }, (_, i) => make(i)).join('\n')}\n`;
}

function goodRow(i: number): string {
  const outcome = i % 10 === 0 ? 'died' : i % 4 === 0 ? 'readmitted' : 'home';
  return `${i},${40 + (i % 50)},${i % 7 === 0 ? '' : (1 + (i % 13) / 10).toFixed(1)},${i % 2 ? 'M' : 'F'},${i % 3 === 0 ? '"ward, east"' : 'west'},${outcome}`;
}

function expectDataError(
  fn: () => unknown,
  code: string,
  where: { row?: number; column?: string },
): DataError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(DataError);
    const e = error as DataError;
    expect(e.code).to.equal(code);
    if (where.row !== undefined) expect(e.location.row).to.equal(where.row);
    if (where.column !== undefined) expect(e.location.column).to.equal(where.column);
    expect(e.message).to.contain(e.location.file);
    return e;
  }
  throw new Error(`expected a ${code} DataError`);
}

describe('data pipeline', () => {
  const dir = tempDir();
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  describe('CSV reader', () => {
    it('reads quoted fields with commas, escaped quotes, newlines and CRLF line ends', () => {
      const records: [string[], number][] = [];
      forEachCsvRecord(
        'a,b,c\r\n1,"x, ""y""",z\r\n2,"multi\nline",w\n\n3,,\n',
        'f.csv',
        (f, line) => records.push([f, line]),
      );
      expect(records).to.deep.equal([
        [['a', 'b', 'c'], 1],
        [['1', 'x, "y"', 'z'], 2],
        [['2', 'multi\nline', 'w'], 3],
        [['3', '', ''], 6],
      ]);
    });

    it('rejects an unterminated quote with its row', () => {
      expectDataError(
        () => forEachCsvRecord('a\n"open\n', 'f.csv', () => undefined),
        'DATA_MALFORMED_CSV',
        { row: 2 },
      );
    });
  });

  describe('bad data stops with file, row and column', () => {
    it('rejects a missing file', () => {
      expectDataError(
        () => prepareHospitalData({ csvFile: join(dir, 'none.csv'), schema: SCHEMA }),
        'DATA_FILE_MISSING',
        {},
      );
    });

    it('rejects a column the schema does not know', () => {
      const file = write(
        'unknown.csv',
        rows(20, goodRow)
          .replace('outcome\n', 'outcome,extra\n')
          .replace(/\n(\d)/g, '\n$1')
          .replace(/(home|readmitted|died)\n/g, '$1,1\n'),
      );
      expectDataError(
        () => prepareHospitalData({ csvFile: file, schema: SCHEMA }),
        'DATA_UNKNOWN_COLUMN',
        { row: 1, column: 'extra' },
      );
    });

    it('rejects a file without a declared column', () => {
      const file = write('nolab.csv', 'id,age,lab,sex,ward\n1,2,3,F,w\n');
      expectDataError(
        () => prepareHospitalData({ csvFile: file, schema: SCHEMA }),
        'DATA_MISSING_COLUMN',
        { column: 'outcome' },
      );
    });

    it('rejects a schema without a label', () => {
      const file = write(
        'nolabel.json',
        JSON.stringify({ columns: [{ name: 'age', type: 'numeric' }] }),
      );
      expectDataError(() => loadSchema(file), 'DATA_NO_LABEL', {});
    });

    it('accepts a class with no rows (a hospital without deaths), and says so', () => {
      const file = write(
        'noclass.csv',
        rows(30, (i) => goodRow(i).replace(/died$/, 'home')),
      );
      const data = prepareHospitalData({ csvFile: file, schema: SCHEMA });
      expect(data.classCounts[2]).to.equal(0);
      expect(data.train.rows).to.be.greaterThan(0);
      expect(data.warnings.join('\n')).to.contain('class "died" has no rows');
    });

    it('rejects unparsable numbers beyond the tolerance, naming the first one', () => {
      const file = write(
        'badnum.csv',
        rows(100, (i) =>
          i === 17 || i === 40 ? goodRow(i).replace(/^(\d+),(\d+)/, '$1,forty') : goodRow(i),
        ),
      );
      // Row i is on line i + 2 (line 1 is the header).
      const e = expectDataError(
        () => prepareHospitalData({ csvFile: file, schema: SCHEMA }),
        'DATA_BAD_VALUE',
        { row: 19, column: 'age' },
      );
      expect(e.message).to.contain('"forty"');
    });

    it('imputes unparsable numbers within the tolerance and says so', () => {
      const file = write(
        'onebad.csv',
        rows(200, (i) => (i === 5 ? goodRow(i).replace(/^(\d+),(\d+)/, '$1,n/a') : goodRow(i))),
      );
      const data = prepareHospitalData({ csvFile: file, schema: SCHEMA });
      // Row 5 is on line 7 of the file.
      expect(data.warnings).to.include(
        `column "age": 1 unreadable cell imputed with the column mean (${file}:7 "n/a")`,
      );
    });

    it('rejects a row whose label is not a class', () => {
      const file = write(
        'badlabel.csv',
        rows(20, (i) =>
          i === 3 ? goodRow(i).replace(/,(home|readmitted|died)$/, ',discharged') : goodRow(i),
        ),
      );
      expectDataError(
        () => prepareHospitalData({ csvFile: file, schema: SCHEMA }),
        'DATA_BAD_VALUE',
        { row: 5, column: 'outcome' },
      );
    });

    it('rejects a category outside the declared vocabulary beyond the tolerance', () => {
      const file = write(
        'badcat.csv',
        rows(50, (i) => (i === 9 || i === 10 ? goodRow(i).replace(/,[FM],/, ',X,') : goodRow(i))),
      );
      expectDataError(
        () => prepareHospitalData({ csvFile: file, schema: SCHEMA }),
        'DATA_BAD_VALUE',
        { row: 11, column: 'sex' },
      );
    });
  });

  describe('preprocessing', () => {
    const file = write('good.csv', rows(1000, goodRow));

    it('standardises, one-hot encodes, imputes, and splits 80/10/10 with oversampling in train only', () => {
      const data = prepareHospitalData({ csvFile: file, schema: SCHEMA, seed: 5 });
      const prep = data.preprocessing;
      expect(prep.featureNames).to.deep.equal([
        'age',
        'lab',
        'sex=F',
        'sex=M',
        'ward="ward, east"'.replace(/"/g, ''),
        'ward=west',
      ]);
      expect(data.trainOriginal.rows + data.validation.rows + data.test.rows).to.equal(1000);
      expect(data.trainOriginal.rows).to.be.within(798, 802);
      expect(data.validation.rows).to.be.within(98, 102);
      // Standardised columns: mean 0, std 1 on the training split (missing labs imputed to 0).
      const d = data.trainOriginal.featureDim;
      let sum = 0;
      for (let i = 0; i < data.trainOriginal.rows; i++)
        sum += data.trainOriginal.features[i * d] as number;
      expect(sum / data.trainOriginal.rows).to.be.closeTo(0, 1e-5);
      // One-hot: exactly one 1 per categorical group.
      for (let i = 0; i < data.test.rows; i++) {
        expect(
          (data.test.features[i * d + 2] as number) + (data.test.features[i * d + 3] as number),
        ).to.equal(1);
      }
      // Oversampling balances the training classes; validation and test keep the true mix.
      const trainCounts = classCounts(data.train);
      expect(new Set(trainCounts).size).to.equal(1);
      expect(new Set(classCounts(data.validation)).size).to.be.greaterThan(1);
    });

    it('saves the fitted preprocessing and reuses it unchanged', () => {
      const first = prepareHospitalData({ csvFile: file, schema: SCHEMA, seed: 5 });
      const saved = join(dir, 'prep.json');
      savePreprocessing(saved, first.preprocessing);
      const again = prepareHospitalData({
        csvFile: file,
        schema: SCHEMA,
        seed: 5,
        preprocessing: loadPreprocessing(saved),
      });
      expect(again.preprocessing).to.deep.equal(first.preprocessing);
      expect(Array.from(again.test.features)).to.deep.equal(Array.from(first.test.features));
    });

    it('gives reproducible splits for a seed and different ones for another seed', () => {
      const a = prepareHospitalData({ csvFile: file, schema: SCHEMA, seed: 1 });
      const b = prepareHospitalData({ csvFile: file, schema: SCHEMA, seed: 1 });
      const c = prepareHospitalData({ csvFile: file, schema: SCHEMA, seed: 2 });
      expect(Array.from(a.test.features)).to.deep.equal(Array.from(b.test.features));
      expect(Array.from(a.test.features)).to.not.deep.equal(Array.from(c.test.features));
    });
  });
});
