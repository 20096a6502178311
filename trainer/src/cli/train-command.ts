// `fedledger-trainer train`: one offline local round, global model file in, update file out.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { prepareHospitalData } from '../data/hospital-data';
import { loadPreprocessing, savePreprocessing } from '../data/preprocessing';
import { newPrivacyAccountant, restorePrivacyAccountant } from '../dp/privacy-accountant';
import type { DpMode, DpSettings } from '../dp/privacy-settings';
import { predictionWarnings } from '../model/metrics';
import { ENGINE_CHOICES } from '../training/engine';
import { trainLocalRound } from '../training/local-round';
import type { TrainingEngineChoice } from '../training/trainer';
import type { ArgReader } from './args';
import { UsageError } from './args';
import type { Command } from './command';
import { CSV_FLAGS, CSV_HELP, CSV_OPTIONS, tableOptionsFrom } from './data-args';
import { optionTable } from './command';
import {
  ENGINE_HELP,
  metricsSummary,
  printDataWarnings,
  printEpoch,
  printPredictionWarnings,
  readModelFile,
  resolveSpec,
  startBackend,
  writeContainer,
} from './common';

export const trainCommand: Command = {
  name: 'train',
  summary: 'one local round: global model file -> update file (offline), with optional DP',
  help: `Usage: fedledger-trainer train --data CSV --schema FILE --global MODEL --out UPDATE --msp MSPID [options]

  --data CSV                 the hospital's extract
  --schema FILE              its schema JSON
  --global MODEL             the round's input model (container of kind "model")
  --out UPDATE               where to write the update container (Δ = θ_local − θ_global)
  --msp MSPID                this hospital's MSP ID (written into the update)
  --round N                  round number (default: the global model's round)
  --spec FILE                model spec JSON (default: the reference MLP)
  --preprocessing FILE       reuse this fitted preprocessing (otherwise fit on the training split)
  --save-preprocessing FILE  write the fitted preprocessing
${CSV_HELP}
  --epochs N --batch-size N --learning-rate X   (defaults 5, 32, 0.001)
  --seed N                   split/oversampling seed (default 42)
  --dp none|update|dp-sgd    privacy mechanism (default none)
  --epsilon X --delta X      target (ε, δ) for the whole run (defaults 1, 1e-5); σ is calibrated
  --rounds N                 rounds the run plans, for calibration (default 10)
  --clip X                   clipping norm C (default 1)
  --noise-multiplier X       use this σ instead of calibrating
  --accountant pld|rdp       how ε is computed and σ calibrated (default pld; both are printed)
  --privacy-state FILE       accountant state: read if present, updated after the round
  --backend NAME             auto (default), tensorflow-gpu, tensorflow, wasm, cpu
  ${ENGINE_HELP}
  --json                     print the summary as JSON

Exit codes: 0 ok, 2 usage, 3 data, 4 model, 5 privacy, 6 backend, 1 internal.`,
  options: optionTable(
    [
      'data',
      'schema',
      'global',
      'out',
      'msp',
      'round',
      'spec',
      'preprocessing',
      'save-preprocessing',
      'epochs',
      'batch-size',
      'learning-rate',
      'seed',
      'dp',
      'epsilon',
      'delta',
      'rounds',
      'clip',
      'noise-multiplier',
      'accountant',
      'privacy-state',
      'backend',
      ...CSV_OPTIONS,
      'engine',
    ],
    ['json', ...CSV_FLAGS],
  ),
  async run(args) {
    // Every option is checked before any work starts.
    const dp = dpSettings(args);
    const numbers = trainingNumbers(args);
    const round = args.countAtLeast('round', 0);
    await startBackend(args.string('backend'));
    const prepFile = args.string('preprocessing');
    const data = prepareHospitalData({
      csvFile: args.required('data'),
      schema: args.required('schema'),
      seed: args.string('seed') ?? 42,
      ...tableOptionsFrom(args),
      ...(prepFile !== undefined ? { preprocessing: loadPreprocessing(prepFile) } : {}),
    });
    printDataWarnings(data);
    const saveTo = args.string('save-preprocessing');
    if (saveTo !== undefined) savePreprocessing(saveTo, data.preprocessing);
    const spec = resolveSpec(args.string('spec'), data.preprocessing);
    const global = readModelFile(args.required('global'), spec, '--global');
    const stateFile = args.string('privacy-state');
    const accountant =
      stateFile !== undefined && existsSync(stateFile)
        ? restorePrivacyAccountant(JSON.parse(readFileSync(stateFile, 'utf8')), dp.accountant)
        : newPrivacyAccountant({ kind: dp.accountant ?? 'pld' });
    const result = await trainLocalRound({
      spec,
      globalTensors: global.tensors,
      data,
      runId: global.metadata.runId,
      round: round ?? global.metadata.round,
      mspId: args.required('msp'),
      dp,
      accountant,
      ...numbers,
      onEpoch: printEpoch,
    });
    const warnings = predictionWarnings(result.metrics.after.confusion, data.validation.classes);
    printPredictionWarnings('validation split after training', warnings);
    const written = writeContainer(args.required('out'), result.update);
    if (stateFile !== undefined && result.dp)
      writeFileSync(stateFile, `${JSON.stringify(accountant.state(), null, 2)}\n`);
    const summary = {
      update: args.required('out'),
      sha256: written.sha256,
      bytes: written.bytes,
      runId: result.update.metadata.runId,
      round: result.update.metadata.round,
      mspId: result.update.metadata.mspId,
      sampleCount: result.sampleCount,
      validationBefore: metricsSummary(result.metrics.before),
      validationAfter: metricsSummary(result.metrics.after),
      ...(result.dpAccounting ? { dp: result.dpAccounting } : {}),
      samplesPerSecond: Math.round(result.samplesPerSecond),
      warnings,
    };
    if (args.flag('json')) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `update ${summary.update}  sha256 ${summary.sha256}  ${summary.bytes} bytes  ${summary.sampleCount} samples`,
      );
      console.log(
        `validation loss ${summary.validationBefore.loss} -> ${summary.validationAfter.loss}, accuracy ${summary.validationBefore.accuracy} -> ${summary.validationAfter.accuracy}, macro F1 ${summary.validationAfter.macroF1}`,
      );
      if (result.dpAccounting) {
        console.log(
          `dp ${result.dpAccounting.mechanism}: ε spent ${result.dpAccounting.epsilonSpent} at δ ${result.dpAccounting.delta} (σ ${result.dpAccounting.noiseMultiplier}, C ${result.dpAccounting.clipNorm})${epsilonCheck(result.epsilons)}`,
        );
      }
    }
  },
};

