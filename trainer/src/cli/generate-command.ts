// `fedledger-trainer generate`: writes the synthetic hospitals.
import { generateHospitals } from '../synthetic/generate';
import type { Command } from './command';
import { optionTable } from './command';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'write three synthetic hospitals (CSV + schema.json + manifest.json) into a folder',
  help: `Usage: fedledger-trainer generate --out DIR [--patients N] [--seed N]

  --out DIR        folder to write hospital1.csv … hospital3.csv, schema.json, manifest.json
  --patients N     patients per hospital (default 50000)
  --seed N         generator seed (default 20240917); the same seed gives byte-identical files

Example: fedledger-trainer generate --out data/synthetic --patients 50000 --seed 7`,
  options: optionTable(['out', 'patients', 'seed']),
  run(args) {
    const started = Date.now();
    const patients = args.countAtLeast('patients', 10);
    const seed = args.integer('seed');
    const result = generateHospitals({
      outDir: args.required('out'),
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
