// Differential-privacy mechanisms: update clipping and noise, per-example clipping, DP-SGD end to end.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { checkTensorsMatchSpec, decodeContainer, encodeContainer } from '@fedledger/protocol';
import { prepareHospitalData } from '../src/data/hospital-data';
import { poissonSample } from '../src/dp/dp-sgd';
import type { DenseVariables } from '../src/dp/per-example-gradients';
import { clippedGradientSum } from '../src/dp/per-example-gradients';
import { globalL2Norm, privatiseUpdate } from '../src/dp/update-dp';
import { initialModelTensors } from '../src/model/mlp';
import { cryptoRandom, seededRandom } from '../src/random';
import { trainLocalRound } from '../src/training/local-round';
import { referenceModelSpec } from '@fedledger/protocol';
import type { Tensor } from '@fedledger/protocol';
import { smallHospitals, useFastestBackend } from './helpers';

function tensor(name: string, values: number[]): Tensor {
  return { name, dtype: 'F32', shape: [values.length], data: Float32Array.from(values) };
}

describe('differential privacy', () => {
  describe('update-level DP', () => {
    it('clips an update above C to norm C and leaves one below C unchanged', () => {
      const big = privatiseUpdate([tensor('a', [3, 0]), tensor('b', [4])], {
        clipNorm: 1,
        noiseMultiplier: 0,
      });
      expect(big.originalNorm).to.be.closeTo(5, 1e-9);
      expect(globalL2Norm(big.tensors)).to.be.closeTo(1, 1e-6);
      const small = privatiseUpdate([tensor('a', [0.3, 0.4])], { clipNorm: 1, noiseMultiplier: 0 });
      expect(Array.from(small.tensors[0]?.data ?? [])).to.deep.equal([
        Math.fround(0.3),
        Math.fround(0.4),
      ]);
      expect(big.event).to.deep.equal({
        mechanism: 'gaussian',
        noiseMultiplier: 0,
        samplingRate: 1,
        count: 1,
      });
    });

    it('adds noise with the calibrated standard deviation σ·C (statistical test)', () => {
      const n = 200_000;
      const clipNorm = 0.5;
      const sigma = 1.3;
      const out = privatiseUpdate(
        [{ name: 'w', dtype: 'F32', shape: [n], data: new Float32Array(n) }],
        { clipNorm, noiseMultiplier: sigma, random: seededRandom(99) },
      );
      const data = out.tensors[0]?.data as Float32Array;
      let sum = 0;
      let squares = 0;
      let withinOne = 0;
      const std = sigma * clipNorm;
      for (const v of data) {
        sum += v;
        squares += v * v;
        if (Math.abs(v) <= std) withinOne++;
      }
      const mean = sum / n;
      const sampleStd = Math.sqrt(squares / n - mean * mean);
      console.log(
        `      sample std ${sampleStd.toFixed(5)} vs σ·C = ${std}, mean ${mean.toExponential(2)}`,
      );
      // Standard error of the sample std is std / sqrt(2n) ≈ 0.16 %; allow 4 standard errors.
      expect(Math.abs(sampleStd - std) / std).to.be.below(4 / Math.sqrt(2 * n));
      expect(Math.abs(mean)).to.be.below((4 * std) / Math.sqrt(n));
      expect(withinOne / n).to.be.closeTo(0.6827, 0.005); // Gaussian, not just the right variance
      expect(out.event.noiseMultiplier).to.equal(sigma / 2); // sensitivity 2C
    });

    it('uses cryptographic randomness by default (noise differs run to run, same std)', () => {
      const zero = [
        { name: 'w', dtype: 'F32' as const, shape: [20_000], data: new Float32Array(20_000) },
      ];
      const a = privatiseUpdate(zero, { clipNorm: 1, noiseMultiplier: 2 }).tensors[0]
        ?.data as Float32Array;
      const b = privatiseUpdate(zero, { clipNorm: 1, noiseMultiplier: 2 }).tensors[0]
        ?.data as Float32Array;
      expect(a[0]).to.not.equal(b[0]);
      const std = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
      expect(std).to.be.closeTo(2, 0.06);
      expect(cryptoRandom().uniform()).to.be.within(0, 1);
    });
  });

  describe('DP-SGD', () => {
    before(async () => {
      await useFastestBackend();
    });

    it('computes per-example gradient norms and clipped sums equal to per-example tf.grad', () => {
      const init = (shape: number[], seed: number): tf.Tensor =>
        tf.randomNormal(shape, 0, 0.7, 'float32', seed);
      const layers: DenseVariables[] = [
        {
          kernel: tf.variable(init([5, 4], 1)),
          bias: tf.variable(init([4], 2)),
          activation: 'relu',
        },
        {
          kernel: tf.variable(init([4, 4], 3)),
          bias: tf.variable(init([4], 4)),
          activation: 'tanh',
        },
        {
          kernel: tf.variable(init([4, 3], 5)),
          bias: tf.variable(init([3], 6)),
          activation: 'softmax',
        },
      ];
      const x = init([6, 5], 7) as tf.Tensor2D;
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat() as tf.Tensor2D;
      const clip = 0.8;
      const result = clippedGradientSum(layers, x, y, clip);
      const vars = layers.flatMap((l) => [l.kernel, l.bias]);
      const expectedSums = vars.map((v) => new Float32Array(v.size));
      const norms: number[] = [];
      for (let i = 0; i < 6; i++) {
        const { grads } = tf.variableGrads(() => {
          let a: tf.Tensor = x.slice([i, 0], [1, 5]);
          layers.forEach((l, k) => {
            const z = tf.add(tf.matMul(a as tf.Tensor2D, l.kernel), l.bias);
            a = k === 2 ? z : l.activation === 'relu' ? tf.relu(z) : tf.tanh(z);
          });
          const loss: tf.Scalar = tf.losses.softmaxCrossEntropy(y.slice([i, 0], [1, 3]), a);
          return loss;
        }, vars);
        const g = vars.map((v) => (grads[v.name] as tf.Tensor).dataSync() as Float32Array);
        const norm = Math.sqrt(g.reduce((s, arr) => s + arr.reduce((t, v) => t + v * v, 0), 0));
        norms.push(norm);
        const factor = Math.min(1, clip / (norm + 1e-6));
        g.forEach((arr, k) =>
          arr.forEach(
            (v, j) =>
              ((expectedSums[k] as Float32Array)[j] =
                ((expectedSums[k] as Float32Array)[j] as number) + v * factor),
          ),
        );
        tf.dispose(Object.values(grads));
      }
      const got = Array.from(result.norms.dataSync());
      got.forEach((n, i) =>
        expect(n).to.be.closeTo(norms[i] as number, 1e-4 * Math.max(1, norms[i] as number)),
      );
      result.sums.forEach((s, k) => {
        const values = s.dataSync();
        values.forEach((v, j) =>
          expect(v).to.be.closeTo((expectedSums[k] as Float32Array)[j] as number, 1e-4),
        );
      });
      tf.dispose([...vars, x, y, ...result.sums, result.norms, result.lossSum]);
    });

    it('Poisson-samples batches of the expected size', () => {
      const random = seededRandom(3);
      let total = 0;
      const runs = 2000;
      for (let r = 0; r < runs; r++) {
        const batch = poissonSample(1000, 0.032, random);
        expect(new Set(batch).size).to.equal(batch.length);
        total += batch.length;
      }
      expect(total / runs).to.be.closeTo(32, 0.5);
    });

    it('runs end to end at ε = 1 and reports ε from the accountant', async function () {
      this.timeout(60_000);
      const hospitals = smallHospitals(2000);
      const data = prepareHospitalData({
        csvFile: hospitals.hospitals[1]?.csvFile as string,
        schema: hospitals.schemaFile,
      });
      const spec = referenceModelSpec(data.train.featureDim, data.train.classes.length);
      const started = Date.now();
      const result = await trainLocalRound({
        spec,
        globalTensors: initialModelTensors(spec, 1),
        data,
        runId: 'dp-test',
        round: 0,
        mspId: 'Hospital2MSP',
        epochs: 2,
        dp: { mode: 'dp-sgd', targetEpsilon: 1, delta: 1e-5, plannedRounds: 1, clipNorm: 1 },
      });
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `      DP-SGD on ${result.sampleCount} rows: σ = ${result.dp?.noiseMultiplier.toFixed(3)}, ε = ${result.epsilon?.toFixed(4)}, val loss ${result.metrics.before.loss.toFixed(3)} → ${result.metrics.after.loss.toFixed(3)}, acc ${result.metrics.after.accuracy.toFixed(3)}, ${seconds.toFixed(1)} s`,
      );
      expect(result.epsilon).to.be.within(0.98, 1);
      expect(result.dpAccounting?.mechanism).to.equal('dp-sgd-pld');
      // RDP, the cross-check, is looser: it reads more than the PLD ε for the same σ.
      expect(result.epsilons?.rdp).to.be.greaterThan(result.epsilons?.pld as number);
      expect(result.update.extra['dp.epsilon_spent']).to.equal(result.dpAccounting?.epsilonSpent);
      expect(result.sampleCount).to.equal(data.trainOriginal.rows);
      const decoded = decodeContainer(encodeContainer(result.update));
      checkTensorsMatchSpec(decoded.tensors, spec);
      expect(Number.isFinite(result.metrics.after.loss)).to.equal(true);
      expect(seconds).to.be.below(60);
    });
  });
});