/** Both accountants' ε, printed beside the one the ledger records: "  [PLD 0.8921, RDP 0.9999]". */
export function epsilonCheck(epsilons: { pld: number; rdp: number } | undefined): string {
  return epsilons ? `  [PLD ${epsilons.pld.toFixed(4)}, RDP ${epsilons.rdp.toFixed(4)}]` : '';
}

/** --epochs, --batch-size, --learning-rate and --engine, where given. */
export function trainingNumbers(args: ArgReader): {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  engine?: TrainingEngineChoice;
} {
  const out: {
    epochs?: number;
    batchSize?: number;
    learningRate?: number;
    engine?: TrainingEngineChoice;
  } = {};
  const engine = args.string('engine');
  if (engine !== undefined) {
    if (!(ENGINE_CHOICES as readonly string[]).includes(engine))
      throw new UsageError(`--engine must be ${ENGINE_CHOICES.join(', ')}, not "${engine}".`);
    out.engine = engine as TrainingEngineChoice;
  }
  const epochs = args.countAtLeast('epochs');
  const batchSize = args.countAtLeast('batch-size');
  const learningRate = args.numberIn('learning-rate');
  if (epochs !== undefined) out.epochs = epochs;
  if (batchSize !== undefined) out.batchSize = batchSize;
  if (learningRate !== undefined) out.learningRate = learningRate;
  return out;
}

/** The DP settings of --dp, --epsilon, --delta, --rounds, --clip, --noise-multiplier, --accountant. */
export function dpSettings(args: ArgReader): DpSettings {
  const mode = (args.string('dp') ?? 'none') as DpMode;
  if (!['none', 'update', 'dp-sgd'].includes(mode))
    throw new UsageError(`--dp must be none, update or dp-sgd, not "${mode}".`);
  const settings: DpSettings = { mode };
  const set = <K extends keyof DpSettings>(key: K, value: DpSettings[K] | undefined): void => {
    if (value !== undefined) settings[key] = value;
  };
  set('targetEpsilon', args.numberIn('epsilon'));
  set('delta', args.numberIn('delta', { above: 0, below: 1 }));
  set('plannedRounds', args.countAtLeast('rounds'));
  set('clipNorm', args.numberIn('clip'));
  set('noiseMultiplier', args.numberIn('noise-multiplier', { atLeast: 0 }));
  const accountant = args.string('accountant');
  if (accountant !== undefined && accountant !== 'pld' && accountant !== 'rdp') {
    throw new UsageError(`--accountant must be pld or rdp, not "${accountant}".`);
  }
  set('accountant', accountant);
  return settings;
}
