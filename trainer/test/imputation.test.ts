// Imputed cells are counted per column, unreadable and missing apart, with the first ones named
// by file and line, for one file and for several pooled.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareHospitalData } from '../src/data/hospital-data';
import type { DataSchema } from '../src/data/schema';
import { loadTable } from '../src/data/table';
import { imputationWarnings, mergeImputations } from '../src/data/imputation';
import { tempDir } from './helpers';

const SCHEMA: DataSchema = {
  columns: [
    { name: 'age', type: 'numeric' },
    { name: 'sex', type: 'categorical', categories: ['F', 'M'] },
    { name: 'outcome', type: 'label', classes: ['home', 'died'] },
  ],
};

/** 400 rows; row i is on line i + 2. Bad cells where `bad` says. */
function csv(bad: (i: number) => { age?: string; sex?: string }): string {
  const lines = Array.from({ length: 400 }, (_, i) => {
    const b = bad(i);
    return `${b.age ?? String(30 + (i % 40))},${b.sex ?? (i % 2 ? 'M' : 'F')},${i % 5 === 0 ? 'died' : 'home'}`;
  });
  return `age,sex,outcome\n${lines.join('\n')}\n`;
}

describe('imputed cells', () => {
  const dir = tempDir();
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('counts unreadable and missing cells per column and names the first ones', () => {
    const file = write(
      'cells.csv',
      csv((i) => ({
        ...(i === 3 ? { age: 'eighty' } : {}),
        ...(i === 10 || i === 11 || i === 12 || i === 13 ? { age: '' } : {}),
        ...(i === 7 ? { sex: 'Q' } : {}),
      })),
    );
    const table = loadTable(file, SCHEMA);
    expect(table.imputed[0]?.firstMissing.map((c) => c.row)).to.deep.equal([12, 13, 14]);
    expect(table.imputed.map((c) => [c.column, c.unreadable, c.missing])).to.deep.equal([
      ['age', 1, 4],
      ['sex', 1, 0],
    ]);
    expect(imputationWarnings(table.imputed)).to.deep.equal([
      `column "age": 1 unreadable cell imputed with the column mean (${file}:5 "eighty")`,
      `column "sex": 1 unreadable cell imputed with the column mode (${file}:9 "Q")`,
      `4 missing cells in ${file} imputed with the column mean (numbers) or mode (categories): "age" 4 (first row 12)`,
    ]);
  });

  it('says nothing for a file without imputed cells', () => {
    const file = write(
      'clean.csv',
      csv(() => ({})),
    );
    expect(prepareHospitalData({ csvFile: file, schema: SCHEMA }).warnings).to.deep.equal([]);
  });

  it('adds pooled files up per column, naming each cell by its own file', () => {
    const a = write(
      'a.csv',
      csv((i) => (i === 0 ? { age: 'old' } : {})),
    );
    const b = write(
      'b.csv',
      csv((i) => (i === 1 || i === 2 || i === 3 ? { age: '?x' } : {})),
    );
    const data = prepareHospitalData({ csvFile: [a, b], schema: SCHEMA });
    expect(data.warnings).to.deep.equal([
      `column "age": 4 unreadable cells imputed with the column mean (first: ${a}:2 "old", ${b}:3 "?x", ${b}:4 "?x", …)`,
    ]);
    expect(mergeImputations([])).to.deep.equal([]);
    // Missing cells in pooled files: each first cell named with its file.
    const c = write(
      'c.csv',
      csv((i) => (i === 4 ? { sex: 'NA' } : {})),
    );
    const d = write(
      'd.csv',
      csv((i) => (i === 6 ? { age: '' } : {})),
    );
    expect(prepareHospitalData({ csvFile: [c, d], schema: SCHEMA }).warnings).to.deep.equal([
      `2 missing cells imputed with the column mean (numbers) or mode (categories): "sex" 1 (${c}:6), "age" 1 (${d}:8)`,
    ]);
  });
});
