// `npm run bench:secagg`: the cost of pairwise-masked secure aggregation against plaintext FedAvg,
// measured in one run, for n = 3, 10 and 50 simulated hospitals and the reference update (19,011
// parameters) and a 1M-parameter update: client masking vs encoding the float32 container, the
// gateway's unmasking (all surviving, one dropped) vs the plaintext weighted sum, and bytes per
// hospital vs the float32 container; CKKS encryption figures beside for the same sizes. Each
// figure is a median; repetitions shrink for the larger cases to keep the run short on 2 cores.
// Then a whole round at n = 3 for the reference update: one hospital's local round, trained once
// in the same run with the demo's defaults (local-round.ts), plus each side's steps per hospital
// (round-overhead.ts), and the ledger transactions either round takes, counted.
//
// Usage: node scripts/dist/bench/bench-secagg.js [--json FILE]
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { modelSpecHash, parameterCount, referenceModelSpec } from '@fedledger/protocol';
import {
  CKKS_PARAMS,
  aggregateEncrypted,
  encryptUpdate,
  generateSecretKey,
  releaseSealRuntimes,
} from '@fedledger/protocol/ckks';
import { parseOptions as demoOptions } from '../demo/demo-options';
import type { LocalRoundFigures } from './local-round';
import { measureLocalRound } from './local-round';
import type { RoundOverhead } from './round-overhead';
import { ROUND_OVERHEAD_TARGET, roundOverhead, roundTransactions } from './round-overhead';
import type { SecAggRoundFigures } from './secagg-round';
import { measureSecAggRound, medianMs, updateVector } from './secagg-round';

const spec = referenceModelSpec(66, 3);
const REFERENCE = parameterCount(spec);
const LARGE = 1_000_000;
const HOSPITALS = [3, 10, 50];
/** Timed repetitions by (parameters, hospitals). */
const RUNS: Record<number, Record<number, number>> = {
  [REFERENCE]: { 3: 7, 10: 5, 50: 3 },
  [LARGE]: { 3: 3, 10: 1, 50: 1 },
};

interface CkksFigures {
  parameters: number;
  encryptMs: number;
  aggregate3Ms: number;
  ciphertextBytes: number;
}

function progress(line: string): void {
  process.stderr.write(`bench:secagg: ${line}\n`);
}

async function measureCkks(
  parameters: number,
  runs: number,
  key: Uint8Array,
): Promise<CkksFigures> {
  const counts = [1200, 800, 2000];
  const metadata = (k: number) => ({
    kind: 'update' as const,
    runId: 'bench',
    round: 1,
    mspId: `Hospital${k + 1}MSP`,
    sampleCount: counts[k] as number,
    modelSpecHash: modelSpecHash(spec),
  });
  const updates = counts.map((_, k) => updateVector(parameters, k + 1));
  const encrypt = (k: number) =>
    encryptUpdate({
      params: CKKS_PARAMS,
      secretKey: key,
      flat: updates[k] as Float32Array,
      metadata: metadata(k),
    });
  progress(`CKKS P=${parameters}: encrypting (${runs} runs)`);
  const [encryptMs, first] = await medianMs(runs, () => encrypt(0));
  const inputs = [{ bytes: first, sampleCount: counts[0] as number }];
  for (const k of [1, 2])
    inputs.push({ bytes: await encrypt(k), sampleCount: counts[k] as number });
  progress(`CKKS P=${parameters}: aggregating 3 (${runs} runs)`);
  const [aggregate3Ms] = await medianMs(runs, () =>
    aggregateEncrypted(CKKS_PARAMS, inputs, {
      runId: 'bench',
      round: 2,
      modelSpecHash: modelSpecHash(spec),
    }),
  );
  return { parameters, encryptMs, aggregate3Ms, ciphertextBytes: first.length };
}

