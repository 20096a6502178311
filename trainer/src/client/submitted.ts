// A hospital's own record of the updates it put on the ledger: `<workdir>/submitted/<run>/
// <round>-<sha256>.safetensors`, kept after delivery. The gateway holds the bytes the round is
// decided on; this copy is how a hospital proves that an update the gateway called missing or
// altered existed, by exporting it for an auditor (`fedledger-trainer export-updates`) whose
// `fedledger-audit verify --blobs` then re-checks the exclusion on these bytes.
import { copyFile, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeContainer, sha256Hex } from '@fedledger/protocol';
import { TrainerError } from '../errors';

/** One submitted update in a hospital's record. */
export interface SubmittedCopy {
  runId: string;
  round: number;
  mspId: string;
  sha256: string;
  byteLength: number;
  file: string;
}

/** The folder of `workdir`'s submitted updates for `runId`. */
export function submittedDir(workdir: string, runId: string): string {
  return join(workdir, 'submitted', runId);
}

/**
 * Moves a delivered outbox file into the record of submitted updates (write-then-rename, so a
 * crash leaves either the outbox file or the copy).
 */
export async function keepSubmitted(
  workdir: string,
  outboxFile: string,
  bytes: Uint8Array,
): Promise<string> {
  const { runId, round } = decodeContainer(bytes).metadata;
  const dir = submittedDir(workdir, runId);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${round}-${sha256Hex(bytes)}.safetensors`);
  await rename(outboxFile, file);
  return file;
}

/** The export could not be made; the message says what to fix. */
export class ExportError extends TrainerError {
  constructor(message: string) {
    super('EXPORT_FAILED', message);
  }
}

/**
 * The updates `workdir` recorded for `runId`, round by round; each file is re-hashed, and one
 * whose bytes no longer match its name is left out (and reported through `skipped`).
 */
export async function listSubmitted(
  workdir: string,
  runId: string,
  skipped: (file: string, why: string) => void = () => undefined,
): Promise<SubmittedCopy[]> {
  const dir = submittedDir(workdir, runId);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: SubmittedCopy[] = [];
  for (const name of names) {
    const match = /^(\d+)-([0-9a-f]{64})\.safetensors$/.exec(name);
    if (!match) continue;
    const file = join(dir, name);
    const bytes = new Uint8Array(await readFile(file));
    const sha256 = sha256Hex(bytes);
    if (sha256 !== match[2]) {
      skipped(file, `its bytes hash to ${sha256}, not to the SHA-256 in its name`);
      continue;
    }
    const { mspId } = decodeContainer(bytes).metadata;
    out.push({ runId, round: Number(match[1]), mspId, sha256, byteLength: bytes.byteLength, file });
  }
  return out.sort((a, b) => a.round - b.round);
}

/**
 * Copies the submitted updates of `runId` into `outDir` as `<sha256>` files (the flat layout
 * `fedledger-audit verify --blobs` reads) with a `manifest.json` naming run, round and hospital.
 * @throws {ExportError} when the hospital recorded no update for the run.
 */
export async function exportSubmitted(
  workdir: string,
  runId: string,
  outDir: string,
  skipped?: (file: string, why: string) => void,
): Promise<SubmittedCopy[]> {
  const copies = await listSubmitted(workdir, runId, skipped);
  if (copies.length === 0) {
    throw new ExportError(
      `${submittedDir(workdir, runId)} holds no update of run ${runId}; is --workdir the folder fedledger-trainer run used?`,
    );
  }
  await mkdir(outDir, { recursive: true });
  for (const copy of copies) await copyFile(copy.file, join(outDir, copy.sha256));
  const manifest = copies.map(({ file: _file, ...rest }) => rest);
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return copies;
}
