// bench:secagg's measurement of one hospital's local training round, the part of a federated round
// that secure aggregation leaves unchanged: a synthetic hospital generated and prepared as the demo
// does, then the trainer's own local round (trainLocalRound: train E epochs from the global model,
// evaluate before and after, form Δ) timed end to end, plainly and with DP-SGD as the demo runs it.
// Generating and preparing the data is done once per run by a hospital, so it is not timed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parameterCount, referenceModelSpec } from '@fedledger/protocol';
import type { DpSettings, HospitalData, LocalRoundInput } from '@fedledger/trainer';
import {
  generateHospitals,
  initialModelTensors,
  prepareHospitalData,
  selectBackend,
  trainLocalRound,
} from '@fedledger/trainer';

export interface LocalRoundOptions {
  /** Patients of the synthetic hospital (the demo's --patients). */
  patients: number;
  /** Local epochs (the demo's --epochs). */
  epochs: number;
  /** The synthetic data's seed (the demo's --seed). */
  seed: number;
  /** When given, a DP-SGD round is timed too, calibrated to this target as the demo's trainers do. */
  dpSgd?: { targetEpsilon: number; delta: number; plannedRounds: number };
  progress?: (line: string) => void;
}

export interface LocalRoundFigures {
  patients: number;
  epochs: number;
  /** Rows plain training reads per epoch (the training split, minority classes oversampled). */
  trainRows: number;
  /** The training split before oversampling: the update's sample count, what DP-SGD reads. */
  sampleCount: number;
  /** Parameters of the model trained: the reference MLP for the prepared data's width. */
  parameters: number;
  /** The TensorFlow.js backend the trainer selected (used for its evaluations). */
  backend: string;
  /** One plain local round (fused engine), wall time. */
  plainMs: number;
  /** One DP-SGD local round (fused engine), wall time, when asked for. */
  dpSgdMs?: number;
}

/** Generates and prepares one synthetic hospital, then times its local round(s). */
export async function measureLocalRound(options: LocalRoundOptions): Promise<LocalRoundFigures> {
  const progress = options.progress ?? (() => undefined);
  // The trainer's CLI selects its backend before training; its evaluations run on it.
  const backend = (await selectBackend('auto')).name;
  const folder = mkdtempSync(join(tmpdir(), 'fedledger-bench-secagg-'));
  let data: HospitalData;
  try {
    progress(`local round: generating and preparing ${options.patients} synthetic patients`);
    const generated = generateHospitals({
      outDir: folder,
      patientsPerHospital: options.patients,
      hospitals: 1,
      seed: options.seed,
    });
    data = prepareHospitalData({
      csvFile: generated.hospitals[0]?.csvFile as string,
      schema: generated.schemaFile,
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const spec = referenceModelSpec(data.train.featureDim, data.train.classes.length);
  const globalTensors = initialModelTensors(spec, 1);
  const round = async (dp?: DpSettings): Promise<number> => {
    const input: LocalRoundInput = {
      spec,
      globalTensors,
      data,
      runId: 'bench-secagg',
      round: 0,
      mspId: 'Hospital1MSP',
      epochs: options.epochs,
      engine: 'fused',
      ...(dp ? { dp } : {}),
    };
    const start = performance.now();
    const result = await trainLocalRound(input);
    const elapsed = performance.now() - start;
    if (result.update.tensors.reduce((n, t) => n + t.data.length, 0) !== parameterCount(spec))
      throw new Error('the local round produced an update of the wrong size');
    return elapsed;
  };
  progress(`local round: training plainly, ${options.epochs} epochs of ${data.train.rows} rows`);
  const plainMs = await round();
  let dpSgdMs: number | undefined;
  if (options.dpSgd) {
    progress(
      `local round: training with DP-SGD, ${options.epochs} epochs of ${data.trainOriginal.rows} rows`,
    );
    dpSgdMs = await round({ mode: 'dp-sgd', ...options.dpSgd });
  }
  return {
    patients: options.patients,
    epochs: options.epochs,
    trainRows: data.train.rows,
    sampleCount: data.trainOriginal.rows,
    parameters: parameterCount(spec),
    backend,
    plainMs,
    ...(dpSgdMs !== undefined ? { dpSgdMs } : {}),
  };
}
