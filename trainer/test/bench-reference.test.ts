// The pieces of `npm run bench:train`'s PyTorch reference that run without PyTorch: the files it
// reads and the parsing of what it prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { referenceModelSpec } from '@fedledger/protocol';
import {
  parseReferenceOutput,
  referencePython,
  writeReferenceInputs,
} from '../src/bench/reference';
import type { Dataset } from '../src/data/dataset';
import { initialModelTensors } from '../src/model/mlp';
import { tempDir } from './helpers';

describe('bench:train reference', () => {
  const data = (rows: number): Dataset => ({
    features: Float32Array.from({ length: rows * 3 }, (_, i) => i / 10),
    labels: Int32Array.from({ length: rows }, (_, i) => i % 2),
    rows,
    featureDim: 3,
    classes: ['no', 'yes'],
  });

  it('writes the rows, labels and weights as little-endian arrays with a meta file', () => {
    const dir = tempDir();
    const spec = referenceModelSpec(3, 2);
    const initial = initialModelTensors(spec, 1);
    writeReferenceInputs(dir, data(5), data(2), {
      spec,
      initial,
      epochs: 1,
      batchSize: 32,
      learningRate: 0.001,
      clipNorm: 1,
      noiseMultiplier: 1,
    });
    const x = new Float32Array(new Uint8Array(readFileSync(join(dir, 'train-x.f32'))).buffer);
    expect(Array.from(x.subarray(0, 3))).to.deep.equal([0, Math.fround(0.1), Math.fround(0.2)]);
    const y = new Int32Array(new Uint8Array(readFileSync(join(dir, 'heldout-y.i32'))).buffer);
    expect(Array.from(y)).to.deep.equal([0, 1]);
    const w3 = new Float32Array(new Uint8Array(readFileSync(join(dir, 'w3.f32'))).buffer);
    expect(Array.from(w3)).to.deep.equal(Array.from(initial[6]?.data ?? []));
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(meta).to.include({ rows: 5, heldoutRows: 2, featureDim: 3, classes: 2, batchSize: 32 });
  });

  it('parses the result line and refuses output without one', () => {
    const line =
      '{"framework": "torch 2.5.0", "mode": "plain", "threads": 1, "samplesPerSecond": 123.4, "heldoutLoss": 0.3}';
    expect(parseReferenceOutput(`warning: something\n${line}\n`)).to.include({
      mode: 'plain',
      samplesPerSecond: 123.4,
    });
    expect(() => parseReferenceOutput('Traceback …')).to.throw(/no result/);
    expect(() => parseReferenceOutput('{"mode": "plain"}')).to.throw(/lacks a field/);
  });

  it('says how to set the reference up where its environment is missing', () => {
    const found = referencePython(tempDir());
    expect(found).to.have.property('missing').that.contains('npm run bench:setup');
  });
});
