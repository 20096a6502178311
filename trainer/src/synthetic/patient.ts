// One synthetic admission: demographics, diagnosis, comorbidities, vitals and labs, treatment
// history, and an outcome drawn from a known probability model. The outcome depends on the
// observed values through thresholds, U-shapes and interactions (learnable by an MLP, not by a
// single linear score) plus irreducible noise.
import type { RandomSource } from '../random';
import type { HospitalProfile } from './profiles';
import { ADMISSION_TYPES, DIAGNOSES, INSURANCE, SMOKING, WEEKDAYS } from './profiles';

/** A generated admission: numeric values (before missingness), categories, outcome. */
export interface SyntheticPatient {
  numeric: Record<string, number>;
  categorical: Record<string, string>;
  /** Outcome class index (OUTCOMES order). */
  outcome: number;
  /** The true outcome probabilities the label was drawn from (for calibration checks). */
  probabilities: [number, number, number];
}

/** Logit scale: larger means a less noisy, more learnable outcome. */
const SIGNAL = 3.2;

export function simulatePatient(random: RandomSource, profile: HospitalProfile): SyntheticPatient {
  const normal = (mean: number, sd: number): number => mean + sd * random.gaussian();
  const bernoulli = (p: number): number => (random.uniform() < p ? 1 : 0);
  const poisson = (lambda: number): number => {
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = random.uniform(); p > limit; p *= random.uniform()) k++;
    return k;
  };
  const pick = (weights: readonly number[]): number => {
    let u = random.uniform() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return i;
    }
    return weights.length - 1;
  };

  const dxIndex = pick(profile.diagnosisWeights);
  const dx = DIAGNOSES[dxIndex] as (typeof DIAGNOSES)[number];
  const age = clamp(Math.round(normal(profile.ageMean + dx.ageShift, 15)), 18, 100);
  const sex = bernoulli(dx.name === 'hip_fracture' ? 0.3 : 0.49);
  const old = (age - 60) / 10;
  const diabetes = bernoulli(
    sigmoid(-1.6 + 0.25 * old + (dx.name === 'diabetes_complication' ? 4 : 0)),
  );
  const hypertension = bernoulli(sigmoid(-0.5 + 0.45 * old));
  const ckd = bernoulli(
    sigmoid(-2.4 + 0.35 * old + (dx.name === 'renal_failure' ? 2.5 : 0) + 0.8 * diabetes),
  );
  const cancer = bernoulli(sigmoid(-2.6 + 0.25 * old));
  const copdHx = bernoulli(sigmoid(-2.5 + 0.2 * old + (dx.name === 'copd' ? 4 : 0)));
  const hfHx = bernoulli(sigmoid(-2.6 + 0.35 * old + (dx.name === 'heart_failure' ? 3.5 : 0)));
  const dementia = bernoulli(sigmoid(-4 + 0.7 * Math.max(0, old)));
  const charlson =
    diabetes +
    ckd * 2 +
    cancer * 2 +
    copdHx +
    hfHx +
    dementia +
    Math.max(0, Math.floor((age - 40) / 10));

  // Latent acuity, seen only through vitals and labs.
  const acuity = normal(dx.acuity + 0.015 * (age - 60), 0.8);
  const lactate = Math.exp(normal(0.25 + 0.35 * acuity, 0.3));
  const creatinine = Math.exp(
    normal(-0.05 + 0.25 * ckd + 0.18 * acuity + (dx.name === 'renal_failure' ? 0.6 : 0), 0.25),
  );
  const albumin = clamp(normal(3.9 - 0.35 * acuity - 0.1 * cancer, 0.4), 1.2, 5.5);
  const sodium = normal(139 + (random.uniform() < 0.15 ? (random.uniform() < 0.5 ? -8 : 6) : 0), 3);
  const spo2 = clamp(
    normal(
      96.5 - 1.6 * Math.max(0, acuity) - 2.5 * copdHx - (dx.name === 'pneumonia' ? 2 : 0),
      1.8,
    ),
    70,
    100,
  );
  const wbc = Math.exp(
    normal(2.0 + 0.22 * acuity + (dx.name === 'sepsis' || dx.name === 'pneumonia' ? 0.35 : 0), 0.3),
  );
  const hemoglobin = clamp(
    normal(13.4 + 0.9 * sex - 0.8 * ckd - 0.6 * cancer - 0.3 * acuity, 1.6),
    5,
    19,
  );
  const glucose = Math.exp(normal(4.7 + 0.35 * diabetes + 0.05 * acuity, 0.2));
  const hba1c = clamp(normal(5.6 + 2.2 * diabetes, 0.7 + 0.6 * diabetes), 4, 15);
  const troponin = Math.exp(
    normal(-4.2 + (dx.name === 'myocardial_infarction' ? 3 : 0) + 0.3 * acuity, 0.7),
  );
  const crp = Math.exp(
    normal(1.5 + 0.5 * acuity + (dx.name === 'sepsis' || dx.name === 'pneumonia' ? 1.2 : 0), 0.6),
  );
  const heartRate = normal(82 + 7 * acuity, 11);
  const systolic = normal(130 - 9 * Math.max(0, acuity - 0.5) + 6 * hypertension, 16);
  const diastolic = normal(0.55 * systolic + 6, 8);
  const respRate = normal(17 + 2 * Math.max(0, acuity) + 2 * copdHx, 2.5);
  const temperature = normal(
    36.9 + (dx.name === 'sepsis' || dx.name === 'pneumonia' ? 0.9 : 0) + 0.1 * acuity,
    0.5,
  );
  const bmi = clamp(normal(27.5 + 2.5 * diabetes - 1.5 * cancer, 5), 14, 60);
  const bun = Math.exp(normal(2.8 + 0.5 * Math.log(creatinine) * 2 + 0.1 * acuity, 0.25));
  const potassium = normal(4.2 + 0.35 * ckd, 0.45);
  const platelets = Math.exp(normal(5.4 - (dx.name === 'sepsis' ? 0.35 : 0), 0.3));

  const icu = bernoulli(sigmoid(-2.6 + 1.4 * acuity + profile.icuShift));
  const ventilation = icu ? bernoulli(sigmoid(-1.5 + 1.1 * acuity)) : 0;
  const surgery = bernoulli(
    dx.name === 'hip_fracture' ? 0.85 : dx.name === 'myocardial_infarction' ? 0.4 : 0.08,
  );
  const los = Math.max(
    1,
    Math.round(Math.exp(normal(1.1 + 0.3 * acuity + 0.4 * icu + 0.006 * (age - 60), 0.45))),
  );
  const meds = poisson(3 + (1.2 * charlson) / 2 + 2 * hfHx);
  const priorAdmissions = poisson(0.25 + 0.18 * charlson + 0.7 * hfHx + 0.5 * copdHx);
  const edVisits = poisson(0.4 + 0.15 * charlson + 0.4 * copdHx);
  const insurance = age >= 65 ? pick([85, 10, 2, 3]) : pick(profile.insuranceWeights);
  const admission =
    dx.name === 'other' || dx.name === 'hip_fracture'
      ? pick([40, 15, 40, 5])
      : pick([70, 15, 5, 10]);
  const smoking = pick(copdHx ? [10, 50, 40] : [55, 28, 17]);
  const weekday = random.integer(7);

  // Outcome model on observed values: deterioration (transfer/death) and readmission scores.
  const severity =
    0.045 * (age - 65) +
    1.3 * Math.max(0, lactate - 2) +
    0.9 * Math.max(0, creatinine - 1.5) +
    0.09 * Math.abs(sodium - 139) +
    1.1 * Math.max(0, 3.3 - albumin) +
    0.14 * Math.max(0, 92 - spo2) +
    1.5 * ventilation +
    0.5 * icu +
    0.6 * (dx.acuity > 0.7 ? 1 : 0) * (age > 75 ? 1 : 0) +
    0.15 * charlson +
    0.5 * dementia * (age > 80 ? 1 : 0) +
    (troponin > 0.1 ? 0.6 : 0);
  const readmission =
    0.45 * Math.min(priorAdmissions, 5) +
    0.3 * Math.min(edVisits, 5) +
    0.8 * hfHx +
    0.5 * copdHx +
    0.06 * meds +
    0.7 * (insurance === 2 ? 1 : 0) +
    0.7 * (hemoglobin < 10 ? 1 : 0) +
    0.8 * diabetes * (hba1c > 8.5 ? 1 : 0) +
    0.6 * dx.readmission +
    0.4 * (los > 8 ? 1 : 0) +
    0.25 * (weekday === 4 ? 1 : 0) -
    0.4 * (admission === 2 ? 1 : 0);
  const logits = [
    0,
    SIGNAL * (readmission - 2.8) + profile.readmissionShift,
    SIGNAL * (severity - 3.0) + profile.transferShift,
  ];
  const probabilities = softmax(logits);
  const outcome = pick(probabilities);

  return {
    numeric: {
      age,
      bmi,
      heart_rate: heartRate,
      systolic_bp: systolic,
      diastolic_bp: diastolic,
      resp_rate: respRate,
      temperature,
      spo2,
      hemoglobin,
      wbc,
      platelets,
      sodium,
      potassium,
      creatinine,
      bun,
      glucose,
      albumin,
      lactate,
      crp,
      hba1c,
      troponin,
      diabetes,
      hypertension,
      chronic_kidney_disease: ckd,
      cancer,
      copd_history: copdHx,
      heart_failure_history: hfHx,
      dementia,
      prior_admissions_12m: priorAdmissions,
      ed_visits_6m: edVisits,
      length_of_stay_days: los,
      num_medications: meds,
      icu_stay: icu,
      mechanical_ventilation: ventilation,
      surgery,
      charlson_index: charlson,
    },
    categorical: {
      sex: sex ? 'M' : 'F',
      insurance: INSURANCE[insurance] as string,
      admission_type: ADMISSION_TYPES[admission] as string,
      primary_diagnosis: dx.name,
      smoking_status: SMOKING[smoking] as string,
      discharge_weekday: WEEKDAYS[weekday] as string,
    },
    outcome,
    probabilities: probabilities as [number, number, number],
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
