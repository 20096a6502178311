import { expect } from 'chai';
import {
  InvalidHeaderError,
  ShapeMismatchError,
  canonicalJson,
  checkTensorsMatchSpec,
  decodeContainer,
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  parameterCount,
  parseLedgerErrorCode,
  referenceModelSpec,
  sealContainer,
  validateModelSpec,
  writeSafetensors,
} from '../src';
import type { Container, Tensor } from '../src';

const spec = referenceModelSpec(4, 3);

function zeroTensors(): Tensor[] {
  return modelTensorShapes(spec).map(({ name, shape }) => ({
    name,
    dtype: 'F32' as const,
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => i / 7),
  }));
}

function update(): Container {
  return {
    metadata: {
      kind: 'update',
      runId: 'run-1',
      round: 2,
      mspId: 'Hospital1MSP',
      sampleCount: 4000,
      modelSpecHash: modelSpecHash(spec),
      encoding: 'float32',
    },
    extra: { 'dp.epsilon_spent': '0.42' },
    tensors: zeroTensors(),
  };
}

describe('container', () => {
  it('round-trips metadata, extra metadata and tensors', () => {
    const back = decodeContainer(encodeContainer(update()));
    expect(back.metadata).to.deep.equal(update().metadata);
    expect(back.extra).to.deep.equal({ 'dp.epsilon_spent': '0.42' });
    expect(back.tensors.map((t) => t.name)).to.deep.equal(
      modelTensorShapes(spec)
        .map((t) => t.name)
        .sort(),
    );
    checkTensorsMatchSpec(back.tensors, spec);
  });

  it('seals to the same bytes and hash twice', () => {
    const a = sealContainer(update());
    const b = sealContainer(update());
    expect(a.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(a.sha256).to.equal(b.sha256);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).to.equal(true);
  });

  it('changes hash when any weight changes', () => {
    const changed = update();
    const first = changed.tensors[0];
    if (first?.dtype === 'F32') first.data[0] = 1e-7;
    expect(sealContainer(changed).sha256).not.to.equal(sealContainer(update()).sha256);
  });

  it('rejects a safetensors file without fedledger metadata', () => {
    const plain = writeSafetensors(zeroTensors());
    expect(() => decodeContainer(plain)).to.throw(InvalidHeaderError, /fedledger.format/);
  });

  it('rejects an update without an organisation or samples', () => {
    const bad = update();
    bad.metadata.sampleCount = 0;
    expect(() => encodeContainer(bad)).to.throw(InvalidHeaderError, /sample_count/);
  });

  it('rejects extra metadata under the reserved prefix', () => {
    const bad = update();
    bad.extra = { 'fedledger.round': '9' };
    expect(() => encodeContainer(bad)).to.throw(InvalidHeaderError, /reserved prefix/);
  });

  it('rejects tensors that do not match the model spec', () => {
    const tensors = zeroTensors();
    tensors[0] = {
      name: 'dense00.kernel',
      dtype: 'F32',
      shape: [5, 128],
      data: new Float32Array(640),
    };
    expect(() => checkTensorsMatchSpec(tensors, spec)).to.throw(ShapeMismatchError, /\[4, 128\]/);
    expect(() => checkTensorsMatchSpec(tensors.slice(1), spec)).to.throw(
      ShapeMismatchError,
      /expected 8/,
    );
  });
});

describe('model spec', () => {
  it('describes the reference MLP', () => {
    expect(parameterCount(referenceModelSpec(66, 3))).to.equal(
      66 * 128 + 128 + 128 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3,
    );
    expect(modelTensorShapes(spec)[6]).to.deep.equal({ name: 'dense03.kernel', shape: [32, 3] });
  });

  it('hashes equal specs equally regardless of key order', () => {
    const reordered = JSON.parse(
      '{"layers":' + JSON.stringify(spec.layers) + ',"inputDim":4,"name":"reference-mlp"}',
    ) as unknown;
    expect(modelSpecHash(validateModelSpec(reordered))).to.equal(modelSpecHash(spec));
  });

  it('rejects a spec with a bad layer, naming it', () => {
    expect(() =>
      validateModelSpec({ name: 'x', inputDim: 3, layers: [{ units: 0, activation: 'relu' }] }),
    ).to.throw(TypeError, /Layer 0/);
    expect(() =>
      validateModelSpec({ name: 'x', inputDim: 3, layers: [{ units: 2, activation: 'gelu' }] }),
    ).to.throw(TypeError, /gelu/);
  });
});

describe('canonical JSON and error codes', () => {
  it('sorts keys at every depth and refuses non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: null } })).to.equal(
      '{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}',
    );
    expect(() => canonicalJson({ a: NaN })).to.throw(TypeError, /\$\.a/);
  });

  it('extracts known codes from contract messages only', () => {
    expect(parseLedgerErrorCode('UPDATE_EXISTS: Hospital1MSP already submitted')).to.equal(
      'UPDATE_EXISTS',
    );
    expect(
      parseLedgerErrorCode('chaincode response 500, ROUND_NOT_OPEN: round 3 is closed'),
    ).to.equal('ROUND_NOT_OPEN');
    expect(parseLedgerErrorCode('SOMETHING_ELSE: no')).to.equal(undefined);
  });
});
