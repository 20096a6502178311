// `fedledger-trainer generate`: writes the synthetic hospitals.
import { generateHospitals } from '../synthetic/generate';
import { MAX_SYNTHETIC_HOSPITALS } from '../synthetic/profiles';
import type { Command } from './command';
import { optionTable } from './command';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'write synthetic hospitals (CSV + schema.json + manifest.json) into a folder',
  help: `Usage: fedledger-trainer generate --out DIR [--hospitals N] [--patients N] [--seed N]

  --out DIR        folder to write hospital1.csv … hospitalN.csv, schema.json, manifest.json
  --hospitals N    how many hospitals, 1 to ${MAX_SYNTHETIC_HOSPITALS} (default 3), each with its own case mix
                   (non-IID); hospital1-3 are the same whatever N is
  --patients N     patients per hospital (default 50000)
  --seed N         generator seed (default 20240917); the same seed gives byte-identical files

Example: fedledger-trainer generate --out data/synthetic --patients 50000 --seed 7`,
  options: optionTable(['out', 'hospitals', 'patients', 'seed']),
  run(args) {
    const started = Date.now();
    const patients = args.countAtLeast('patients', 10);
    const seed = args.integer('seed');
    const hospitals = args.countAtLeast('hospitals', 1);
    const result = generateHospitals({
      outDir: args.required('out'),
      ...(hospitals !== undefined ? { hospitals } : {}),
      ...(patients !== undefined ? { patientsPerHospital: patients } : {}),
      ...(seed !== undefined ? { seed } : {}),
    });
    for (const h of result.hospitals) {
      console.log(`${h.csvFile}: ${h.rows} patients, outcomes ${h.outcomeCounts.join(' / ')}`);
    }
    console.log(`${result.schemaFile}\n${result.manifestFile}\n(${Date.now() - started} ms)`);
    return Promise.resolve();
  },
};
