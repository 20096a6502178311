// Writes the synthetic hospitals: one CSV per hospital plus the shared schema and a manifest, all
// byte-identical for the same seed and size. Demos and tests read them through the CSV path,
// exactly as they would read a real extract.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors';
import { csvLine } from '../data/csv';
import type { DataSchema } from '../data/schema';
import { seededRandom } from '../random';
import type { HospitalProfile } from './profiles';
import {
  ADMISSION_TYPES,
  DIAGNOSES,
  hospitalProfiles,
  INSURANCE,
  OUTCOMES,
  SEXES,
  SMOKING,
  WEEKDAYS,
} from './profiles';
import { simulatePatient } from './patient';

/** Numeric columns: decimals written and the base rate of missing cells. */
const NUMERIC_COLUMNS: readonly [name: string, decimals: number, missing: number][] = [
  ['age', 0, 0],
  ['bmi', 1, 0.08],
  ['heart_rate', 0, 0.02],
  ['systolic_bp', 0, 0.02],
  ['diastolic_bp', 0, 0.02],
  ['resp_rate', 0, 0.03],
  ['temperature', 1, 0.02],
  ['spo2', 0, 0.02],
  ['hemoglobin', 1, 0.04],
  ['wbc', 1, 0.04],
  ['platelets', 0, 0.05],
  ['sodium', 0, 0.03],
  ['potassium', 1, 0.03],
  ['creatinine', 2, 0.03],
  ['bun', 0, 0.05],
  ['glucose', 0, 0.04],
  ['albumin', 1, 0.15],
  ['lactate', 1, 0.3],
  ['crp', 1, 0.25],
  ['hba1c', 1, 0.4],
  ['troponin', 3, 0.3],
  ['diabetes', 0, 0],
  ['hypertension', 0, 0],
  ['chronic_kidney_disease', 0, 0],
  ['cancer', 0, 0],
  ['copd_history', 0, 0],
  ['heart_failure_history', 0, 0],
  ['dementia', 0, 0],
  ['prior_admissions_12m', 0, 0.01],
  ['ed_visits_6m', 0, 0.01],
  ['length_of_stay_days', 0, 0],
  ['num_medications', 0, 0.02],
  ['icu_stay', 0, 0],
  ['mechanical_ventilation', 0, 0],
  ['surgery', 0, 0],
  ['charlson_index', 0, 0],
];

/** Categorical columns with their vocabularies and base missing rates. */
const CATEGORICAL_COLUMNS: readonly [
  name: string,
  categories: readonly string[],
  missing: number,
][] = [
  ['sex', SEXES, 0],
  ['insurance', INSURANCE, 0.03],
  ['admission_type', ADMISSION_TYPES, 0],
  ['primary_diagnosis', DIAGNOSES.map((d) => d.name), 0],
  ['smoking_status', SMOKING, 0.12],
  ['discharge_weekday', WEEKDAYS, 0],
];

/** Options of {@link generateHospitals}. */
export interface GenerateOptions {
  outDir: string;
  seed?: number;
  /** Patients per hospital; default 50,000. */
  patientsPerHospital?: number;
  /** How many hospitals ({@link hospitalProfiles}); default 3. Ignored when `profiles` is given. */
  hospitals?: number;
  profiles?: readonly HospitalProfile[];
}

/** What was written. */
export interface GeneratedHospitals {
  schemaFile: string;
  manifestFile: string;
  hospitals: { name: string; csvFile: string; rows: number; outcomeCounts: number[] }[];
}

/** The schema every synthetic hospital's CSV follows. */
export function syntheticSchema(): DataSchema {
  return {
    columns: [
      { name: 'patient_id', type: 'id' },
      ...NUMERIC_COLUMNS.map(([name]) => ({ name, type: 'numeric' as const })),
      ...CATEGORICAL_COLUMNS.map(([name, categories]) => ({
        name,
        type: 'categorical' as const,
        categories: [...categories],
      })),
      { name: 'outcome', type: 'label', classes: [...OUTCOMES] },
    ],
    missingValues: [''],
  };
}

/**
 * Generates the hospitals' CSVs, `schema.json` and `manifest.json` in `outDir`.
 * @throws {ConfigError} for a non-positive patient count.
 */
export function generateHospitals(options: Readonly<GenerateOptions>): GeneratedHospitals {
  const seed = options.seed ?? 20240917;
  const patients = options.patientsPerHospital ?? 50_000;
  if (!Number.isSafeInteger(patients) || patients < 10) {
    throw new ConfigError(`The patient count must be an integer of at least 10, not ${patients}.`);
  }
  const profiles = options.profiles ?? hospitalProfiles(options.hospitals ?? 3);
  mkdirSync(options.outDir, { recursive: true });
  const schema = syntheticSchema();
  const schemaFile = join(options.outDir, 'schema.json');
  writeFileSync(schemaFile, `${JSON.stringify(schema, null, 2)}\n`);
  const header = schema.columns.map((c) => c.name);
  const hospitals = profiles.map((profile, h) => {
    const random = seededRandom(`${seed}/${profile.name}`);
    const chunks: string[] = [csvLine(header)];
    const outcomeCounts = OUTCOMES.map(() => 0);
    for (let i = 0; i < patients; i++) {
      const patient = simulatePatient(random, profile);
      outcomeCounts[patient.outcome] = (outcomeCounts[patient.outcome] as number) + 1;
      const cells = [`H${h + 1}-${String(i + 1).padStart(6, '0')}`];
      for (const [name, decimals, missing] of NUMERIC_COLUMNS) {
        const drop = random.uniform() < missing * profile.missingScale;
        cells.push(drop ? '' : formatNumber(patient.numeric[name] as number, decimals));
      }
      for (const [name, , missing] of CATEGORICAL_COLUMNS) {
        const drop = random.uniform() < missing * profile.missingScale;
        cells.push(drop ? '' : (patient.categorical[name] as string));
      }
      cells.push(OUTCOMES[patient.outcome] as string);
      chunks.push(csvLine(cells));
    }
    const csvFile = join(options.outDir, `${profile.name}.csv`);
    writeFileSync(csvFile, chunks.join(''));
    return { name: profile.name, csvFile, rows: patients, outcomeCounts };
  });
  const manifestFile = join(options.outDir, 'manifest.json');
  const manifest = {
    generator: 'fedledger-synthetic/1',
    seed,
    patientsPerHospital: patients,
    outcomes: OUTCOMES,
    hospitals: hospitals.map((h) => ({
      name: h.name,
      file: `${h.name}.csv`,
      rows: h.rows,
      outcomeCounts: h.outcomeCounts,
    })),
  };
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { schemaFile, manifestFile, hospitals };
}

function formatNumber(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return text === '-0' || /^-0\.0*$/.test(text) ? text.slice(1) : text;
}
