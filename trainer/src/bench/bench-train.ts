// `npm run bench:train`: local-training throughput of the reference MLP on 50,000 synthetic rows,
// plain and DP-SGD, for fedledger's fused engine and for TensorFlow.js on every backend that loads,
// beside PyTorch (plain) and Opacus (DP-SGD) pinned to 1 and 2 threads, all in one run, with each
// model's loss on a held-out split so that speed is not bought with a worse model.
// Options: --rows N (default 50000), --epochs N (default 1), --threads LIST (default 1,2).
/* eslint-disable no-console -- a benchmark's printed figures are its result. */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { referenceModelSpec } from '@fedledger/protocol';
import { prepareHospitalData } from '../data/hospital-data';
import { dpSgdTrainer } from '../dp/dp-sgd';
import { availableBackends, selectBackend } from '../model/backend';
import { initialModelTensors } from '../model/mlp';
import { generateHospitals } from '../synthetic/generate';
import { evaluateTensors } from '../training/evaluate';
import { trainPlain } from '../training/plain-trainer';
import type { TrainingEngineChoice } from '../training/trainer';
import type { ReferenceResult } from './reference';
import { referencePython, runReference, writeReferenceInputs } from './reference';

const ROOT = resolve(__dirname, '..', '..', '..', '..');
const CLIP_NORM = 1;
const NOISE_MULTIPLIER = 1;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer.`);
  return value;
}

function threadList(): number[] {
  const at = process.argv.indexOf('--threads');
  const text = at === -1 ? '1,2' : (process.argv[at + 1] ?? '');
  const list = text.split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isSafeInteger(n) || n < 1))
    throw new Error('--threads must be a comma-separated list of positive integers, e.g. 1,2.');
  return list;
}

/** One line of the table. */
interface Row {
  name: string;
  threads: number;
  plain: number;
  dpSgd: number;
  plainLoss: number;
  dpSgdLoss: number;
}

async function bench(): Promise<void> {
  const rows = option('rows', 50_000);
  const epochs = option('epochs', 1);
  const threads = threadList();
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
  const heldout = data.test;
  console.log(
    `data: ${train.rows} training rows × ${train.featureDim} features, ${heldout.rows} held-out rows (generated and prepared in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the start`,
  );
  const spec = referenceModelSpec(train.featureDim, train.classes.length);
  const initial = initialModelTensors(spec, 1);
  const table: Row[] = [];
  const measure = async (name: string, engine: TrainingEngineChoice): Promise<Row> => {
    const plain = await trainPlain(spec, initial, train, { epochs, engine });
    const dp = await dpSgdTrainer({ clipNorm: CLIP_NORM, noiseMultiplier: NOISE_MULTIPLIER })(
      spec,
      initial,
      train,
      { epochs, engine },
    );
    const row: Row = {
      name: `fedledger ${name === 'fused' ? 'fused' : plain.engine}`,
      threads: 1,
      plain: plain.samplesPerSecond,
      dpSgd: dp.samplesPerSecond,
      plainLoss: evaluateTensors(spec, plain.tensors, heldout).loss,
      dpSgdLoss: evaluateTensors(spec, dp.tensors, heldout).loss,
    };
    printRow(row);
    return row;
  };

  const backends = await availableBackends();
  console.log(`TensorFlow.js backends that load: ${backends.join(', ')}`);
  await selectBackend('auto');
  printHeader();
  const fused = await measure('fused', 'fused');
  table.push(fused);
  for (const backend of backends) {
    await selectBackend(backend);
    table.push(await measure(backend, 'tfjs'));
  }

  const python = referencePython(ROOT);
  const references: { threads: number; plain: ReferenceResult; dpSgd: ReferenceResult }[] = [];
  if ('missing' in python) {
    console.log(`PyTorch reference skipped: ${python.missing}`);
  } else {
    const folder = mkdtempSync(join(tmpdir(), 'fedledger-bench-ref-'));
    writeReferenceInputs(folder, train, heldout, {
      spec,
      initial,
      epochs,
      batchSize: 32,
      learningRate: 0.001,
      clipNorm: CLIP_NORM,
      noiseMultiplier: NOISE_MULTIPLIER,
    });
    const script = join(ROOT, 'scripts', 'bench', 'train-reference.py');
    for (const n of threads) {
      const plain = runReference(python.python, script, folder, 'plain', n);
      const dpSgd = runReference(python.python, script, folder, 'dp-sgd', n);
      references.push({ threads: n, plain, dpSgd });
      const row: Row = {
        name: `${plain.framework} / opacus`,
        threads: n,
        plain: plain.samplesPerSecond,
        dpSgd: dpSgd.samplesPerSecond,
        plainLoss: plain.heldoutLoss,
        dpSgdLoss: dpSgd.heldoutLoss,
      };
      table.push(row);
      printRow(row);
    }
    console.log('');
    for (const r of references) {
      console.log(
        `fedledger fused (1 thread) / PyTorch (${r.threads} thread${r.threads > 1 ? 's' : ''}): plain ×${(fused.plain / r.plain.samplesPerSecond).toFixed(2)}   DP-SGD (Opacus) ×${(fused.dpSgd / r.dpSgd.samplesPerSecond).toFixed(2)}`,
      );
    }
  }
  console.log(
    JSON.stringify(
      {
        rows: train.rows,
        heldoutRows: heldout.rows,
        epochs,
        batchSize: 32,
        parameters: initial.reduce((n, t) => n + t.data.length, 0),
        dp: { clipNorm: CLIP_NORM, noiseMultiplier: NOISE_MULTIPLIER },
        results: table.map((r) => ({
          ...r,
          plain: Math.round(r.plain),
          dpSgd: Math.round(r.dpSgd),
          plainLoss: Number(r.plainLoss.toFixed(4)),
          dpSgdLoss: Number(r.dpSgdLoss.toFixed(4)),
        })),
      },
      null,
      2,
    ),
  );
}

function printHeader(): void {
  console.log(
    `${'trainer'.padEnd(28)} ${'threads'.padStart(7)} ${'plain samples/s'.padStart(16)} ${'DP-SGD samples/s'.padStart(17)} ${'plain held-out loss'.padStart(20)} ${'DP-SGD held-out loss'.padStart(21)}`,
  );
}

function printRow(r: Row): void {
  console.log(
    `${r.name.padEnd(28)} ${String(r.threads).padStart(7)} ${Math.round(r.plain).toLocaleString('en-US').padStart(16)} ${Math.round(r.dpSgd).toLocaleString('en-US').padStart(17)} ${r.plainLoss.toFixed(4).padStart(20)} ${r.dpSgdLoss.toFixed(4).padStart(21)}`,
  );
}

bench().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
