// The demo's command line: options, their checks, and Node's parseArgs messages said plainly.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeParseArgsError } from '@fedledger/gateway';

/** How the hospitals' updates are protected from the gateway, beside DP (on in every mode). */
export type Protection = 'plaintext' | 'ckks' | 'secagg';

/**
 * Every protection the demo knows, in the order --help lists them, and whether it can run it yet.
 * Making secure aggregation available is its entry's `available` (and its steps in
 * demo-protection.ts).
 */
export const PROTECTIONS: Readonly<Record<Protection, { available: boolean; summary: string }>> = {
  plaintext: { available: true, summary: 'plaintext updates, DP-noised' },
  ckks: { available: true, summary: 'CKKS-encrypted updates; the gateway sums ciphertexts' },
  secagg: {
    available: true,
    summary:
      'masked updates (secure aggregation, keys on the ledger); the gateway sums masked words',
  },
};

export interface DemoOptions {
  ledger: 'fabric' | 'simulated';
  /** How updates are protected from the gateway (default plaintext). */
  protection: Protection;
  /** How many synthetic hospitals train (default 3); on Fabric, the network's hospitals. */
  hospitals: number;
  rounds: number;
  epochs: number;
  patients: number;
  epsilon: number;
  delta: number;
  seed: number;
  /** The folder that holds one report folder per run (`<out>/<run-id>/`) and `<out>/latest`. */
  out: string;
  keepNetwork: boolean;
  runId: string;
}

const AVAILABLE = (Object.keys(PROTECTIONS) as Protection[]).filter(
  (p) => PROTECTIONS[p].available,
);

export const USAGE = `Usage: npm run demo -- [--ledger fabric|simulated] [--protection ${AVAILABLE.join('|')}]
       [--hospitals 3] [--rounds 10] [--epochs 5] [--patients 50000] [--epsilon 1] [--delta 1e-5]
       [--seed N] [--run-id ID] [--out report] [--keep-network]

  --protection P   how updates travel to the gateway (DP-SGD in every mode; default plaintext):
${(Object.keys(PROTECTIONS) as Protection[])
  .map(
    (name) =>
      `                     ${name.padEnd(10)} ${PROTECTIONS[name].summary}${PROTECTIONS[name].available ? '' : ' (not yet available)'}`,
  )
  .join('\n')}

  --hospitals N    N synthetic hospitals, each its own organisation, peer and trainer; on Fabric
                   the network is brought up with N hospitals (scripts/network.sh up --hospitals N)

  --out DIR        reports go to DIR/<run-id>/, and DIR/latest points at the newest
  --keep-network   leave the Fabric network (and so the ledger) up for a later audit
Exit codes: 0 run verified, 1 failed or not verified, 2 bad command line`;

export function parseOptions(argv: string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseDemoArgs(argv);
  } catch (err) {
    throw new Error(describeParseArgsError(err) ?? (err as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return checkOptions(values);
}

function parseDemoArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      ledger: { type: 'string', default: 'fabric' },
      protection: { type: 'string', default: 'plaintext' },
      hospitals: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '10' },
      epochs: { type: 'string', default: '5' },
      patients: { type: 'string', default: '50000' },
      epsilon: { type: 'string', default: '1' },
      delta: { type: 'string', default: '1e-5' },
      seed: { type: 'string', default: '20240917' },
      out: { type: 'string', default: 'report' },
      'run-id': { type: 'string' },
      'keep-network': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}

function checkOptions(values: ReturnType<typeof parseDemoArgs>['values']): DemoOptions {
  const positive = (name: string, value: string, integer: boolean): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new Error(
        `--${name} must be a positive ${integer ? 'integer' : 'number'}; got "${value}"`,
      );
    }
    return n;
  };
  if (values.ledger !== 'fabric' && values.ledger !== 'simulated') {
    throw new Error('--ledger must be fabric or simulated');
  }
  return {
    ledger: values.ledger,
    protection: protectionOf(values.protection),
    hospitals: positive('hospitals', values.hospitals, true),
    rounds: positive('rounds', values.rounds, true),
    epochs: positive('epochs', values.epochs, true),
    patients: positive('patients', values.patients, true),
    epsilon: positive('epsilon', values.epsilon, false),
    delta: positive('delta', values.delta, false),
    seed: positive('seed', values.seed, true),
    out: resolve(values.out),
    keepNetwork: values['keep-network'],
    runId:
      values['run-id'] ??
      `demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`,
  };
}

/**
 * The protection --protection names.
 * @throws {Error} for a name the demo does not know, or one not available yet.
 */
export function protectionOf(value: string): Protection {
  const names = Object.keys(PROTECTIONS) as Protection[];
  if (!(names as string[]).includes(value)) {
    throw new Error(`--protection must be one of ${names.join(', ')}; got "${value}"`);
  }
  const protection = value as Protection;
  if (!PROTECTIONS[protection].available) {
    throw new Error(
      `--protection ${protection} is not yet available; use ${AVAILABLE.join(' or ')}`,
    );
  }
  return protection;
}
