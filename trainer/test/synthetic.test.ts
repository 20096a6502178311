// The synthetic hospitals: reproducible bytes, the intended width, non-IID case mix.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parameterCount, referenceModelSpec, sha256Hex } from '@fedledger/protocol';
import { prepareHospitalData } from '../src/data/hospital-data';
import { generateHospitals } from '../src/synthetic/generate';
import { smallHospitals, tempDir } from './helpers';

describe('synthetic hospitals', () => {
  const digest = (file: string): string => sha256Hex(readFileSync(file));

  it('gives byte-identical files for the same seed and different files for another seed', () => {
    const a = generateHospitals({ outDir: tempDir(), patientsPerHospital: 300, seed: 5 });
    const b = generateHospitals({ outDir: tempDir(), patientsPerHospital: 300, seed: 5 });
    const c = generateHospitals({ outDir: tempDir(), patientsPerHospital: 300, seed: 6 });
    a.hospitals.forEach((h, i) => {
      expect(digest(h.csvFile)).to.equal(digest(b.hospitals[i]?.csvFile as string));
      expect(digest(h.csvFile)).to.not.equal(digest(c.hospitals[i]?.csvFile as string));
    });
    expect(digest(a.schemaFile)).to.equal(digest(b.schemaFile));
    expect(digest(a.manifestFile)).to.equal(digest(b.manifestFile));
  });

  it('has 66 features after one-hot encoding, so the reference MLP has about 19k parameters', () => {
    const g = smallHospitals(2000);
    const data = prepareHospitalData({
      csvFile: g.hospitals[0]?.csvFile as string,
      schema: g.schemaFile,
    });
    const spec = referenceModelSpec(data.train.featureDim, 3);
    expect(data.train.featureDim).to.equal(66);
    expect(parameterCount(spec)).to.equal(19011);
  });

  it('differs between hospitals in outcome prevalence and has missing values', () => {
    const g = smallHospitals(2000);
    const rates = g.hospitals.map((h) => h.outcomeCounts.map((n) => n / h.rows));
    console.log(
      `      outcome rates (home / readmitted / transferred-or-died): ${rates.map((r) => r.map((x) => x.toFixed(2)).join(' / ')).join(';  ')}`,
    );
    const home = rates.map((r) => r[0] as number);
    expect(Math.max(...home) - Math.min(...home)).to.be.greaterThan(0.1);
    rates.forEach((r) => expect(r[0]).to.be.within(0.45, 0.8)); // imbalanced, but every class present
    const text = readFileSync(g.hospitals[2]?.csvFile as string, 'utf8');
    expect(text).to.match(/,,/);
  });
});
