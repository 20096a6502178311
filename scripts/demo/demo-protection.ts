// How the demo protects the hospitals' updates, per --protection: what a mode does before the run
// (CKKS: the key ceremony, through the trainer's own `keys` commands, as hospitals would run it),
// what the run file records, what each trainer is started with, and how the demo reads each
// round's model back to evaluate it. One factory per protection; secure aggregation adds its own.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import { decodeContainer } from '@fedledger/protocol';
import { CKKS_PARAMS } from '@fedledger/protocol/ckks';
import { applyEncryptedAggregate, openKeyFile } from '@fedledger/trainer';
import type { Protection } from './demo-options';
import { PROTECTIONS } from './demo-options';
import { start } from './processes';

/** What a protection needs to know of the demo. */
export interface ProtectionContext {
  runId: string;
  /** The demo's folder for this run; each hospital's trainer works in `<work>/<name>`. */
  work: string;
  hospitals: readonly { name: string; mspId: string }[];
  /** The trainer CLI's main.js. */
  trainer: string;
  log: (line: string) => void;
}

/** One protection mode, as the demo runs it. */
export interface DemoProtection {
  readonly mode: Protection;
  /** Says, for the output and the report, how the updates travelled. */
  readonly label: string;
  /** Before the run is created (the CKKS key ceremony). */
  prepare(): Promise<void>;
  /** The run file's `protection` field. */
  runFileField(): unknown;
  /** What hospital `name`'s trainer is started with besides the demo's common arguments. */
  trainerArgs(name: string): string[];
  /**
   * Reads the models of a run back in round order: called with the initial model, then with each
   * round's aggregate, it returns the plaintext model after that round.
   */
  modelReader(initialModel: Uint8Array, spec: ModelSpec): Promise<ModelReader>;
}

/** The plaintext model after a round, from the round's aggregate bytes (in round order). */
export type ModelReader = (aggregate: Uint8Array) => Promise<Tensor[]>;

type Factory = (context: ProtectionContext) => DemoProtection;

const FACTORIES: Partial<Record<Protection, Factory>> = {
  plaintext: () => ({
    mode: 'plaintext',
    label: 'plaintext updates (DP-noised); the gateway reads each update',
    prepare: () => Promise.resolve(),
    runFileField: () => 'none',
    trainerArgs: () => [],
    modelReader: () => Promise.resolve((aggregate) => Promise.resolve(readTensors(aggregate))),
  }),
  ckks: ckksProtection,
  secagg: () => ({
    mode: 'secagg',
    label:
      'masked updates (secure aggregation: DP-noised, weighted, quantised and masked; keys signed on the ledger); the gateway sums masked words and recovers only the aggregate',
    prepare: () => Promise.resolve(),
    runFileField: () => ({ secagg: { phaseSeconds: 30 } }),
    trainerArgs: () => [],
    modelReader: () => Promise.resolve((aggregate) => Promise.resolve(readTensors(aggregate))),
  }),
};

/**
 * The protection the demo runs with.
 * @throws {Error} for a protection the demo cannot run yet.
 */
export function demoProtection(mode: Protection, context: ProtectionContext): DemoProtection {
  const factory = FACTORIES[mode];
  if (!factory || !PROTECTIONS[mode].available) {
    throw new Error(`--protection ${mode} is not yet available in the demo`);
  }
  return factory(context);
}

function readTensors(bytes: Uint8Array): Tensor[] {
  return decodeContainer(bytes).tensors;
}

/**
 * CKKS: hospital 1 makes the run's key and exports it under a transfer passphrase; the others
 * import it under passphrases of their own. The gateway and the auditor only ever see the key's
 * fingerprint. The demo evaluates with hospital 1's copy, as hospital 1 would.
 */
