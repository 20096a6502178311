// Updates on their way to the ledger. Each update is written to `<workdir>/outbox/<run>-<round>
// .safetensors` before it is sent, so neither a gateway outage nor a crash loses it; the file is
// kept for a later flush after a transient failure, removed when the gateway refused it for good
// (a 4xx such as UPDATE_EXISTS or ROUND_NOT_OPEN), and moved to the hospital's record of what it
// submitted (`<workdir>/submitted/`, see submitted.ts) once the update is on the ledger: that copy
// lets an auditor contradict a gateway that calls the update missing or altered.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeContainer, sha256Hex } from '@fedledger/protocol';
import { GatewayRequestError, isTransient } from './errors';
import { keepSubmitted } from './submitted';
import type { GatewayClient, SubmittedUpdate } from './gateway-client';
import type { DigestSigner } from './identity';

/** What became of one queued update. */
export type DeliveryResult =
  | { status: 'delivered'; runId: string; round: number; file: string; update: SubmittedUpdate }
  /** On the ledger already, from an earlier attempt whose reply was lost (same SHA-256). */
  | { status: 'already-recorded'; runId: string; round: number; file: string; txId: string }
  | { status: 'queued'; runId: string; round: number; file: string; error: Error }
  | { status: 'refused'; runId: string; round: number; file: string; error: GatewayRequestError };

/** Options of {@link newOutbox}. */
export interface OutboxOptions {
  /** The trainer's working folder; the outbox is its `outbox/` subfolder. */
  workdir: string;
  client: GatewayClient;
  signer: DigestSigner;
  /** Receives one line per queued update, delivery from the queue, or refusal. */
  log?: (line: string) => void;
}

/** A folder of updates not yet on the ledger. */
export interface Outbox {
  readonly dir: string;
  /**
   * Writes the update to the outbox, then tries to submit it.
   * @throws what the client throws that is neither transient nor a refusal (a bug, a hash
   * mismatch); the file then stays.
   */
  send(runId: string, round: number, bytes: Uint8Array): Promise<DeliveryResult>;
  /** Writes the update to the outbox without sending it (the next flush does). */
  put(runId: string, round: number, bytes: Uint8Array): Promise<string>;
  /** Tries every queued update again, oldest round first. */
  flush(): Promise<DeliveryResult[]>;
  /** Runs and rounds of the queued updates. */
  pending(): Promise<{ runId: string; round: number; file: string }[]>;
}

/** The outbox under `options.workdir`. */
export function newOutbox(options: Readonly<OutboxOptions>): Outbox {
  const dir = join(options.workdir, 'outbox');
  const log = options.log ?? (() => undefined);
  const fileOf = (runId: string, round: number): string =>
    join(dir, `${runId}-${round}.safetensors`);

  const attempt = async (
    runId: string,
    round: number,
    file: string,
    bytes: Uint8Array,
    retry: boolean,
  ): Promise<DeliveryResult> => {
    try {
      const update = await options.client.submitUpdate({
        runId,
        round,
        bytes,
        signer: options.signer,
      });
      await keepSubmitted(options.workdir, file, bytes);
      // A first attempt that succeeds is the normal path and its caller reports the commit; only
      // a delivery from the queue is news.
      if (retry) {
        log(
          `outbox: delivered run ${runId} round ${round} (tx ${update.commit.txId}, block ${update.commit.blockNumber}); kept a copy in submitted/`,
        );
      }
      return { status: 'delivered', runId, round, file, update };
    } catch (err) {
      if (isTransient(err)) {
        log(
          `outbox: run ${runId} round ${round} not delivered (${(err as Error).message}); kept ${file} for a retry`,
        );
        return { status: 'queued', runId, round, file, error: err as Error };
      }
      if (!(err instanceof GatewayRequestError) || err.status >= 500) throw err;
      // An earlier attempt may have committed without this hospital hearing so (the gateway went
      // down after the commit): then the round has this update, or has even closed with it.
      if (err.code === 'FL_ERR_UPDATE_EXISTS' || err.code === 'FL_ERR_ROUND_NOT_OPEN') {
        const txId = await recordedTxId(options.client, runId, round, bytes);
        if (txId !== undefined) {
          await keepSubmitted(options.workdir, file, bytes);
          log(
            `outbox: run ${runId} round ${round} is already on the ledger (tx ${txId}); kept a copy in submitted/`,
          );
          return { status: 'already-recorded', runId, round, file, txId };
        }
      }
      await rm(file, { force: true });
      log(
        `outbox: run ${runId} round ${round} refused for good (${err.code}: ${err.detail}); removed ${file}`,
      );
      return { status: 'refused', runId, round, file, error: err };
    }
  };

  const put = async (runId: string, round: number, bytes: Uint8Array): Promise<string> => {
    await mkdir(dir, { recursive: true });
    const file = fileOf(runId, round);
    // Write then rename, so a crash never leaves a torn update to resubmit.
    await writeFile(`${file}.partial`, bytes);
    await rename(`${file}.partial`, file);
    return file;
  };

  const pending = async (): Promise<{ runId: string; round: number; file: string }[]> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: { runId: string; round: number; file: string }[] = [];
    for (const name of names) {
      const match = /^(.+)-(\d+)\.safetensors$/.exec(name);
      if (!match) continue;
      out.push({ runId: match[1] as string, round: Number(match[2]), file: join(dir, name) });
    }
    return out.sort((a, b) => a.round - b.round || a.runId.localeCompare(b.runId));
  };

  return {
    dir,
    put,
    async send(runId, round, bytes) {
      return attempt(runId, round, await put(runId, round, bytes), bytes, false);
    },
    pending,
    async flush() {
      const results: DeliveryResult[] = [];
      for (const entry of await pending()) {
        const bytes = new Uint8Array(await readFile(entry.file));
        let target: { runId: string; round: number };
        try {
          // The container says which run and round it is for; the file name only finds it.
          target = decodeContainer(bytes).metadata;
        } catch (err) {
          await rename(entry.file, `${entry.file}.unreadable`);
          log(`outbox: ${entry.file} is not a readable container (${String(err)}); set aside`);
          continue;
        }
        results.push(await attempt(target.runId, target.round, entry.file, bytes, true));
      }
      return results;
    },
  };
}

/**
 * The transaction that recorded exactly these bytes for this MSP's round, if one did, read from
 * the hospital's own peer when it has one (a gateway could otherwise talk it out of resending).
 */
async function recordedTxId(
  client: GatewayClient,
  runId: string,
  round: number,
  bytes: Uint8Array,
): Promise<string | undefined> {
  const sha256 = sha256Hex(bytes);
  const mspId = decodeContainer(bytes).metadata.mspId;
  try {
    const { record } = await client.recordedUpdate(runId, round, mspId);
    return record?.sha256 === sha256 ? record.txId : undefined;
  } catch {
    return undefined;
  }
}
