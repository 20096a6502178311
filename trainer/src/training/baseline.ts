// The centralised baseline: every hospital's records pooled in one place and trained with the
// same recipe, the reference point federated results are compared against.
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import { referenceModelSpec } from '@fedledger/protocol';
import type { HospitalData, HospitalDataOptions } from '../data/hospital-data';
import { prepareHospitalData } from '../data/hospital-data';
import type { Preprocessing } from '../data/preprocessing';
import type { ClassificationMetrics } from '../model/metrics';
import { majorityClassRate } from '../model/metrics';
import { initialModelTensors } from '../model/mlp';
import { evaluateTensors } from './evaluate';
import { trainPlain } from './plain-trainer';
import type { TrainingOptions } from './trainer';

/** Inputs of {@link trainCentralisedBaseline}. */
export interface BaselineOptions extends TrainingOptions {
  /** The hospitals' CSVs (pooled) and their shared schema. */
  data: Pick<HospitalDataOptions, 'csvFile' | 'schema' | 'seed' | 'badValueTolerance'>;
  /** Architecture for the fitted preprocessing; default the reference MLP for the data's width. */
  specFor?: (preprocessing: Preprocessing) => ModelSpec;
  /** Seed of the initial weights; default 1. */
  initSeed?: number | string;
}

/** The baseline model and how it does on the held-out splits. */
export interface BaselineResult {
  spec: ModelSpec;
  tensors: Tensor[];
  data: HospitalData;
  validation: ClassificationMetrics;
  test: ClassificationMetrics;
  /** Accuracy of always predicting the most common class, on the test split. */
  majorityRate: number;
  samplesPerSecond: number;
}

/** Trains the centralised baseline on the pooled data. */
export async function trainCentralisedBaseline(
  options: Readonly<BaselineOptions>,
): Promise<BaselineResult> {
  const data = prepareHospitalData(options.data);
  const spec =
    options.specFor?.(data.preprocessing) ??
    referenceModelSpec(data.train.featureDim, data.train.classes.length);
  const initial = initialModelTensors(spec, options.initSeed ?? 1);
  const trained = await trainPlain(spec, initial, data.train, {
    ...options,
    validation: options.validation ?? data.validation,
  });
  return {
    spec,
    tensors: trained.tensors,
    data,
    validation: evaluateTensors(spec, trained.tensors, data.validation),
    test: evaluateTensors(spec, trained.tensors, data.test),
    majorityRate: majorityClassRate(data.test.labels, data.test.classes.length),
    samplesPerSecond: trained.samplesPerSecond,
  };
}
