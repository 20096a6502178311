// The fused Dense engine against the TensorFlow.js path: from the same initial weights and the
// same random source (hence the same batches and DP noise) both give the same loss curve and the
// same model, plain and DP-SGD; and the engine is chosen as documented.
import { expect } from 'chai';
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import { referenceModelSpec } from '@fedledger/protocol';
import type { Dataset } from '../src/data/dataset';
import { prepareHospitalData } from '../src/data/hospital-data';
import { dpSgdTrainer, poissonSample } from '../src/dp/dp-sgd';
import { ConfigError } from '../src/errors';
import { initialModelTensors } from '../src/model/mlp';
import { seededRandom } from '../src/random';
import { samplePoissonInto } from '../src/training/batches';
import { newDenseEngine } from '../src/training/dense-engine';
import { chooseEngine } from '../src/training/engine';
import { trainPlain } from '../src/training/plain-trainer';
import type { LocalTrainer, TrainingEngineChoice, TrainingResult } from '../src/training/trainer';
import { smallHospitals, useFastestBackend } from './helpers';

/** Largest |a − b| over matching tensors. */
function maxDifference(a: readonly Tensor[], b: readonly Tensor[]): number {
  let max = 0;
  a.forEach((t, i) => {
    const other = b[i] as Tensor;
    expect(other.name).to.equal(t.name);
    for (let k = 0; k < t.data.length; k++) {
      max = Math.max(max, Math.abs((t.data[k] as number) - (other.data[k] as number)));
    }
  });
  return max;
}

/** Largest |θ_end − θ_start|: how far training moved the weights, for scale. */
function movement(trained: readonly Tensor[], initial: readonly Tensor[]): number {
  return maxDifference(trained, initial);
}

