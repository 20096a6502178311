// The coordinator's notes of uploads: an upload whose ledger record never commits is reported at
// close (NOT_ON_LEDGER), so the notes live on disk and survive a restart.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An upload that a hospital made for a round (it may or may not have reached the ledger). */
export interface UploadNote {
  runId: string;
  round: number;
  mspId: string;
  sha256: string;
  byteLength: number;
  uploadedAt: string;
}

/** Upload notes under `<stateDir>/uploads/<run>/<round>/<msp>.json`. */
export class UploadNotes {
  constructor(private readonly stateDir: string) {}

  private path(runId: string, round: number, mspId: string): string {
    return join(this.stateDir, 'uploads', runId, String(round), `${mspId}.json`);
  }

  /** Remembers an upload (the last one of a hospital and round counts). */
  async note(note: UploadNote): Promise<void> {
    const path = this.path(note.runId, note.round, note.mspId);
    await mkdir(join(this.stateDir, 'uploads', note.runId, String(note.round)), {
      recursive: true,
    });
    // A temporary name of its own: two uploads of one hospital at once must not share one.
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(note));
    await rename(temporary, path);
  }

  /** The uploads noted for a round, in MSP ID order. */
  async list(runId: string, round: number): Promise<UploadNote[]> {
    const dir = join(this.stateDir, 'uploads', runId, String(round));
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const notes: UploadNote[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      notes.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as UploadNote);
    }
    return notes;
  }
}
