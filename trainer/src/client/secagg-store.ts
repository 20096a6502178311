// A hospital's secure-aggregation state for each round, on its own disk: `<workdir>/secagg/<run>/
// <round>.json` (mode 0600, folder 0700). It holds the round secrets, written BEFORE the keys are
// advertised (a restart must mask and reveal under the keys its peers saw on the ledger), the share
// bundle it dealt (re-sent byte for byte, never dealt twice), the shares it holds of its peers,
// the masked update (delivered again rather than masking a second update under the same masks,
// which would hand the gateway the difference of the two), and the one split of survivors and
// dropped it revealed for (revealing another would unmask a peer). Once its reveal is sent (or
// the next round begins) the round's secrets, shares and masked update are wiped; the split stays.
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HeldShare, RoundSecrets } from '@fedledger/protocol';
import { parseSecrets, serializeSecrets } from '@fedledger/protocol/secagg';

const FORMAT = 'fedledger-secagg-round/1';

/** The split of a round's mask set that a hospital revealed shares for. */
export interface RevealedSplit {
  survivors: string[];
  dropped: string[];
  /** The reveal's bytes as sent (canonical JSON), to send again unchanged. */
  reveal: string;
}

/** One round's state; fields appear as the round advances. */
export interface StoredRound {
  runId: string;
  round: number;
  mspId: string;
  /** Undefined once the round is over and the secrets were wiped. */
  secrets?: RoundSecrets;
  /** The share bundle dealt (canonical JSON). */
  bundle?: string;
  /** The shares held of the mask set's members (its own included). */
  held?: HeldShare[];
  /** SHA-256 of the masked update (its bytes are kept beside this file). */
  maskedSha256?: string;
  revealed?: RevealedSplit;
}

interface StoredJson {
  format: typeof FORMAT;
  runId: string;
  round: number;
  mspId: string;
  secrets?: string;
  bundle?: string;
  held?: { dealer: string; maskSecretShare: string; selfMaskShare: string }[];
  maskedSha256?: string;
  revealed?: RevealedSplit;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

/** The secure-aggregation state folder of a trainer's working folder. */
export interface SecAggStore {
  readonly dir: string;
  /** The state of a round, or undefined when this hospital has none. */
  load(runId: string, round: number): Promise<StoredRound | undefined>;
  /** Writes a round's state (write, then rename: a crash leaves the old or the new file). */
  save(state: StoredRound): Promise<void>;
  /** The masked update kept for a round, if any. */
  loadMasked(runId: string, round: number): Promise<Uint8Array | undefined>;
  saveMasked(runId: string, round: number, bytes: Uint8Array): Promise<void>;
  /** Rounds of `runId` with state, ascending. */
  rounds(runId: string): Promise<number[]>;
  /** Wipes the secrets, bundle, held shares and masked update of the rounds before `round`. */
  forgetBefore(runId: string, round: number): Promise<number[]>;
}

/** The store under `<workdir>/secagg`. */
export function newSecAggStore(workdir: string): SecAggStore {
  const dir = join(workdir, 'secagg');
  const runDir = (runId: string): string => join(dir, runId);
  const fileOf = (runId: string, round: number): string => join(runDir(runId), `${round}.json`);
  const maskedOf = (runId: string, round: number): string =>
    join(runDir(runId), `${round}.masked.safetensors`);

  const writePrivate = async (file: string, data: string | Uint8Array): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const partial = `${file}.partial`;
    await writeFile(partial, data, { mode: 0o600 });
    // The mode above applies only to a new file; a partial left by a crash keeps its own.
    await chmod(partial, 0o600);
    await rename(partial, file);
  };

  const load = async (runId: string, round: number): Promise<StoredRound | undefined> => {
    let text: string;
    try {
      text = await readFile(fileOf(runId, round), 'utf8');
    } catch {
      return undefined;
    }
    const json = JSON.parse(text) as StoredJson;
    if (json.format !== FORMAT || json.runId !== runId || json.round !== round) {
      throw new TypeError(`${fileOf(runId, round)} is not this round's secure-aggregation state`);
    }
    return {
      runId,
      round,
      mspId: json.mspId,
      ...(json.secrets !== undefined ? { secrets: parseSecrets(json.secrets) } : {}),
      ...(json.bundle !== undefined ? { bundle: json.bundle } : {}),
      ...(json.held
        ? {
            held: json.held.map((h) => ({
              dealer: h.dealer,
              maskSecretShare: unhex(h.maskSecretShare),
              selfMaskShare: unhex(h.selfMaskShare),
            })),
          }
        : {}),
      ...(json.maskedSha256 !== undefined ? { maskedSha256: json.maskedSha256 } : {}),
      ...(json.revealed ? { revealed: json.revealed } : {}),
    };
  };

  const save = async (state: StoredRound): Promise<void> => {
    const json: StoredJson = {
      format: FORMAT,
      runId: state.runId,
      round: state.round,
      mspId: state.mspId,
      ...(state.secrets ? { secrets: serializeSecrets(state.secrets) } : {}),
      ...(state.bundle !== undefined ? { bundle: state.bundle } : {}),
      ...(state.held
        ? {
            held: state.held.map((h) => ({
              dealer: h.dealer,
              maskSecretShare: hex(h.maskSecretShare),
              selfMaskShare: hex(h.selfMaskShare),
            })),
          }
        : {}),
      ...(state.maskedSha256 !== undefined ? { maskedSha256: state.maskedSha256 } : {}),
      ...(state.revealed ? { revealed: state.revealed } : {}),
    };
    await writePrivate(fileOf(state.runId, state.round), `${JSON.stringify(json, null, 2)}\n`);
  };

  const rounds = async (runId: string): Promise<number[]> => {
    let names: string[];
    try {
      names = await readdir(runDir(runId));
    } catch {
      return [];
    }
    return names
      .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  };

  return {
    dir,
    load,
    save,
    rounds,
    async loadMasked(runId, round) {
      try {
        return new Uint8Array(await readFile(maskedOf(runId, round)));
      } catch {
        return undefined;
      }
    },
    saveMasked: (runId, round, bytes) => writePrivate(maskedOf(runId, round), bytes),
    async forgetBefore(runId, round) {
      const wiped: number[] = [];
      for (const earlier of (await rounds(runId)).filter((r) => r < round)) {
        const state = await load(runId, earlier);
        if (!state?.secrets && !state?.held && state?.bundle === undefined) continue;
        await save({
          runId,
          round: earlier,
          mspId: state.mspId,
          ...(state.revealed ? { revealed: state.revealed } : {}),
        });
        await rm(maskedOf(runId, earlier), { force: true });
        wiped.push(earlier);
      }
      return wiped;
    },
  };
}
