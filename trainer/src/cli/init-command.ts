// `fedledger-trainer init`: writes a run's initial global model (seeded, so anyone can rebuild it).
import { writeFileSync } from 'node:fs';
import { modelSpecHash } from '@fedledger/protocol';
import { prepareHospitalData } from '../data/hospital-data';
import { loadPreprocessing, savePreprocessing } from '../data/preprocessing';
import { initialModelTensors } from '../model/mlp';
import type { Command } from './command';
import { optionTable } from './command';
import { printDataWarnings, resolveSpec, writeContainer } from './common';
import { UsageError } from './args';

export const initCommand: Command = {
  name: 'init',
  summary: 'write an initial global model (round 0 input) and its model spec',
  help: `Usage: fedledger-trainer init --out MODEL --run-id ID (--preprocessing FILE | --data CSV --schema FILE)
                              [--spec FILE] [--seed N] [--save-spec FILE] [--save-preprocessing FILE]

  --out MODEL               the model container to write (kind "model", round 0)
  --run-id ID               the training run the model belongs to
  --preprocessing FILE      fitted preprocessing that fixes the input width, or
  --data CSV --schema FILE  a hospital extract to fit it from
  --spec FILE               model spec JSON (default: the reference MLP 128-64-32-softmax)
  --seed N                  seed of the Glorot-uniform initial weights (default 1)
  --save-spec FILE          also write the spec JSON (trainers need it when it is not the default)`,
  options: optionTable([
    'out',
    'run-id',
    'preprocessing',
    'data',
    'schema',
    'spec',
    'seed',
    'save-spec',
    'save-preprocessing',
  ]),
  run(args) {
    const prepFile = args.string('preprocessing');
    let prep;
    if (prepFile !== undefined) prep = loadPreprocessing(prepFile);
    else if (args.string('data') !== undefined) {
      const data = prepareHospitalData({
        csvFile: args.required('data'),
        schema: args.required('schema'),
      });
      printDataWarnings(data);
      prep = data.preprocessing;
    } else throw new UsageError('init needs --preprocessing, or --data with --schema.');
    const spec = resolveSpec(args.string('spec'), prep);
    const tensors = initialModelTensors(spec, args.string('seed') ?? 1);
    const written = writeContainer(args.required('out'), {
      metadata: {
        kind: 'model',
        runId: args.required('run-id'),
        round: 0,
        mspId: '',
        sampleCount: 0,
        modelSpecHash: modelSpecHash(spec),
        encoding: 'float32',
      },
      extra: { 'init.seed': args.string('seed') ?? '1' },
      tensors,
    });
    const specOut = args.string('save-spec');
    if (specOut !== undefined) writeFileSync(specOut, `${JSON.stringify(spec, null, 2)}\n`);
    const prepOut = args.string('save-preprocessing');
    if (prepOut !== undefined) savePreprocessing(prepOut, prep);
    console.log(
      JSON.stringify({
        model: args.required('out'),
        sha256: written.sha256,
        bytes: written.bytes,
        modelSpecHash: modelSpecHash(spec),
      }),
    );
    return Promise.resolve();
  },
};
