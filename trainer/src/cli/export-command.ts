// `fedledger-trainer export`: a model container (the final model of a run, or any round's) written
// for use elsewhere: plain safetensors with the model spec in its metadata (PyTorch, NumPy, JAX …
// read it with the `safetensors` package) and a TensorFlow.js layers model (model.json +
// weights.bin), which tensorflowjs_converter turns into a Keras model.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { canonicalJson, modelSpecHash, writeSafetensors } from '@fedledger/protocol';
import { buildModel, setModelTensors } from '../model/mlp';
import type { Command } from './command';
import { optionTable } from './command';
import { readModelFile, resolveSpecFile } from './common';

export const exportCommand: Command = {
  name: 'export',
  summary: 'a model as plain safetensors and a TensorFlow.js layers model, for use elsewhere',
  help: `Usage: fedledger-trainer export --model FILE --out DIR [--spec FILE]

  --model FILE               a model container, e.g. <workdir>/<run>-final.safetensors
  --spec FILE                its model spec (default: <run>-model-spec.json beside the model,
                             which fedledger-trainer run writes)
  --out DIR                  writes DIR/model.safetensors (the weights, with the model spec,
                             run, round and spec hash in its metadata) and DIR/tfjs/model.json
                             with DIR/tfjs/weights.bin (a TensorFlow.js layers model)

In Python: safetensors.numpy.load_file("DIR/model.safetensors"); for Keras:
tensorflowjs_converter --input_format tfjs_layers_model --output_format keras DIR/tfjs/model.json m.h5

Exit codes: 0 written, 2 usage, 4 the model file or spec cannot be used.`,
  options: optionTable(['model', 'out', 'spec']),
  async run(args) {
    const file = args.required('model');
    const out = args.required('out');
    const spec = resolveSpecFile(args.string('spec'), file);
    const container = readModelFile(file, spec, '--model');
    mkdirSync(join(out, 'tfjs'), { recursive: true });
    const m = container.metadata;
    writeFileSync(
      join(out, 'model.safetensors'),
      writeSafetensors(container.tensors, {
        format: 'fedledger-model',
        model_spec: canonicalJson(spec),
        model_spec_sha256: modelSpecHash(spec),
        run_id: m.runId,
        round: String(m.round),
      }),
    );
    const model = buildModel(spec);
    try {
      setModelTensors(model, spec, container.tensors);
      await model.save(
        tf.io.withSaveHandler((artifacts) => {
          const weights = artifacts.weightData;
          const bytes = Array.isArray(weights)
            ? Buffer.concat(weights.map((w) => Buffer.from(w)))
            : Buffer.from(weights ?? new ArrayBuffer(0));
          writeFileSync(join(out, 'tfjs', 'weights.bin'), bytes);
          const manifest = {
            format: 'layers-model',
            generatedBy: 'fedledger-trainer export',
            modelTopology: artifacts.modelTopology,
            weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
          };
          writeFileSync(join(out, 'tfjs', 'model.json'), JSON.stringify(manifest));
          return Promise.resolve({
            modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' },
          });
        }),
      );
    } finally {
      model.dispose();
    }
    console.log(
      `wrote ${join(out, 'model.safetensors')} and ${join(out, 'tfjs', 'model.json')} (run ${m.runId}, round ${m.round}, ${container.tensors.length} tensors)`,
    );
  },
};
