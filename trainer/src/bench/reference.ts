// The PyTorch / Opacus reference of `npm run bench:train`: the rows, held-out split and initial
// weights written as raw little-endian arrays for scripts/bench/train-reference.py, which runs in
// the virtual environment that `npm run bench:setup` creates (.venv-bench).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import type { Dataset } from '../data/dataset';

/** What the reference trains, besides the data. */
export interface ReferenceSetup {
  spec: ModelSpec;
  initial: readonly Tensor[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  clipNorm: number;
  noiseMultiplier: number;
}

/** One reference measurement. */
export interface ReferenceResult {
  framework: string;
  mode: 'plain' | 'dp-sgd';
  threads: number;
  samplesPerSecond: number;
  heldoutLoss: number;
}

/** Writes what the reference script reads into `folder` (which exists). */
export function writeReferenceInputs(
  folder: string,
  train: Dataset,
  heldout: Dataset,
  setup: Readonly<ReferenceSetup>,
): void {
  const raw = (name: string, data: Float32Array | Int32Array): void =>
    writeFileSync(join(folder, name), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  raw('train-x.f32', train.features);
  raw('train-y.i32', train.labels);
  raw('heldout-x.f32', heldout.features);
  raw('heldout-y.i32', heldout.labels);
  setup.initial.forEach((t, i) =>
    raw(`${i % 2 === 0 ? 'w' : 'b'}${i >> 1}.f32`, Float32Array.from(t.data)),
  );
  const meta = {
    rows: train.rows,
    heldoutRows: heldout.rows,
    featureDim: train.featureDim,
    classes: train.classes.length,
    layers: setup.spec.layers,
    epochs: setup.epochs,
    batchSize: setup.batchSize,
    learningRate: setup.learningRate,
    clipNorm: setup.clipNorm,
    noiseMultiplier: setup.noiseMultiplier,
  };
  writeFileSync(join(folder, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

/** The reference's Python, or why it cannot run (then the bench skips the reference). */
export function referencePython(root: string): { python: string } | { missing: string } {
  const python = join(root, '.venv-bench', 'bin', 'python');
  if (!existsSync(python)) {
    return { missing: `${python} does not exist: run \`npm run bench:setup\` first` };
  }
  const probe = spawnSync(python, ['-c', 'import torch, opacus'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return {
      missing: `${python} cannot import torch and opacus (${probe.stderr.trim().split('\n').pop() ?? ''}): run \`npm run bench:setup\``,
    };
  }
  return { python };
}

/**
 * Runs the reference once and parses its JSON line.
 * @throws {Error} when the script fails or prints something else.
 */
export function runReference(
  python: string,
  script: string,
  folder: string,
  mode: 'plain' | 'dp-sgd',
  threads: number,
): ReferenceResult {
  const threadEnv = String(threads);
  const run = spawnSync(python, [script, folder, '--threads', threadEnv, '--mode', mode], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: threadEnv, MKL_NUM_THREADS: threadEnv },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) {
    throw new Error(`The reference (${mode}, ${threads} thread(s)) failed: ${run.stderr.trim()}`);
  }
  return parseReferenceOutput(run.stdout);
}

/**
 * The result line of the reference's output (its last line that is a JSON object).
 * @throws {Error} when there is none or it lacks a field.
 */
export function parseReferenceOutput(stdout: string): ReferenceResult {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`The reference printed no result: ${stdout.trim()}`);
  const value = JSON.parse(line) as Partial<ReferenceResult>;
  if (
    typeof value.samplesPerSecond !== 'number' ||
    typeof value.heldoutLoss !== 'number' ||
    typeof value.threads !== 'number' ||
    (value.mode !== 'plain' && value.mode !== 'dp-sgd')
  ) {
    throw new Error(`The reference's result lacks a field: ${line}`);
  }
  return value as ReferenceResult;
}
