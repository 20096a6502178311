// A hospital's secure-aggregation state for each round, on its own disk: `<workdir>/secagg/<run>/
// <creation>/<round>.json` (mode 0600, folders 0700), where <creation> is the first 12 hex digits
// of the transaction that created the run, so that a run ID used again (a reset network, a new run
// with an old name) never finds the secrets, bundle or split of the earlier run. It holds the round
// secrets, written BEFORE the keys are advertised (a restart must mask and reveal under the keys
// its peers saw on the ledger), the share bundle it dealt (re-sent byte for byte, never dealt
// twice), the shares it holds of its peers, the masked update (delivered again rather than masking
// a second update under the same masks, which would hand the gateway the difference of the two),
// and the one split of survivors and dropped it revealed for (revealing another would unmask a
// peer). Once the round is over for the hospital (its reveal sent, the round seen closed or moved
// on, the round sat out) the secrets, shares and masked update are wiped; what stays is the split
// and the wiped file itself, which tells a restart that the round's masks are spent. Once the run
// is over, everything of it goes.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HeldShare, RoundSecrets, RunRecord } from '@fedledger/protocol';
import { parseSecrets, serializeSecrets } from '@fedledger/protocol/secagg';

const FORMAT = 'fedledger-secagg-round/2';

/** The run a state belongs to: its ID and the transaction that created it (from its record). */
export type RunBinding = Pick<RunRecord, 'runId' | 'txId'>;

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
  /** The transaction that created the run (RunRecord.txId). */
  runTxId: string;
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
  runTxId: string;
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

/**
 * The folder name of a run's creation: the first 12 hex digits of its transaction ID (Fabric's
 * are SHA-256 hex), or of the ID's SHA-256 when it is not hex (never a path of its own).
 */
export function creationOf(txId: string): string {
  return /^[0-9a-f]{12}/i.test(txId)
    ? txId.slice(0, 12).toLowerCase()
    : createHash('sha256').update(txId, 'utf8').digest('hex').slice(0, 12);
}

/** The secure-aggregation state folder of a trainer's working folder. */
export interface SecAggStore {
  readonly dir: string;
  /** The folder of `run`'s state (its ID, then its creation). */
  runDir(run: RunBinding): string;
  /**
   * The state of a round of `run`, or undefined when this hospital has none.
   * @throws {TypeError} when the file names another run or round.
   */
  load(run: RunBinding, round: number): Promise<StoredRound | undefined>;
  /** Writes a round's state (write, then rename: a crash leaves the old or the new file). */
  save(state: StoredRound): Promise<void>;
  /** The masked update kept for a round, if any. */
  loadMasked(run: RunBinding, round: number): Promise<Uint8Array | undefined>;
  saveMasked(run: RunBinding, round: number, bytes: Uint8Array): Promise<void>;
  /** Rounds of `run` with state, ascending. */
  rounds(run: RunBinding): Promise<number[]>;
  /**
   * Wipes a round's secrets, bundle, held shares and masked update, keeping the split it revealed
   * for; true when there was something to wipe.
   */
  forget(run: RunBinding, round: number): Promise<boolean>;
  /** {@link forget} for the rounds before `round`: those that held something. */
  forgetBefore(run: RunBinding, round: number): Promise<number[]>;
  /** True when there is any state under the run ID (of this creation of the run or another). */
  hasRun(runId: string): Promise<boolean>;
  /**
   * Removes what the run ID's folder holds that is not `run`'s (an earlier run with the same ID,
   * or state from before runs were told apart by creation): the names removed.
   */
  forgetOtherRuns(run: RunBinding): Promise<string[]>;
  /** Removes everything under the run ID; true when there was anything. */
  forgetRun(runId: string): Promise<boolean>;
}

/** The store under `<workdir>/secagg`. */
export function newSecAggStore(workdir: string): SecAggStore {
  const dir = join(workdir, 'secagg');
  const idDir = (runId: string): string => join(dir, runId);
  const runDir = (run: RunBinding): string => join(idDir(run.runId), creationOf(run.txId));
  const fileOf = (run: RunBinding, round: number): string => join(runDir(run), `${round}.json`);
  const maskedOf = (run: RunBinding, round: number): string =>
    join(runDir(run), `${round}.masked.safetensors`);
  const entries = async (folder: string): Promise<string[]> => {
    try {
      return await readdir(folder);
    } catch {
      return [];
    }
  };

  const writePrivate = async (file: string, data: string | Uint8Array): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const partial = `${file}.partial`;
    await writeFile(partial, data, { mode: 0o600 });
    // The mode above applies only to a new file; a partial left by a crash keeps its own.
    await chmod(partial, 0o600);
    await rename(partial, file);
  };

  const load = async (run: RunBinding, round: number): Promise<StoredRound | undefined> => {
    let text: string;
    try {
      text = await readFile(fileOf(run, round), 'utf8');
    } catch {
      return undefined;
    }
    const json = JSON.parse(text) as StoredJson;
    if (
      json.format !== FORMAT ||
      json.runId !== run.runId ||
      json.runTxId !== run.txId ||
      json.round !== round
    ) {
      throw new TypeError(`${fileOf(run, round)} is not this round's secure-aggregation state`);
    }
    return {
      runId: run.runId,
      runTxId: run.txId,
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
      runTxId: state.runTxId,
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
    const run = { runId: state.runId, txId: state.runTxId };
    await writePrivate(fileOf(run, state.round), `${JSON.stringify(json, null, 2)}\n`);
  };

  const rounds = async (run: RunBinding): Promise<number[]> =>
    (await entries(runDir(run)))
      .map((name) => /^(\d+)\.json$/.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);

  const forget = async (run: RunBinding, round: number): Promise<boolean> => {
    const state = await load(run, round);
    await rm(maskedOf(run, round), { force: true });
    if (
      !state ||
      (!state.secrets && !state.held && state.bundle === undefined && !state.maskedSha256)
    ) {
      return false;
    }
    await save({
      runId: run.runId,
      runTxId: run.txId,
      round,
      mspId: state.mspId,
      ...(state.revealed ? { revealed: state.revealed } : {}),
    });
    return true;
  };

  return {
    dir,
    runDir,
    load,
    save,
    rounds,
    forget,
    async loadMasked(run, round) {
      try {
        return new Uint8Array(await readFile(maskedOf(run, round)));
      } catch {
        return undefined;
      }
    },
    saveMasked: (run, round, bytes) => writePrivate(maskedOf(run, round), bytes),
    async forgetBefore(run, round) {
      const wiped: number[] = [];
      for (const earlier of (await rounds(run)).filter((r) => r < round)) {
        if (await forget(run, earlier)) wiped.push(earlier);
      }
      return wiped;
    },
    hasRun: async (runId) => (await entries(idDir(runId))).length > 0,
    async forgetOtherRuns(run) {
      const mine = creationOf(run.txId);
      const others = (await entries(idDir(run.runId))).filter((name) => name !== mine);
      for (const name of others) {
        await rm(join(idDir(run.runId), name), { recursive: true, force: true });
      }
      return others;
    },
    async forgetRun(runId) {
      const had = (await entries(idDir(runId))).length > 0;
      await rm(idDir(runId), { recursive: true, force: true });
      return had;
    },
  };
}
