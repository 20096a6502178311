// `fedledger-trainer evaluate`: metrics of a model file on a hospital's split.
import { concatDatasets } from '../data/dataset';
import { prepareHospitalData } from '../data/hospital-data';
import { loadPreprocessing } from '../data/preprocessing';
import { majorityClassRate, predictionWarnings } from '../model/metrics';
import { evaluateTensors } from '../training/evaluate';
import { UsageError } from './args';
import type { Command } from './command';
import { optionTable } from './command';
import {
  metricsSummary,
  printDataWarnings,
  printPredictionWarnings,
  readModelFile,
  resolveSpec,
  startBackend,
} from './common';

const SPLITS = ['train', 'validation', 'test', 'all'] as const;

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: "metrics of a model file on a hospital's train/validation/test split",
  help: `Usage: fedledger-trainer evaluate --model MODEL --data CSV --schema FILE [options]

Prints a warning when the model predicts a single class or never recognises a class (recall 0);
with --json they are listed under "warnings".

  --model MODEL          a model container (or an update's base, any float32 model)
  --data CSV --schema FILE
  --preprocessing FILE   the fitted preprocessing to apply (default: fit on the training split)
  --split NAME           train, validation, test (default) or all
  --seed N               split seed (default 42; must match the one used to train)
  --spec FILE            model spec JSON (default: the reference MLP)
  --backend NAME         auto (default), tensorflow-gpu, tensorflow, wasm, cpu
  --json                 print the metrics as JSON`,
  options: optionTable(
    ['model', 'data', 'schema', 'preprocessing', 'split', 'seed', 'spec', 'backend'],
    ['json'],
  ),
  async run(args) {
    const split = args.string('split') ?? 'test';
    if (!(SPLITS as readonly string[]).includes(split))
      throw new UsageError(`--split must be one of ${SPLITS.join(', ')}.`);
    await startBackend(args.string('backend'));
    const prepFile = args.string('preprocessing');
    const data = prepareHospitalData({
      csvFile: args.required('data'),
      schema: args.required('schema'),
      seed: args.string('seed') ?? 42,
      oversample: false,
      ...(prepFile !== undefined ? { preprocessing: loadPreprocessing(prepFile) } : {}),
    });
    printDataWarnings(data);
    const spec = resolveSpec(args.string('spec'), data.preprocessing);
    const model = readModelFile(args.required('model'), spec, '--model');
    const rows =
      split === 'all'
        ? concatDatasets([data.trainOriginal, data.validation, data.test])
        : split === 'train'
          ? data.trainOriginal
          : split === 'validation'
            ? data.validation
            : data.test;
    const metrics = evaluateTensors(spec, model.tensors, rows);
    const warnings = predictionWarnings(metrics.confusion, rows.classes);
    printPredictionWarnings(`${split} split`, warnings);
    const summary = {
      split,
      ...metricsSummary(metrics),
      majorityClassRate:
        Math.round(majorityClassRate(rows.labels, rows.classes.length) * 1e4) / 1e4,
      warnings,
    };
    if (args.flag('json')) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `${split}: ${metrics.rows} rows, accuracy ${(metrics.accuracy * 100).toFixed(2)} % (majority ${(summary.majorityClassRate * 100).toFixed(2)} %), loss ${metrics.loss.toFixed(4)}, macro P/R/F1 ${metrics.macroPrecision.toFixed(4)} / ${metrics.macroRecall.toFixed(4)} / ${metrics.macroF1.toFixed(4)}`,
      );
    }
  },
};
