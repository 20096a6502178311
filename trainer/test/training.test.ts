// Model and training: backends, weights round trip, the pipeline learns, a local round helps.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import {
  checkTensorsMatchSpec,
  decodeContainer,
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  referenceModelSpec,
} from '@fedledger/protocol';
import { prepareHospitalData } from '../src/data/hospital-data';
import { BackendError } from '../src/errors';
import { availableBackends, selectBackend } from '../src/model/backend';
import {
  buildModel,
  getModelTensors,
  initialModelTensors,
  setModelTensors,
} from '../src/model/mlp';
import { classificationMetrics } from '../src/model/metrics';
import { trainCentralisedBaseline } from '../src/training/baseline';
import { trainLocalRound } from '../src/training/local-round';
import type { EpochProgress } from '../src/training/trainer';
import { smallHospitals, useFastestBackend } from './helpers';

describe('model and training', function () {
  this.timeout(120_000);

  describe('backends', () => {
    it('loads wasm and cpu, refuses a missing native backend with a typed error, and auto-selects the fastest', async () => {
      const found = await availableBackends();
      expect(found).to.include.members(['wasm', 'cpu']);
      expect((await selectBackend('cpu')).name).to.equal('cpu');
      if (!found.includes('tensorflow')) {
        let error: unknown;
        await selectBackend('tensorflow').catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(BackendError);
      }
      const auto = await selectBackend('auto');
      expect(auto.name).to.equal(found[0]);
      expect(tf.getBackend()).to.equal(auto.tfBackend);
    });
  });

  describe('weights and metrics', () => {
    before(async () => {
      await useFastestBackend();
    });

    it('loads and reads weights in modelTensorShapes order', () => {
      const spec = referenceModelSpec(7, 3);
      const tensors = initialModelTensors(spec, 'x');
      const model = buildModel(spec);
      setModelTensors(model, spec, [...tensors].reverse());
      const back = getModelTensors(model, spec);
      model.dispose();
      expect(back.map((t) => t.name)).to.deep.equal(modelTensorShapes(spec).map((s) => s.name));
      back.forEach((t, i) =>
        expect(Array.from(t.data)).to.deep.equal(Array.from(tensors[i]?.data ?? [])),
      );
    });

    it('computes loss, accuracy and macro precision/recall/F1', () => {
      const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7]);
      const m = classificationMetrics(probs, Int32Array.from([0, 1, 1, 1]), 2);
      expect(m.accuracy).to.equal(0.75);
      expect(m.confusion).to.deep.equal([
        [1, 0],
        [1, 2],
      ]);
      expect(m.macroPrecision).to.be.closeTo((0.5 + 1) / 2, 1e-12);
      expect(m.macroRecall).to.be.closeTo((1 + 2 / 3) / 2, 1e-12);
      expect(m.macroF1).to.be.closeTo((2 / 3 + 0.8) / 2, 1e-12);
      expect(m.loss).to.be.closeTo(
        -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.7)) / 4,
        1e-6,
      );
    });
  });

  describe('learning on the synthetic hospitals', () => {
    before(async () => {
      await useFastestBackend();
    });

    it('centralised baseline beats the majority-class rate by a clear margin on the test split', async () => {
      const g = smallHospitals(2000);
      const epochs: EpochProgress[] = [];
      const result = await trainCentralisedBaseline({
        data: { csvFile: g.hospitals.map((h) => h.csvFile), schema: g.schemaFile },
        epochs: 4,
        onEpoch: (p) => epochs.push(p),
      });
      console.log(
        `      baseline on ${result.data.trainOriginal.rows} training rows (${tf.getBackend()}): test accuracy ${(result.test.accuracy * 100).toFixed(1)} %, ` +
          `majority class ${(result.majorityRate * 100).toFixed(1)} %, macro F1 ${result.test.macroF1.toFixed(3)}, ${Math.round(result.samplesPerSecond)} samples/s`,
      );
      expect(epochs.map((e) => e.epoch)).to.deep.equal([1, 2, 3, 4]);
      expect(result.test.accuracy).to.be.greaterThan(result.majorityRate + 0.1);
      expect(result.test.macroF1).to.be.greaterThan(0.6);
    });

    it('a local round lowers the validation loss and yields a well-formed update container', async () => {
      const g = smallHospitals(2000);
      const data = prepareHospitalData({
        csvFile: g.hospitals[0]?.csvFile as string,
        schema: g.schemaFile,
      });
      const spec = referenceModelSpec(data.train.featureDim, data.train.classes.length);
      const globalTensors = initialModelTensors(spec, 3);
      const result = await trainLocalRound({
        spec,
        globalTensors,
        data,
        runId: 'run-1',
        round: 2,
        mspId: 'Hospital1MSP',
        epochs: 2,
      });
      console.log(
        `      local round: validation loss ${result.metrics.before.loss.toFixed(4)} → ${result.metrics.after.loss.toFixed(4)}, accuracy ${result.metrics.after.accuracy.toFixed(3)}`,
      );
      expect(result.metrics.after.loss).to.be.lessThan(result.metrics.before.loss);
      const decoded = decodeContainer(encodeContainer(result.update));
      expect(decoded.metadata).to.deep.equal({
        kind: 'update',
        runId: 'run-1',
        round: 2,
        mspId: 'Hospital1MSP',
        sampleCount: data.trainOriginal.rows,
        modelSpecHash: modelSpecHash(spec),
        encoding: 'float32',
      });
      checkTensorsMatchSpec(decoded.tensors, spec);
      expect(result.epsilon).to.equal(undefined);
      // No DP accounting without DP, and the validation metrics stay at the hospital (the
      // default of a run's shared-metrics setting).
      expect(decoded.extra).to.deep.equal({});
      expect(result.sharedMetrics).to.equal(undefined);
    });

    it('shares validation metrics only noised, when the run asks, and composes them into ε', async () => {
      const g = smallHospitals(2000);
      const data = prepareHospitalData({
        csvFile: g.hospitals[0]?.csvFile as string,
        schema: g.schemaFile,
      });
      const spec = referenceModelSpec(data.train.featureDim, data.train.classes.length);
      const common = {
        spec,
        globalTensors: initialModelTensors(spec, 4),
        data,
        runId: 'run-1',
        round: 0,
        mspId: 'Hospital1MSP',
        epochs: 1,
        dp: { mode: 'update' as const, noiseMultiplier: 4, delta: 1e-5, clipNorm: 0.5 },
      };
      const kept = await trainLocalRound(common);
      const noised = await trainLocalRound({
        ...common,
        sharedMetrics: { mode: 'noised', noiseMultiplier: 2 },
      });
      expect(Object.keys(kept.update.extra).filter((k) => k.startsWith('metrics.'))).to.deep.equal(
        [],
      );
      expect(
        Object.keys(noised.update.extra)
          .filter((k) => k.startsWith('metrics.'))
          .sort(),
      ).to.deep.equal([
        'metrics.accuracy',
        'metrics.macro_f1',
        'metrics.macro_precision',
        'metrics.macro_recall',
        'metrics.noise_multiplier',
      ]);
      expect(noised.update.extra['metrics.noise_multiplier']).to.equal('2');
      // The noised release costs privacy: one more Gaussian (σ = 2) in the accountant.
      expect(noised.epsilon).to.be.greaterThan((kept.epsilon as number) + 0.5);
      expect(noised.sharedMetrics?.['accuracy']).to.be.within(0, 1);
    });

    it('update-level DP: clipped and noised Δ, ε from the accountant in the container', async () => {
      const g = smallHospitals(2000);
      const data = prepareHospitalData({
        csvFile: g.hospitals[2]?.csvFile as string,
        schema: g.schemaFile,
      });
      const spec = referenceModelSpec(data.train.featureDim, data.train.classes.length);
      const result = await trainLocalRound({
        spec,
        globalTensors: initialModelTensors(spec, 3),
        data,
        runId: 'run-1',
        round: 0,
        mspId: 'Hospital3MSP',
        epochs: 1,
        dp: { mode: 'update', targetEpsilon: 5, delta: 1e-5, plannedRounds: 3, clipNorm: 0.5 },
      });
      expect(result.epsilon).to.be.within(5 / 3 - 0.5, 5);
      expect(result.update.extra['dp.mechanism']).to.equal('gaussian-update-pld');
      expect(result.update.extra['dp.accountant']).to.equal('pld/connect-the-dots');
      expect(result.update.extra['dp.clip_norm']).to.equal('0.5');
      expect(Number(result.update.extra['dp.epsilon_spent'])).to.be.closeTo(
        result.epsilon as number,
        1e-4,
      );
    });
  });
});