function ckksProtection(context: ProtectionContext): DemoProtection {
  const { work, hospitals, trainer, log } = context;
  const keyFile = (name: string): string => join(work, name, 'run.key');
  const passFile = (name: string): string => join(work, name, 'key.pass');
  const passphrases = new Map<string, string>();
  let fingerprint = '';

  /** A `fedledger-trainer keys …` command as hospital `name`; returns its stdout lines. */
  const keys = async (name: string, argv: string[]): Promise<string[]> => {
    const lines: string[] = [];
    const child = start(`${name} keys`, process.execPath, [trainer, 'keys', ...argv], {
      onLine: (line, stream) => {
        if (stream === 'stdout') lines.push(line);
        else log(`${name}: ${line}`);
      },
    });
    const code = await child.exited;
    if (code !== 0) throw new Error(`${name}: fedledger-trainer keys ${argv[0]} exited ${code}`);
    return lines;
  };

  return {
    mode: 'ckks',
    get label() {
      return `CKKS-encrypted updates (DP-noised first; key ${fingerprint.slice(0, 12)}…, held by the hospitals only); the gateway sums ciphertexts`;
    },
    async prepare() {
      for (const h of hospitals) {
        mkdirSync(join(work, h.name), { recursive: true });
        passphrases.set(h.name, randomBytes(18).toString('base64url'));
        writeFileSync(passFile(h.name), `${passphrases.get(h.name)}\n`, { mode: 0o600 });
      }
      const first = hospitals[0];
      if (!first) throw new Error('a CKKS run needs at least one hospital');
      const init = await keys(first.name, [
        'init',
        '--run',
        context.runId,
        '--out',
        keyFile(first.name),
        '--passphrase-file',
        passFile(first.name),
      ]);
      fingerprint = (JSON.parse(init[init.length - 1] ?? '{}') as { fingerprint?: string })
        .fingerprint as string;
      if (!/^[0-9a-f]{64}$/.test(fingerprint ?? '')) {
        throw new Error(`keys init printed no key fingerprint (${init.join(' ')})`);
      }
      // The transfer copy travels between hospitals (here: a file); its passphrase separately.
      const transfer = join(work, 'transfer.key');
      const transferPass = join(work, 'transfer.pass');
      writeFileSync(transferPass, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
      const withTransfer = ['--transfer-passphrase-file', transferPass];
      await keys(first.name, [
        'export',
        '--key',
        keyFile(first.name),
        '--out',
        transfer,
        '--passphrase-file',
        passFile(first.name),
        ...withTransfer,
      ]);
      for (const h of hospitals.slice(1)) {
        await keys(h.name, [
          'import',
          '--in',
          transfer,
          '--out',
          keyFile(h.name),
          '--passphrase-file',
          passFile(h.name),
          ...withTransfer,
        ]);
      }
      rmSync(transfer);
      rmSync(transferPass);
      log(
        `CKKS key ceremony: ${first.name} made the run's key (fingerprint ${fingerprint}) and exported it; ${hospitals
          .slice(1)
          .map((h) => h.name)
          .join(
            ', ',
          )} imported it under passphrases of their own. The ledger records the fingerprint only.`,
      );
    },
    runFileField: () => ({ ckks: { keyFingerprint: fingerprint } }),
    trainerArgs: (name) => ['--key-file', keyFile(name), '--passphrase-file', passFile(name)],
    async modelReader(initialModel, spec) {
      const first = hospitals[0]?.name as string;
      const { secretKey } = await openKeyFile(keyFile(first), passphrases.get(first) as string);
      log(`evaluating with ${first}'s copy of the key: each round's aggregate is decrypted there`);
      // θ_{r+1} = θ_r + Dec(aggregate_r), from the plaintext initial model.
      let theta = readTensors(initialModel);
      return async (aggregate) => {
        theta = await applyEncryptedAggregate({
          params: CKKS_PARAMS,
          secretKey,
          spec,
          globalTensors: theta,
          aggregate,
        });
        return theta;
      };
    },
  };
}
