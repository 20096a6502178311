// Growth benchmark (npm run bench:scale): how a round's time and the gateway's memory grow with
// the number of hospitals. For each hospital count n and each update size, one gateway process
// of its own runs one round in which every one of the n hospitals submits (scale-round.ts), and
// the table gives upload (first upload → last commit), close (last commit → next round open)
// split into deciding, CloseRound and OpenRound, the round time, the gateway's peak resident set,
// each as a ratio to n = 3 in the same run, and the step that takes longest.
//
// Usage: node scripts/dist/bench/bench-scale.js [--ledger simulated|fabric] [--hospitals 3,10,…]
//          [--models light,reference] [--concurrency 32] [--json FILE]
// Simulated (default): n = 3, 10, 30, 100, 300, 1000. Fabric (network up first, e.g.
// scripts/network.sh up --hospitals 12): n = 3 and the network's hospital count.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { ModelSpec } from '@fedledger/protocol';
import { referenceModelSpec } from '@fedledger/protocol';
import { defaultNetworkDir } from '@fedledger/gateway';
import type { ScaleRoundResult } from './scale-round';
import { measureRound } from './scale-round';

const MODELS: Record<string, ModelSpec> = {
  // A light synthetic update: 43 parameters, a few hundred bytes.
  light: {
    name: 'light',
    inputDim: 4,
    layers: [
      { units: 5, activation: 'relu' },
      { units: 3, activation: 'softmax' },
    ],
  },
  // The reference MLP on the synthetic hospitals' 66 features: 19,011 parameters, 76 KB.
  reference: referenceModelSpec(66, 3),
};

interface Options {
  ledger: 'simulated' | 'fabric';
  hospitals?: number[];
  models: string[];
  concurrency: number;
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { ledger: 'simulated', models: ['light', 'reference'], concurrency: 32 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--ledger') {
      if (value !== 'simulated' && value !== 'fabric')
        throw new Error('--ledger must be simulated or fabric');
      options.ledger = value;
    } else if (flag === '--hospitals') options.hospitals = value.split(',').map(Number);
    else if (flag === '--models') options.models = value.split(',');
    else if (flag === '--concurrency') options.concurrency = Number(value);
    else if (flag === '--json') options.json = value;
    else throw new Error(`unknown argument ${String(flag)}; see the header of bench-scale.ts`);
  }
  const positive = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (options.hospitals && !options.hospitals.every(positive)) {
    throw new Error('--hospitals must be a comma-separated list of positive integers');
  }
  if (!positive(options.concurrency)) throw new Error('--concurrency must be a positive integer');
  for (const m of options.models) {
    if (!MODELS[m]) throw new Error(`--models: unknown model "${m}" (light, reference)`);
  }
  return options;
}

/** The hospital identities in a Fabric network's connection.json. */
function networkHospitals(dir: string): number {
  const profile = JSON.parse(readFileSync(join(dir, 'connection.json'), 'utf8')) as {
    identities: Record<string, unknown>;
  };
  return Object.keys(profile.identities).filter((n) => /^hospital\d+$/.test(n)).length;
}

const fixed = (x: number, digits = 2): string => x.toFixed(digits);
const ratio = (x: number, base: number | undefined): string =>
  base && base > 0 ? `×${(x / base).toFixed(1)}` : '-';

function dominant(r: ScaleRoundResult): string {
  const steps: [string, number][] = [
    ['upload', r.uploadS],
    ['decide', r.decideS],
    ['CloseRound', r.closeRoundS],
    ['OpenRound', r.openRoundS],
  ];
  return steps.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}

function table(results: readonly ScaleRoundResult[]): string {
  const header = [
    'model',
    'n',
    'upload s',
    'close s',
    '(decide',
    'Close',
    'Open)',
    'round s',
    'round/n=3',
    'close/n=3',
    'peak RSS MiB',
    'RSS/n=3',
    'close +MiB',
    'dominant',
  ];
  const rows = results.map((r) => {
    const base = results.find((b) => b.model === r.model && b.hospitals === 3);
    return [
      `${r.model} (${r.parameters.toLocaleString('en')} p)`,
      String(r.hospitals),
      fixed(r.uploadS),
      fixed(r.closeS),
      fixed(r.decideS),
      fixed(r.closeRoundS),
      fixed(r.openRoundS),
      fixed(r.roundS),
      ratio(r.roundS, base?.roundS),
      ratio(r.closeS, base?.closeS),
      fixed(r.peakRssMiB, 0),
      ratio(r.peakRssMiB, base?.peakRssMiB),
      fixed(Math.max(0, r.closePeakRssMiB - r.rssAtCloseMiB), 0),
      dominant(r),
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Close time against n: the largest growth per hospital added, relative to n = 3. */
function growthLines(results: readonly ScaleRoundResult[]): string[] {
  const lines: string[] = [];
  for (const model of new Set(results.map((r) => r.model))) {
    const rows = results.filter((r) => r.model === model);
    const base = rows.find((r) => r.hospitals === 3);
    const last = rows[rows.length - 1];
    if (!base || !last || last === base) continue;
    const closeGrowth = last.closeS / base.closeS;
    const nGrowth = last.hospitals / base.hospitals;
    lines.push(
      `${model}: n ×${fixed(nGrowth, 0)} (3 → ${last.hospitals}): close ×${fixed(closeGrowth, 1)} (${closeGrowth <= nGrowth ? 'at most linear' : 'MORE than linear'}), round ×${fixed(last.roundS / base.roundS, 1)}, gateway peak RSS ×${fixed(last.peakRssMiB / base.peakRssMiB, 2)} (${fixed(base.peakRssMiB, 0)} → ${fixed(last.peakRssMiB, 0)} MiB)`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const networkDir = defaultNetworkDir();
  const counts =
    options.hospitals ??
    (options.ledger === 'fabric'
      ? [...new Set([3, networkHospitals(networkDir)])]
      : [3, 10, 30, 100, 300, 1000]);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `bench:scale on the ${options.ledger === 'fabric' ? `Fabric network in ${networkDir}` : 'SIMULATED ledger (in the gateway process)'}; ` +
      `${cpus().length} × ${cpu}, ${fixed(totalmem() / 2 ** 30, 0)} GiB; ${options.concurrency} submissions in flight; ` +
      `one round per row, every hospital submitting one update (offline-signed), a gateway process per row\n\n`,
  );
  const results: ScaleRoundResult[] = [];
  const pkiRoot = resolve('.fedledger', 'bench-scale-pki');
  for (const model of options.models) {
    for (const n of counts) {
      const result = await measureRound({
        ledger: options.ledger,
        hospitals: n,
        model: { label: model, spec: MODELS[model] as ModelSpec },
        concurrency: options.concurrency,
        ...(options.ledger === 'fabric' ? { networkDir } : { pkiDir: join(pkiRoot, String(n)) }),
      });
      results.push(result);
      process.stdout.write(
        `  ${model}, n = ${n}: round ${fixed(result.roundS)} s (upload ${fixed(result.uploadS)}, close ${fixed(result.closeS)}), gateway peak RSS ${fixed(result.peakRssMiB, 0)} MiB\n`,
      );
    }
  }
  process.stdout.write(`\n${table(results)}\n\n${growthLines(results).join('\n')}\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:scale: ${(err as Error).message}\n`);
  process.exit(1);
});
