// What `fedledger-trainer run` checks its inputs by: the hospital's data and preprocessing, the
// run's model spec from the ledger, and each round's plaintext input model.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, ModelSpec, RunRecord, RunSettingsView } from '@fedledger/protocol';
import { checkTensorsMatchSpec, modelSpecHash, validateModelSpec } from '@fedledger/protocol';
import type { HospitalData } from '../data/hospital-data';
import { prepareHospitalData } from '../data/hospital-data';
import { loadPreprocessing, savePreprocessing } from '../data/preprocessing';
import { verifySharedTransform } from '../data/statistics';
import { DataError, ModelError } from '../errors';
import type { ArgReader } from './args';
import { printDataWarnings } from './common';
import { tableOptionsFrom } from './data-args';

/** Where the hospital's preprocessing came from: a file, or fitted on its own rows. */
export type PreprocessingMode =
  { kind: 'file'; file: string } | { kind: 'per-site'; explicit: boolean };

export function loadData(
  args: ArgReader,
  workdir: string,
): { data: HospitalData; mode: PreprocessingMode } {
  const kept = join(workdir, 'preprocessing.json');
  const option = args.string('preprocessing');
  const explicitPerSite = option === 'per-site';
  const given =
    option !== undefined && !explicitPerSite ? option : existsSync(kept) ? kept : undefined;
  const data = prepareHospitalData({
    csvFile: args.required('data'),
    schema: args.required('schema'),
    seed: args.string('seed') ?? 42,
    ...tableOptionsFrom(args),
    ...(given !== undefined ? { preprocessing: loadPreprocessing(given) } : {}),
  });
  printDataWarnings(data);
  // The same preprocessing every round and after a restart: the model's inputs must not shift.
  if (given === undefined) savePreprocessing(kept, data.preprocessing);
  return {
    data,
    mode:
      option !== undefined && !explicitPerSite
        ? { kind: 'file', file: option }
        : { kind: 'per-site', explicit: explicitPerSite },
  };
}

/**
 * Before the first round: the hospital applies the shared preprocessing the run records on the
 * ledger (by hash), or the run records none and the hospital scales on its own.
 * @throws {DataError} `DATA_PREPROCESSING_MISMATCH` when the two disagree.
 */
export function checkPreprocessing(
  run: RunRecord,
  data: HospitalData,
  mode: PreprocessingMode,
): void {
  const recorded = (run.settings as Partial<RunSettingsView>).preprocessingSha256;
  if (typeof recorded === 'string') {
    if (mode.kind === 'per-site') {
      throw new DataError(
        'DATA_PREPROCESSING_MISMATCH',
        { file: '--preprocessing' },
        `run ${run.runId} records a shared preprocessing (sha256 ${recorded}); per-site scaling would give this hospital's model different inputs. Pass the shared file with --preprocessing FILE.`,
      );
    }
    verifySharedTransform(data.preprocessing, recorded, mode.kind === 'file' ? mode.file : '');
    console.error(`preprocessing: shared, sha256 ${recorded} as recorded on the ledger`);
    return;
  }
  if (mode.kind === 'per-site' && !mode.explicit) {
    console.error(
      `warning: run ${run.runId} records no shared preprocessing: this hospital standardises with its own rows only, so the same value may mean different inputs at different hospitals (\`preprocess stats\` / \`preprocess combine\` build a shared one; --preprocessing per-site silences this)`,
    );
  }
}

/**
 * The run's model spec from its ledger record, checked against its hash and this hospital's data.
 * @throws {ModelError} naming what does not fit.
 */
export function runSpec(run: RunRecord, data: HospitalData): ModelSpec {
  const settings = run.settings as Partial<RunSettingsView>;
  let spec: ModelSpec;
  try {
    spec = validateModelSpec(settings.modelSpec);
  } catch (err) {
    throw new ModelError(`run ${run.runId}: the recorded model spec is unusable (${String(err)}).`);
  }
  if (modelSpecHash(spec) !== run.modelSpecHash) {
    throw new ModelError(
      `run ${run.runId}: the recorded model spec does not hash to the run's modelSpecHash.`,
    );
  }
  const width = data.preprocessing.featureNames.length;
  if (spec.inputDim !== width) {
    throw new ModelError(
      `run ${run.runId}: the model takes ${spec.inputDim} inputs, but this hospital's data has ${width} features after preprocessing.`,
    );
  }
  return spec;
}

/** Checks that a round's (plaintext) input model is a float32 model of the run's spec. */
export function checkModel(model: Container, spec: ModelSpec, round: number): void {
  const m = model.metadata;
  if (m.kind !== 'model' || m.encoding !== 'float32' || m.modelSpecHash !== modelSpecHash(spec)) {
    throw new ModelError(
      `round ${round}: the input model is not a float32 model of the run's spec (kind ${m.kind}, encoding ${m.encoding}).`,
    );
  }
  try {
    checkTensorsMatchSpec(model.tensors, spec);
  } catch (err) {
    throw new ModelError(`round ${round}: ${String(err)}`, { cause: err });
  }
}
