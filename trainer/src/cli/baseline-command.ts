// `fedledger-trainer baseline`: the centralised baseline on pooled hospital data.
import { modelSpecHash } from '@fedledger/protocol';
import type { Preprocessing } from '../data/preprocessing';
import { savePreprocessing } from '../data/preprocessing';
import { trainCentralisedBaseline } from '../training/baseline';
import type { Command } from './command';
import { optionTable } from './command';
import {
  ENGINE_HELP,
  metricsSummary,
  printDataWarnings,
  printEpoch,
  printPredictionWarnings,
  resolveSpec,
  startBackend,
  writeContainer,
} from './common';
import { predictionWarnings } from '../model/metrics';
import { UsageError } from './args';
import { trainingNumbers } from './train-command';

export const baselineCommand: Command = {
  name: 'baseline',
  summary: 'train the centralised baseline on all hospitals pooled; report held-out metrics',
  help: `Usage: fedledger-trainer baseline --data CSV [--data CSV …] --schema FILE [options]

  --data CSV                 a hospital's extract; repeat to pool several
  --schema FILE              the shared schema JSON
  --epochs N --batch-size N --learning-rate X   (defaults 5, 32, 0.001)
  --seed N                   split/oversampling seed (default 42)
  --spec FILE                model spec JSON (default: the reference MLP)
  --out MODEL                write the trained model container
  --save-preprocessing FILE  write the fitted preprocessing
  --backend NAME             auto (default), tensorflow-gpu, tensorflow, wasm, cpu
  ${ENGINE_HELP}
  --json                     print the summary as JSON`,
  options: optionTable(
    [
      'data',
      'schema',
      'epochs',
      'batch-size',
      'learning-rate',
      'seed',
      'spec',
      'out',
      'save-preprocessing',
      'backend',
      'engine',
    ],
    ['json'],
    ['data'],
  ),
  async run(args) {
    const files = args.list('data');
    if (files.length === 0) throw new UsageError('baseline needs at least one --data CSV.');
    const specFile = args.string('spec');
    const numbers = trainingNumbers(args);
    await startBackend(args.string('backend'));
    const result = await trainCentralisedBaseline({
      data: { csvFile: files, schema: args.required('schema'), seed: args.string('seed') ?? 42 },
      ...numbers,
      onEpoch: printEpoch,
      ...(specFile !== undefined
        ? { specFor: (prep: Preprocessing) => resolveSpec(specFile, prep) }
        : {}),
    });
    printDataWarnings(result.data);
    const warnings = predictionWarnings(result.test.confusion, result.data.test.classes);
    printPredictionWarnings('test split', warnings);
    const out = args.string('out');
    let sha256: string | undefined;
    if (out !== undefined) {
      sha256 = writeContainer(out, {
        metadata: {
          kind: 'model',
          runId: 'baseline',
          round: 0,
          mspId: '',
          sampleCount: result.data.trainOriginal.rows,
          modelSpecHash: modelSpecHash(result.spec),
          encoding: 'float32',
        },
        extra: { 'baseline.files': files.join(',') },
        tensors: result.tensors,
      }).sha256;
    }
    const prepOut = args.string('save-preprocessing');
    if (prepOut !== undefined) savePreprocessing(prepOut, result.data.preprocessing);
    const summary = {
      rows: {
        train: result.data.trainOriginal.rows,
        validation: result.data.validation.rows,
        test: result.data.test.rows,
      },
      features: result.spec.inputDim,
      test: metricsSummary(result.test),
      majorityClassRate: Math.round(result.majorityRate * 1e4) / 1e4,
      samplesPerSecond: Math.round(result.samplesPerSecond),
      warnings,
      ...(out !== undefined ? { model: out, sha256 } : {}),
    };
    if (args.flag('json')) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `centralised baseline on ${files.length} file(s): test accuracy ${(result.test.accuracy * 100).toFixed(2)} % (majority class ${(result.majorityRate * 100).toFixed(2)} %), macro F1 ${result.test.macroF1.toFixed(4)}, loss ${result.test.loss.toFixed(4)}`,
      );
    }
  },
};