describe('fused Dense engine', function () {
  this.timeout(120_000);
  let train: Dataset;
  let spec: ModelSpec;
  let initial: Tensor[];

  before(async () => {
    await useFastestBackend();
    const hospitals = smallHospitals(600);
    const data = prepareHospitalData({
      csvFile: hospitals.hospitals[0]?.csvFile as string,
      schema: hospitals.schemaFile,
    });
    train = data.trainOriginal;
    spec = referenceModelSpec(train.featureDim, train.classes.length);
    initial = initialModelTensors(spec, 3);
  });

  async function both(
    trainer: (engine: TrainingEngineChoice) => Promise<TrainingResult & { losses: number[] }>,
  ): Promise<Record<'fused' | 'tfjs', TrainingResult & { losses: number[] }>> {
    return { fused: await trainer('fused'), tfjs: await trainer('tfjs') };
  }

  function run(
    local: LocalTrainer,
    model: ModelSpec,
    start: readonly Tensor[],
    seed: number,
    extra: { batchSize?: number } = {},
  ): (engine: TrainingEngineChoice) => Promise<TrainingResult & { losses: number[] }> {
    return async (engine) => {
      const losses: number[] = [];
      const result = await local(model, start, train, {
        epochs: 3,
        engine,
        random: seededRandom(seed),
        onEpoch: (p) => losses.push(p.trainLoss),
        ...extra,
      });
      return { ...result, losses };
    };
  }

  it('plain training: the same loss curve and model as TensorFlow.js from the same start and batches', async () => {
    const { fused, tfjs } = await both(run(trainPlain, spec, initial, 5));
    expect(fused.engine).to.equal('fused');
    expect(tfjs.engine).to.match(/^tfjs\//);
    expect(fused.losses).to.have.length(3);
    fused.losses.forEach((loss, i) => expect(loss).to.be.closeTo(tfjs.losses[i] as number, 1e-4));
    // The weights moved by far more than the two paths differ.
    const moved = movement(tfjs.tensors, initial);
    expect(moved).to.be.greaterThan(0.01);
    expect(maxDifference(fused.tensors, tfjs.tensors)).to.be.lessThan(1e-4);
  });

  it('DP-SGD with seeded noise (σ = 1): the same loss curve and model as TensorFlow.js', async () => {
    const dp = (random: ReturnType<typeof seededRandom>): LocalTrainer =>
      dpSgdTrainer({ clipNorm: 0.5, noiseMultiplier: 1, random });
    const trainer = (engine: TrainingEngineChoice) =>
      run(dp(seededRandom(7)), spec, initial, 0)(engine);
    const { fused, tfjs } = await both(trainer);
    expect(fused.privacyEvents).to.deep.equal(tfjs.privacyEvents);
    fused.losses.forEach((loss, i) => expect(loss).to.be.closeTo(tfjs.losses[i] as number, 1e-4));
    expect(movement(tfjs.tensors, initial)).to.be.greaterThan(0.01);
    expect(maxDifference(fused.tensors, tfjs.tensors)).to.be.lessThan(1e-4);
  });

  it('other activations (tanh, sigmoid, linear hidden layers) match too', async () => {
    const mixed: ModelSpec = {
      name: 'mixed',
      inputDim: train.featureDim,
      layers: [
        { units: 13, activation: 'tanh' },
        { units: 6, activation: 'sigmoid' },
        { units: 5, activation: 'linear' },
        { units: train.classes.length, activation: 'softmax' },
      ],
    };
    const start = initialModelTensors(mixed, 4);
    const plain = await both(run(trainPlain, mixed, start, 9, { batchSize: 16 }));
    expect(maxDifference(plain.fused.tensors, plain.tfjs.tensors)).to.be.lessThan(1e-4);
    const dp = await both((engine) =>
      run(
        dpSgdTrainer({ clipNorm: 1, noiseMultiplier: 0, random: seededRandom(2) }),
        mixed,
        start,
        0,
      )(engine),
    );
    expect(maxDifference(dp.fused.tensors, dp.tfjs.tensors)).to.be.lessThan(1e-4);
  });

  it('a batch larger than the engine holds is processed in chunks with the same result', () => {
    const small = newDenseEngine(spec, initial, 0.001, 4);
    const large = newDenseEngine(spec, initial, 0.001, 64);
    const form = { form: 'clipped-sum', clipNorm: 1, divisor: 32 } as const;
    const lossSmall = small.step(train.features, train.labels, 10, 37, form);
    const lossLarge = large.step(train.features, train.labels, 10, 37, form);
    expect(lossSmall).to.be.closeTo(lossLarge, 1e-6);
    expect(maxDifference(small.tensors(), large.tensors())).to.be.lessThan(1e-7);
    expect(movement(small.tensors(), initial)).to.be.greaterThan(0);
  });

  it('draws the same Poisson batches as the TensorFlow.js path', () => {
    const a = seededRandom(12);
    const b = seededRandom(12);
    const batch = { features: new Float32Array(0), labels: new Int32Array(0), rows: 0 };
    for (let step = 0; step < 20; step++) {
      const expected = poissonSample(train.rows, 0.05, a);
      samplePoissonInto(train, 0.05, b, batch);
      expect(Array.from(batch.labels.subarray(0, batch.rows))).to.deep.equal(
        expected.map((r) => train.labels[r]),
      );
      expect(batch.rows).to.equal(expected.length);
    }
  });

  it('fills noise with exactly the draws of gaussian() one by one, whatever the pairing state', () => {
    for (const [lead, length] of [
      [0, 7],
      [1, 7],
      [1, 8],
      [0, 1],
    ] as const) {
      const bulk = seededRandom(21);
      const single = seededRandom(21);
      for (let k = 0; k < lead; k++) expect(bulk.gaussian()).to.equal(single.gaussian());
      const filled = bulk.fillGaussian(new Float32Array(length), 0.7);
      const expected = Float32Array.from({ length }, () => single.gaussian() * 0.7);
      expect(Array.from(filled)).to.deep.equal(Array.from(expected));
      expect(bulk.gaussian()).to.equal(single.gaussian());
    }
  });

  it('is chosen for Dense softmax specs, not for others; forcing it on another spec is refused', () => {
    expect(chooseEngine(spec)).to.equal('fused');
    expect(chooseEngine(spec, 'tfjs')).to.equal('tfjs');
    const regression: ModelSpec = {
      name: 'no-softmax',
      inputDim: 4,
      layers: [{ units: 2, activation: 'sigmoid' }],
    };
    expect(chooseEngine(regression)).to.equal('tfjs');
    expect(() => chooseEngine(regression, 'fused')).to.throw(ConfigError, /last layer/);
  });
});
