// `npm run bench:he`: cost of CKKS-encrypted FedAvg against plaintext FedAvg, measured in one run,
// for the reference update (19,011 parameters) and a 1M-parameter update: encrypt one update,
// aggregate three, decrypt the aggregate (medians of several runs), ciphertext size against the
// float32 container, and the largest error of the decrypted mean. Targets apply to the reference.
/* eslint-disable no-console -- a benchmark's printed figures are its result. */
import { performance } from 'node:perf_hooks';
import { encodeContainer, modelSpecHash, parameterCount, referenceModelSpec } from '../src';
import {
  CKKS_PARAMS,
  aggregateEncrypted,
  decryptAggregate,
  encryptUpdate,
  generateSecretKey,
  releaseSealRuntimes,
  sealHeapBytes,
} from '../src/ckks';

const params = CKKS_PARAMS;
const SAMPLE_COUNTS = [1200, 800, 2000];
const spec = referenceModelSpec(66, 3);
const specHash = modelSpecHash(spec);

interface Figures {
  parameters: number;
  encryptMs: number;
  aggregateMs: number;
  decryptMs: number;
  plainFedAvgMs: number;
  updateBytes: number;
  plainBytes: number;
  aggregateBytes: number;
  maxAbsError: number;
}

/** Deterministic update-like values in [-1, 1] (xorshift, so the run is reproducible). */
function updateVector(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 0xffffffff) * 2 - 1;
  }
  return out;
}

async function medianMs<T>(runs: number, work: () => Promise<T> | T): Promise<[number, T]> {
  const times: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    last = await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return [times[Math.floor(times.length / 2)] as number, last as T];
}

function plainFedAvg(updates: readonly Float32Array[], counts: readonly number[]): Float64Array {
  const total = counts.reduce((a, b) => a + b, 0);
  const out = new Float64Array(updates[0]?.length ?? 0);
  updates.forEach((u, k) => {
    const w = (counts[k] as number) / total;
    for (let i = 0; i < u.length; i++) out[i] = (out[i] as number) + w * (u[i] as number);
  });
  return out;
}

function meta(k: number) {
  return {
    kind: 'update' as const,
    runId: 'bench',
    round: 1,
    mspId: `Hospital${k + 1}MSP`,
    sampleCount: SAMPLE_COUNTS[k] as number,
    modelSpecHash: specHash,
  };
}

async function measure(parameters: number, runs: number, key: Uint8Array): Promise<Figures> {
  const updates = SAMPLE_COUNTS.map((_, k) => updateVector(parameters, k + 1));
  const encrypted: Uint8Array[] = [];
  for (const [k, flat] of updates.entries()) {
    encrypted.push(await encryptUpdate({ params, secretKey: key, flat, metadata: meta(k) }));
  }
  const [encryptMs] = await medianMs(runs, () =>
    encryptUpdate({ params, secretKey: key, flat: updates[0] as Float32Array, metadata: meta(0) }),
  );
  const inputs = encrypted.map((bytes, k) => ({ bytes, sampleCount: SAMPLE_COUNTS[k] as number }));
  const aggregateMeta = { runId: 'bench', round: 2, modelSpecHash: specHash };
  const [aggregateMs, aggregate] = await medianMs(runs, () =>
    aggregateEncrypted(params, inputs, aggregateMeta),
  );
  const [decryptMs, decrypted] = await medianMs(runs, () =>
    decryptAggregate(params, key, aggregate),
  );
  const [plainFedAvgMs, expected] = await medianMs(runs, () => plainFedAvg(updates, SAMPLE_COUNTS));
  let maxAbsError = 0;
  for (let i = 0; i < parameters; i++) {
    maxAbsError = Math.max(
      maxAbsError,
      Math.abs((decrypted[i] as number) - (expected[i] as number)),
    );
  }
  const plainBytes = encodeContainer({
    metadata: { ...meta(0), encoding: 'float32' },
    extra: {},
    tensors: [
      { name: 'update', dtype: 'F32', shape: [parameters], data: updates[0] as Float32Array },
    ],
  }).length;
  return {
    parameters,
    encryptMs,
    aggregateMs,
    decryptMs,
    plainFedAvgMs,
    updateBytes: (encrypted[0] as Uint8Array).length,
    plainBytes,
    aggregateBytes: aggregate.length,
    maxAbsError,
  };
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join('  ');
}

async function bench(): Promise<void> {
  const started = performance.now();
  const key = await generateSecretKey(params);
  const referenceCount = parameterCount(spec);
  const reference = await measure(referenceCount, 7, key);
  const large = await measure(1_000_000, 3, key);
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const ratio = (f: Figures): number => f.updateBytes / f.plainBytes;
  const lines: { metric: string; value: (f: Figures) => string; target: string; pass?: boolean }[] =
    [
      {
        metric: 'encrypt one update',
        value: (f) => ms(f.encryptMs),
        target: '≤ 100 ms',
        pass: reference.encryptMs <= 100,
      },
      {
        metric: 'aggregate 3 (encrypted)',
        value: (f) => ms(f.aggregateMs),
        target: '≤ 100 ms',
        pass: reference.aggregateMs <= 100,
      },
      {
        metric: 'decrypt aggregate',
        value: (f) => ms(f.decryptMs),
        target: '≤ 50 ms',
        pass: reference.decryptMs <= 50,
      },
      { metric: 'plaintext FedAvg of 3', value: (f) => ms(f.plainFedAvgMs), target: '' },
      { metric: 'update bytes (ckks)', value: (f) => String(f.updateBytes), target: '' },
      { metric: 'update bytes (float32)', value: (f) => String(f.plainBytes), target: '' },
      {
        metric: 'ciphertext / plaintext',
        value: (f) => `${ratio(f).toFixed(2)}×`,
        target: '≤ 12×',
        pass: ratio(reference) <= 12,
      },
      { metric: 'aggregate bytes (ckks)', value: (f) => String(f.aggregateBytes), target: '' },
      {
        metric: 'max abs error of mean',
        value: (f) => f.maxAbsError.toExponential(2),
        target: '≤ 1e-6',
        pass: reference.maxAbsError <= 1e-6,
      },
    ];
  const widths = [24, 14, 14, 9, 6];
  console.log(
    `CKKS N=${params.polyModulusDegree}, moduli [${params.coeffModulusBits.join(', ')}], scale 2^${params.scaleBits}; medians of 7 (reference) and 3 (1M) runs`,
  );
  console.log(row(['metric', `${referenceCount} params`, '1M params', 'target', 'result'], widths));
  for (const line of lines) {
    const result = line.pass === undefined ? '' : line.pass ? 'pass' : 'FAIL';
    console.log(
      row([line.metric, line.value(reference), line.value(large), line.target, result], widths),
    );
  }
  const failed = lines.filter((l) => l.pass === false).map((l) => l.metric);
  console.log(
    JSON.stringify({
      reference,
      large,
      sealHeapBytes: sealHeapBytes() ?? null,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      failed,
    }),
  );
  await releaseSealRuntimes();
  if (failed.length > 0) process.exitCode = 1;
}

bench().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