const ms = (x: number): string => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(2)} ms`);
const kb = (x: number): string => `${(x / 1024).toFixed(1)} KiB`;
const times = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

function table(figures: readonly SecAggRoundFigures[], ckks: CkksFigures): string[] {
  const p = figures[0]?.parameters ?? 0;
  const rows: [string, (f: SecAggRoundFigures) => string][] = [
    [
      'client mask (q+deal+mask)',
      (f) => `${ms(f.clientMaskMs)} ${times(f.clientMaskMs, f.plainClientMs)}`,
    ],
    ['  plaintext: encode f32', (f) => ms(f.plainClientMs)],
    ['  encode masked I32', (f) => ms(f.maskedEncodeMs)],
    ['  open n shares + reveal', (f) => ms(f.clientOpenRevealMs)],
    ['gateway unmask, all in', (f) => `${ms(f.unmaskMs)} ${times(f.unmaskMs, f.plainSumMs)}`],
    [
      'gateway unmask, 1 dropped',
      (f) => `${ms(f.unmaskDroppedMs)} ${times(f.unmaskDroppedMs, f.plainSumMs)}`,
    ],
    ['  plaintext: FedAvg sum', (f) => ms(f.plainSumMs)],
    ['bytes per hospital', (f) => `${kb(f.secaggBytes)} ${times(f.secaggBytes, f.plainBytes)}`],
    ['  masked container', (f) => kb(f.maskedContainerBytes)],
    ['  share bundle + reveal', (f) => `${f.bundleBytes} + ${f.revealBytes} B`],
    ['  plaintext container', (f) => kb(f.plainBytes)],
    ['threshold t', (f) => String(f.threshold)],
    [
      'max error / bound',
      (f) => `${f.maxAbsError.toExponential(1)}/${f.errorBound.toExponential(1)}`,
    ],
  ];
  const width = [27, ...figures.map(() => 22)];
  const row = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join(' ');
  const plain = figures[0];
  return [
    `P = ${p.toLocaleString('en')} parameters (figure, then its ratio to plaintext)`,
    row(['metric', ...figures.map((f) => `n = ${f.hospitals}`)]),
    ...rows.map(([label, value]) => row([label, ...figures.map(value)])),
    `CKKS beside (N=${CKKS_PARAMS.polyModulusDegree}): encrypt ${ms(ckks.encryptMs)}` +
      (plain ? ` (${times(ckks.encryptMs, plain.plainClientMs)} plaintext)` : '') +
      `, aggregate 3 ${ms(ckks.aggregate3Ms)}, ciphertext ${kb(ckks.ciphertextBytes)}` +
      (plain ? ` (${times(ckks.ciphertextBytes, plain.plainBytes)} plaintext)` : ''),
  ];
}

/** The whole-round lines: both rounds per hospital, their ratio, the computation-only ratio. */
function roundLines(
  local: LocalRoundFigures,
  ref: SecAggRoundFigures,
  round: RoundOverhead,
  dpSgd: RoundOverhead | undefined,
  demo: { epsilon: number; delta: number; rounds: number },
): string[] {
  const n = ref.hospitals;
  const verdict = (r: RoundOverhead): string =>
    `${r.ratio.toFixed(3)}× (${ms(r.secaggRoundMs - r.plainRoundMs)} added per hospital): ` +
    `${r.meetsTarget ? 'meets' : 'does NOT meet'} ≤ ${ROUND_OVERHEAD_TARGET}×`;
  const tx = roundTransactions(n);
  return [
    `Whole round at n = ${n} for the reference update, per hospital. Local round: the trainer's ` +
      `trainLocalRound with the demo's defaults (${local.patients.toLocaleString('en')} patients, ` +
      `${local.epochs} local epochs, plain training on ${local.trainRows.toLocaleString('en')} ` +
      `rows per epoch, ${local.sampleCount.toLocaleString('en')} samples), fused engine, ` +
      `evaluations on ${local.backend}; measured once in this run`,
    `  plaintext round = training + encode f32 + FedAvg sum/${n} = ${ms(round.trainingMs)} + ` +
      `${ms(ref.plainClientMs)} + ${ms(ref.plainSumMs / n)} = ${ms(round.plainRoundMs)}`,
    `  secagg round    = training + mask (q+deal+mask) + encode I32 + open shares & reveal + ` +
      `unmask/${n} = ${ms(round.trainingMs)} + ${ms(ref.clientMaskMs)} + ` +
      `${ms(ref.maskedEncodeMs)} + ${ms(ref.clientOpenRevealMs)} + ${ms(ref.unmaskMs / n)} = ` +
      `${ms(round.secaggRoundMs)}`,
    `  round overhead  = ${verdict(round)}`,
    ...(dpSgd
      ? [
          `  with the demo's DP-SGD training instead (ε = ${demo.epsilon}, δ = ${demo.delta}, ` +
            `${demo.rounds} rounds): training ${ms(dpSgd.trainingMs)}, round overhead ${verdict(dpSgd)}`,
        ]
      : []),
    `  computation only, the cryptography against the plaintext encode+sum step alone (not a ` +
      `round): (client mask + gateway unmask) / (encode f32 container + FedAvg sum) = ` +
      `(${ms(ref.clientMaskMs)} + ${ms(ref.unmaskMs)}) / (${ms(ref.plainClientMs)} + ` +
      `${ms(ref.plainSumMs)}) = ${round.computeRatio.toFixed(1)}×`,
    `Ledger per round at n = ${n} (counted from n, not timed): plaintext ${tx.plaintext} ` +
      `transactions (SubmitUpdate ×${n}, CloseRound, OpenRound); secagg adds AdvertiseKeys ×${n} ` +
      `(each hospital-signed) and BeginMasking, BeginUnmasking (coordinator) = ${tx.secagg} ` +
      `(${times(tx.secagg, tx.plaintext)}); share bundles and reveals go through the gateway`,
  ];
}

