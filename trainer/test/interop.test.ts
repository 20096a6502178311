// Interoperability with the reference Python `safetensors` package: an update container and a
// final model, exported with `fedledger-trainer export`, read in Python exactly as written (names,
// shapes, every value, metadata), and the exported TensorFlow.js layers model's weights.bin holds
// the same values. Python runs from .venv-interop, which scripts/python-interop.sh makes (npm
// test and .ci/run call it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import type { Container, ModelSpec, Tensor } from '@fedledger/protocol';
import {
  decodeContainer,
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
} from '@fedledger/protocol';
import { main } from '../src/cli/main';
import { initialModelTensors } from '../src/model/mlp';
import { tempDir } from './helpers';

const ROOT = resolve(__dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv-interop', 'bin', 'python');
const READER = join(ROOT, 'trainer', 'test', 'interop', 'read_safetensors.py');

interface PyTensor {
  dtype: string;
  shape: number[];
  values: number[];
}
interface PyFile {
  metadata: Record<string, string>;
  tensors: Record<string, PyTensor>;
}

const SPEC: ModelSpec = {
  name: 'interop',
  inputDim: 6,
  layers: [
    { units: 8, activation: 'relu' },
    { units: 4, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
};

function expectSameTensors(python: Record<string, PyTensor>, tensors: readonly Tensor[]): void {
  expect(Object.keys(python).sort()).to.deep.equal(tensors.map((t) => t.name).sort());
  for (const t of tensors) {
    const p = python[t.name] as PyTensor;
    expect(p.dtype, t.name).to.equal('float32');
    expect(p.shape, t.name).to.deep.equal(t.shape);
    expect(p.values, t.name).to.deep.equal(Array.from(t.data));
  }
}

describe('interoperability with the Python safetensors package', function () {
  this.timeout(60_000);

  it('reads an update and an exported final model (and its TF.js weights) exactly as written', async () => {
    expect(
      existsSync(PYTHON),
      `${PYTHON} is missing: run scripts/python-interop.sh (npm test does)`,
    ).to.equal(true);
    const dir = tempDir();
    const update: Container = {
      metadata: {
        kind: 'update',
        runId: 'interop-1',
        round: 3,
        mspId: 'Hospital2MSP',
        sampleCount: 40_000,
        modelSpecHash: modelSpecHash(SPEC),
        encoding: 'float32',
      },
      extra: { 'dp.mechanism': 'dp-sgd-rdp', 'dp.epsilon_spent': '0.42', 'metrics.loss': '0.31' },
      tensors: initialModelTensors(SPEC, 'delta').map((t): Tensor => ({
        name: t.name,
        dtype: 'F32',
        shape: [...t.shape],
        data: Float32Array.from(t.data, (v, i) => v * 0.01 + i * 1e-7),
      })),
    };
    const updateFile = join(dir, 'update.safetensors');
    writeFileSync(updateFile, encodeContainer(update));
    const final = sealContainer({
      metadata: { ...update.metadata, kind: 'model', round: 10, mspId: '', sampleCount: 0 },
      extra: {},
      tensors: initialModelTensors(SPEC, 'final'),
    });
    const finalFile = join(dir, 'interop-1-final.safetensors');
    writeFileSync(finalFile, final.bytes);
    writeFileSync(join(dir, 'interop-1-model-spec.json'), JSON.stringify(SPEC));
    const out = join(dir, 'export');
    mkdirSync(out);
    expect(await main(['export', '--model', finalFile, '--out', out])).to.equal(0);

    const exported = join(out, 'model.safetensors');
    const read = JSON.parse(
      execFileSync(PYTHON, [READER, updateFile, exported, '--tfjs', join(out, 'tfjs')], {
        encoding: 'utf8',
      }),
    ) as Record<string, PyFile> & { tfjs: { layers: string[]; tensors: Record<string, PyTensor> } };

    const u = read[updateFile] as PyFile;
    expectSameTensors(u.tensors, update.tensors);
    expect(u.metadata).to.include({
      'fedledger.kind': 'update',
      'fedledger.run_id': 'interop-1',
      'fedledger.round': '3',
      'fedledger.msp_id': 'Hospital2MSP',
      'fedledger.sample_count': '40000',
      'dp.epsilon_spent': '0.42',
    });

    const m = read[exported] as PyFile;
    const finalTensors = decodeContainer(final.bytes).tensors;
    expectSameTensors(m.tensors, finalTensors);
    expect(JSON.parse(m.metadata['model_spec'] as string)).to.deep.equal(SPEC);
    expect(m.metadata).to.include({ run_id: 'interop-1', round: '10' });

    // The TF.js layers model: three Dense layers whose weights, in order, are the model's.
    expect(read.tfjs.layers).to.deep.equal(['Dense', 'Dense', 'Dense']);
    const tfjsWeights = Object.values(read.tfjs.tensors);
    const shapes = modelTensorShapes(SPEC);
    expect(tfjsWeights.map((w) => w.shape)).to.deep.equal(shapes.map((s) => s.shape));
    for (const [i, s] of shapes.entries()) {
      const t = finalTensors.find((x) => x.name === s.name) as Tensor;
      expect(tfjsWeights[i]?.values, s.name).to.deep.equal(Array.from(t.data));
    }
  });
});
