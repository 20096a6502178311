// The coordinator's side of a secure-aggregation round: it keeps notes of the share bundles and
// reveals hospitals send, and moves the round on the ledger from collecting keys to masking (the
// mask set: hospitals that advertised keys and dealt shares to every other member) to unmasking
// (the survivors: hospitals with an update) as soon as everyone is in or the run's phase time has
// passed. It decides nothing a hospital must trust: the hospitals read both sets from their peers.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  KeysRecord,
  MaskSetEntry,
  RecoveryEntry,
  RoundTrail,
  RunRecord,
} from '@fedledger/protocol';
import { decodeShareBundle } from '@fedledger/protocol/secagg';
import { runSettings } from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { GatewayError } from '../errors';
import type { LedgerClient } from '../ledger/ledger-client';

/** A bundle or reveal a hospital sent for a round. */
export interface SecAggNote {
  runId: string;
  round: number;
  mspId: string;
  sha256: string;
}

export type SecAggNoteKind = 'shares' | 'reveals';

/** What the round needs next: to be closed, or a look again at the given time (ms since epoch). */
export type SecAggStep =
  { action: 'close'; recovery: RecoveryEntry[] } | { action: 'wait'; until: number };

export interface SecAggPhasesOptions {
  ledger: LedgerClient;
  blobs: BlobStore;
  stateDir: string;
  now: () => Date;
}

export class SecAggPhases {
  constructor(private readonly options: SecAggPhasesOptions) {}

  private dir(kind: SecAggNoteKind, runId: string, round: number): string {
    return join(this.options.stateDir, 'secagg', runId, String(round), kind);
  }

  /** Remembers a hospital's bundle or reveal (the last one sent counts). */
  async note(kind: SecAggNoteKind, note: SecAggNote): Promise<void> {
    const dir = this.dir(kind, note.runId, note.round);
    await mkdir(dir, { recursive: true });
    const temporary = join(dir, `${note.mspId}.${randomUUID()}.tmp`);
    await writeFile(temporary, JSON.stringify(note));
    await rename(temporary, join(dir, `${note.mspId}.json`));
  }

  /** Every note of a kind for a round, by MSP ID. */
  async notes(kind: SecAggNoteKind, runId: string, round: number): Promise<Map<string, string>> {
    const dir = this.dir(kind, runId, round);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return new Map();
    }
    const out = new Map<string, string>();
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const note = JSON.parse(await readFile(join(dir, name), 'utf8')) as SecAggNote;
      out.set(note.mspId, note.sha256);
    }
    return out;
  }

  /**
   * Does the step the open round calls for: fixes the mask set, fixes the survivors, or says
   * the round can close (with the reveals to recover from), or when to look again.
   */
  async step(run: RunRecord, round: RoundTrail): Promise<SecAggStep> {
    const settings = runSettings(run).secagg;
    if (!settings) {
      throw new GatewayError(
        'FL_ERR_CONFIG',
        `run ${run.runId} records no secure-aggregation settings`,
      );
    }
    const phaseMs = settings.phaseSeconds * 1000;
    const now = this.options.now().getTime();
    const state = round.secagg;
    if (state === undefined) {
      const keys = await this.options.ledger.listKeys(run.runId, round.round);
      const maskSet = await this.maskSet(run, round.round, keys);
      const due = Date.parse(round.openedAt) + phaseMs;
      const everyone = maskSet.length === run.participants.length;
      if (
        everyone ||
        (now >= due &&
          maskSet.length >=
            Math.max(settings.threshold, run.minUpdatesPerRound, settings.minSurvivors))
      ) {
        await this.options.ledger.beginMasking({ runId: run.runId, round: round.round, maskSet });
        return { action: 'wait', until: now };
      }
      return { action: 'wait', until: now >= due ? now + phaseMs : due };
    }
    if (state.phase === 'masking') {
      // Updates come after local training: they are waited for until the round's deadline, as
      // in any run, not for a phase.
      const due = Date.parse(round.openedAt) + runSettings(run).roundDeadlineSeconds * 1000;
      const inMaskSet = new Set(state.maskSet.map((e) => e.mspId));
      const submitted = round.updates.filter((u) => inMaskSet.has(u.mspId)).length;
      if (
        submitted === state.maskSet.length ||
        (now >= due && submitted >= Math.max(run.minUpdatesPerRound, settings.minSurvivors))
      ) {
        await this.options.ledger.beginUnmasking(run.runId, round.round);
        return { action: 'wait', until: now };
      }
      return { action: 'wait', until: now >= due ? now + phaseMs : due };
    }
    const survivors = state.survivors ?? [];
    const reveals = await this.notes('reveals', run.runId, round.round);
    const recovery = survivors
      .filter((msp) => reveals.has(msp))
      .map((mspId) => ({ mspId, sha256: reveals.get(mspId) as string }));
    const due = Date.parse(state.unmaskingAt ?? state.maskingAt) + phaseMs;
    // Every survivor revealed, or the reveal phase is over: decide with what came (a round that
    // cannot be recovered from it is then abandoned, which the auditor re-checks).
    if (recovery.length === survivors.length || now >= due) {
      return { action: 'close', recovery };
    }
    return { action: 'wait', until: due };
  }

  /**
   * The mask set: hospitals with keys on the ledger and a bundle here, each of whom dealt to
   * every other member. A hospital most dealers did not deal to advertised late and goes; then a
   * dealer that left out a member the others dealt to goes (so one hospital cannot push another
   * out by leaving it out of its bundle); until both hold.
   */
  private async maskSet(
    run: RunRecord,
    round: number,
    keys: readonly KeysRecord[],
  ): Promise<MaskSetEntry[]> {
    const bundles = await this.notes('shares', run.runId, round);
    const recipients = new Map<string, Set<string>>();
    for (const k of keys) {
      const sha256 = bundles.get(k.mspId);
      if (sha256 === undefined || !run.participants.includes(k.mspId)) continue;
      const bytes = await this.options.blobs.getUnverified(sha256);
      if (bytes === undefined) continue;
      recipients.set(k.mspId, new Set(decodeShareBundle(bytes).recipients));
    }
    let members = [...recipients.keys()].sort();
    const dealtTo = (dealer: string, m: string) => recipients.get(dealer)?.has(m) === true;
    for (;;) {
      const late = members.filter(
        (m) => members.filter((d) => d !== m && !dealtTo(d, m)).length * 2 > members.length - 1,
      );
      const short =
        late.length > 0 ? [] : members.filter((d) => members.some((m) => !dealtTo(d, m)));
      const out = new Set([...late, ...short]);
      if (out.size === 0) break;
      members = members.filter((m) => !out.has(m));
    }
    return members.map((mspId) => ({ mspId, sharesSha256: bundles.get(mspId) as string }));
  }
}
