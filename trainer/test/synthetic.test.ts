// The synthetic hospitals: reproducible bytes, the intended width, non-IID case mix.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parameterCount, referenceModelSpec, sha256Hex } from '@fedledger/protocol';
import { prepareHospitalData } from '../src/data/hospital-data';
import { generateHospitals } from '../src/synthetic/generate';
import { hospitalProfiles } from '../src/synthetic/profiles';
import { ConfigError } from '../src/errors';
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

  it('writes N hospitals: hospital1-3 as with three, each further one with a case mix of its own', () => {
    const three = generateHospitals({ outDir: tempDir(), patientsPerHospital: 400, seed: 9 });
    const six = generateHospitals({
      outDir: tempDir(),
      patientsPerHospital: 400,
      seed: 9,
      hospitals: 6,
    });
    expect(six.hospitals.map((h) => h.name)).to.deep.equal(
      [1, 2, 3, 4, 5, 6].map((k) => `hospital${k}`),
    );
    three.hospitals.forEach((h, i) =>
      expect(digest(six.hospitals[i]?.csvFile as string)).to.equal(digest(h.csvFile)),
    );
    // Non-IID: no two hospitals share a diagnosis mix, and home-discharge rates spread.
    const profiles = hospitalProfiles(6);
    const mixes = new Set(profiles.map((p) => p.diagnosisWeights.join(',')));
    expect(mixes.size).to.equal(6);
    const home = six.hospitals.map((h) => (h.outcomeCounts[0] as number) / h.rows);
    expect(Math.max(...home) - Math.min(...home)).to.be.greaterThan(0.05);
    // Hospital K's profile does not depend on how many hospitals there are.
    expect(hospitalProfiles(40)[4]).to.deep.equal(profiles[4]);
    expect(() => hospitalProfiles(0)).to.throw(ConfigError, /from 1 to 1000/);
  });
});
