// `npm run bench:train`: local-training throughput of the reference MLP on 50,000 synthetic rows
// for every TensorFlow.js backend that loads here, and DP-SGD's cost relative to plain training,
// all measured in one run. Options: --rows N (default 50000), --epochs N (default 1).
/* eslint-disable no-console -- a benchmark's printed figures are its result. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceModelSpec } from '@fedledger/protocol';
import { prepareHospitalData } from '../data/hospital-data';
import { dpSgdTrainer } from '../dp/dp-sgd';
import { availableBackends, selectBackend } from '../model/backend';
import { initialModelTensors } from '../model/mlp';
import { generateHospitals } from '../synthetic/generate';
import { trainPlain } from '../training/plain-trainer';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer.`);
  return value;
}

async function bench(): Promise<void> {
  const rows = option('rows', 50_000);
  const epochs = option('epochs', 1);
  const started = Date.now();
  // 80 % of a hospital's rows form its training split, so generate enough for `rows` training rows.
  const generated = generateHospitals({
    outDir: mkdtempSync(join(tmpdir(), 'fedledger-bench-')),
    patientsPerHospital: Math.ceil(rows / 0.8),
  });
  const data = prepareHospitalData({
    csvFile: generated.hospitals[0]?.csvFile as string,
    schema: generated.schemaFile,
    oversample: false,
  });
  const train = data.trainOriginal;
  console.log(
    `data: ${train.rows} training rows × ${train.featureDim} features (generated and prepared in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  const spec = referenceModelSpec(train.featureDim, train.classes.length);
  const initial = initialModelTensors(spec, 1);
  const backends = await availableBackends();
  console.log(`backends that load: ${backends.join(', ')}`);
  const results: { backend: string; plain: number; dpSgd: number }[] = [];
  for (const backend of backends) {
    await selectBackend(backend);
    const plain = await trainPlain(spec, initial, train, { epochs });
    const dp = await dpSgdTrainer({ clipNorm: 1, noiseMultiplier: 1 })(spec, initial, train, {
      epochs,
    });
    results.push({ backend, plain: plain.samplesPerSecond, dpSgd: dp.samplesPerSecond });
    console.log(
      `${backend.padEnd(14)} plain ${Math.round(plain.samplesPerSecond).toString().padStart(7)} samples/s   DP-SGD ${Math.round(dp.samplesPerSecond).toString().padStart(7)} samples/s   DP-SGD cost ×${(plain.samplesPerSecond / dp.samplesPerSecond).toFixed(2)}`,
    );
  }
  const best = results.reduce((a, b) => (b.plain > a.plain ? b : a));
  console.log(
    JSON.stringify(
      {
        rows: train.rows,
        epochs,
        batchSize: 32,
        parameters: initial.reduce((n, t) => n + t.data.length, 0),
        results: results.map((r) => ({
          ...r,
          plain: Math.round(r.plain),
          dpSgd: Math.round(r.dpSgd),
          dpSgdCostRatio: Number((r.plain / r.dpSgd).toFixed(2)),
        })),
        fastest: best.backend,
      },
      null,
      2,
    ),
  );
}

bench().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