async function bench(json?: string): Promise<void> {
  const started = performance.now();
  // The demo's defaults, from its own option parser, so the round timed is the one users run.
  const demo = demoOptions([]);
  const local = await measureLocalRound({
    patients: demo.patients,
    epochs: demo.epochs,
    seed: demo.seed,
    dpSgd: { targetEpsilon: demo.epsilon, delta: demo.delta, plannedRounds: demo.rounds },
    progress,
  });
  if (local.parameters !== REFERENCE) {
    throw new Error(
      `the synthetic hospital trains ${local.parameters} parameters, not the reference ${REFERENCE}`,
    );
  }
  const results: Record<number, SecAggRoundFigures[]> = {};
  const ckks: Record<number, CkksFigures> = {};
  const key = await generateSecretKey(CKKS_PARAMS);
  for (const parameters of [REFERENCE, LARGE]) {
    results[parameters] = [];
    for (const hospitals of HOSPITALS) {
      const runs = RUNS[parameters]?.[hospitals] ?? 1;
      results[parameters].push(await measureSecAggRound({ hospitals, parameters, runs, progress }));
    }
    ckks[parameters] = await measureCkks(parameters, parameters === LARGE ? 1 : 5, key);
  }
  await releaseSealRuntimes();
  console.log('Secure aggregation (pairwise masks, double masking) against plaintext FedAvg');
  const runsOf = (p: number): string => HOSPITALS.map((n) => RUNS[p]?.[n] ?? 1).join('/');
  console.log(
    `medians of ${runsOf(REFERENCE)} runs (n = ${HOSPITALS.join('/')}) at P = ${REFERENCE} and ` +
      `${runsOf(LARGE)} at 1M; CKKS: 5 runs at P = ${REFERENCE}, 1 at 1M`,
  );
  for (const parameters of [REFERENCE, LARGE]) {
    console.log('');
    for (const line of table(results[parameters] ?? [], ckks[parameters] as CkksFigures))
      console.log(line);
  }
  const ref = results[REFERENCE]?.[0] as SecAggRoundFigures;
  const round = roundOverhead(ref, local.plainMs);
  const dpSgd = local.dpSgdMs === undefined ? undefined : roundOverhead(ref, local.dpSgdMs);
  console.log('');
  for (const line of roundLines(local, ref, round, dpSgd, demo)) console.log(line);
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  const summary = {
    results,
    ckks,
    localRound: local,
    round,
    ...(dpSgd ? { roundDpSgd: dpSgd } : {}),
    transactions: roundTransactions(ref.hospitals),
    meetsTwoTimes: round.meetsTarget,
    seconds,
  };
  console.log(JSON.stringify(summary));
  if (json) writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`);
}

const args = process.argv.slice(2);
if (args.length > 0 && (args[0] !== '--json' || args.length !== 2)) {
  console.error('usage: bench-secagg.js [--json FILE]');
  process.exitCode = 2;
} else {
  bench(args[1]).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
