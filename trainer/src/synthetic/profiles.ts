// The synthetic hospitals' case mix: each profile skews diagnoses, age, insurance, data quality and
// outcome prevalence, which is what makes the federation non-IID.

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
