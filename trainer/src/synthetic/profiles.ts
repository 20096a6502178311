// The synthetic hospitals' case mix: each profile skews diagnoses, age, insurance, data quality and
// outcome prevalence, which is what makes the federation non-IID.
import { ConfigError } from '../errors';
import { seededRandom } from '../random';

/** Primary diagnosis groups, with their effect on acuity and readmission risk. */
export const DIAGNOSES = [
  { name: 'heart_failure', acuity: 0.3, readmission: 1.0, ageShift: 8 },
  { name: 'copd', acuity: 0.1, readmission: 0.9, ageShift: 5 },
  { name: 'pneumonia', acuity: 0.4, readmission: 0.3, ageShift: 3 },
  { name: 'diabetes_complication', acuity: 0.0, readmission: 0.6, ageShift: -5 },
  { name: 'stroke', acuity: 0.9, readmission: 0.2, ageShift: 6 },
  { name: 'myocardial_infarction', acuity: 0.8, readmission: 0.4, ageShift: 2 },
  { name: 'sepsis', acuity: 1.4, readmission: 0.3, ageShift: 4 },
  { name: 'renal_failure', acuity: 0.5, readmission: 0.7, ageShift: 3 },
  { name: 'hip_fracture', acuity: 0.3, readmission: 0.1, ageShift: 12 },
  { name: 'other', acuity: -0.6, readmission: -0.2, ageShift: -10 },
] as const;

export const SEXES = ['F', 'M'] as const;
export const INSURANCE = ['public', 'private', 'uninsured', 'other'] as const;
export const ADMISSION_TYPES = ['emergency', 'urgent', 'elective', 'transfer_in'] as const;
export const SMOKING = ['never', 'former', 'current'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const OUTCOMES = ['home', 'readmitted_30d', 'transferred_or_died'] as const;

/** What distinguishes one synthetic hospital from another. */
export interface HospitalProfile {
  name: string;
  /** Relative frequency of each diagnosis in DIAGNOSES order. */
  diagnosisWeights: number[];
  ageMean: number;
  /** Relative frequency of each insurance type for patients under 65. */
  insuranceWeights: number[];
  /** Multiplies every column's missing-value rate (data quality). */
  missingScale: number;
  /** Added to the transferred-or-died logit (e.g. a rural hospital transfers more). */
  transferShift: number;
  /** Added to the readmission logit (follow-up care differs). */
  readmissionShift: number;
  /** Extra ICU propensity (tertiary centres admit sicker patients to ICU). */
  icuShift: number;
}

/** Three hospitals with different case mixes: a teaching centre, a community and a rural hospital. */
export const DEFAULT_PROFILES: readonly HospitalProfile[] = [
  {
    name: 'hospital1',
    diagnosisWeights: [8, 5, 9, 5, 12, 12, 14, 8, 6, 21],
    ageMean: 63,
    insuranceWeights: [30, 55, 8, 7],
    missingScale: 0.6,
    transferShift: -0.6,
    readmissionShift: 0,
    icuShift: 0.5,
  },
  {
    name: 'hospital2',
    diagnosisWeights: [10, 8, 14, 14, 6, 7, 7, 8, 12, 14],
    ageMean: 58,
    insuranceWeights: [35, 45, 14, 6],
    missingScale: 1,
    transferShift: 0,
    readmissionShift: 0.25,
    icuShift: 0,
  },
  {
    name: 'hospital3',
    diagnosisWeights: [18, 16, 12, 9, 7, 6, 6, 9, 10, 7],
    ageMean: 70,
    insuranceWeights: [60, 25, 10, 5],
    missingScale: 1.5,
    transferShift: 0.3,
    readmissionShift: 0.1,
    icuShift: -0.4,
  },
];

/** The most synthetic hospitals one call writes (each is a CSV of its own). */
export const MAX_SYNTHETIC_HOSPITALS = 1000;

/**
 * Profiles for `count` hospitals: hospital1-3 are {@link DEFAULT_PROFILES}, unchanged; hospital
 * K ≥ 4 takes one of them (K mod 3) as its kind of hospital and varies every trait from a
 * generator seeded by its name, so hospital K has the same case mix whatever the count and the
 * data seed. The variation (diagnosis and insurance mix by a log-normal factor of spread 0.6,
 * one diagnosis tripled as a speciality, age ±8 years, data quality, transfer, readmission and
 * ICU shifts) keeps the federation non-IID as it grows.
 * @throws {ConfigError} for a count outside 1 … {@link MAX_SYNTHETIC_HOSPITALS}.
 */
export function hospitalProfiles(count: number): HospitalProfile[] {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SYNTHETIC_HOSPITALS) {
    throw new ConfigError(
      `The hospital count must be an integer from 1 to ${MAX_SYNTHETIC_HOSPITALS}, not ${count}.`,
    );
  }
  const profiles = DEFAULT_PROFILES.slice(0, count).map((p) => ({ ...p }));
  for (let k = 4; k <= count; k++) {
    const base = DEFAULT_PROFILES[k % 3] as HospitalProfile;
    const random = seededRandom(`profile/hospital${k}`);
    const vary = (weights: readonly number[]): number[] =>
      weights.map((w) => round1(w * Math.exp(0.6 * random.gaussian())));
    const diagnosisWeights = vary(base.diagnosisWeights);
    const speciality = random.integer(diagnosisWeights.length);
    diagnosisWeights[speciality] = round1((diagnosisWeights[speciality] as number) * 3);
    profiles.push({
      name: `hospital${k}`,
      diagnosisWeights,
      ageMean: Math.round(base.ageMean + 8 * (2 * random.uniform() - 1)),
      insuranceWeights: vary(base.insuranceWeights),
      missingScale: round1(base.missingScale * (0.6 + 0.8 * random.uniform())),
      transferShift: round1(base.transferShift + 0.5 * (2 * random.uniform() - 1)),
      readmissionShift: round1(base.readmissionShift + 0.3 * (2 * random.uniform() - 1)),
      icuShift: round1(base.icuShift + 0.5 * (2 * random.uniform() - 1)),
    });
  }
  return profiles;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
