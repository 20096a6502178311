// The demo's report folders: one per run, `<root>/<run-id>/`, and `<root>/latest` pointing at the
// newest, so that a second run never overwrites the first.
import { existsSync, lstatSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A report folder that exists already: the demo refuses to write over it. */
export class ReportFolderExistsError extends Error {
  constructor(readonly folder: string) {
    super(
      `${folder} exists already (a run of that ID reported there); choose another --run-id, or move that folder away`,
    );
    this.name = new.target.name;
  }
}

/**
 * The folder for run `runId`'s report under `root`, checked before the run starts.
 * @throws {ReportFolderExistsError} when it exists.
 */
export function reportFolderFor(root: string, runId: string): string {
  if (runId === 'latest' || runId.includes('/') || runId.startsWith('.')) {
    throw new Error(`"${runId}" cannot name a report folder; choose another --run-id`);
  }
  const folder = join(root, runId);
  if (existsSync(folder)) throw new ReportFolderExistsError(folder);
  return folder;
}

/**
 * Points `<root>/latest` at `<root>/<runId>` (a relative symbolic link), replacing an older link.
 * Where no link can be made, or `latest` is not a link (something else the operator put there,
 * left alone), writes the run ID to `<root>/latest.txt` instead.
 * @returns the path that now names the newest report
 */
export function pointLatest(root: string, runId: string): string {
  const link = join(root, 'latest');
  let present: ReturnType<typeof lstatSync> | undefined;
  try {
    present = lstatSync(link);
  } catch {
    present = undefined;
  }
  if (present === undefined || present.isSymbolicLink()) {
    try {
      if (present !== undefined) rmSync(link);
      symlinkSync(runId, link, 'dir');
      return link;
    } catch {
      // A file system without symbolic links: the text pointer below.
    }
  }
  const pointer = join(root, 'latest.txt');
  writeFileSync(pointer, `${runId}\n`);
  return pointer;
}
