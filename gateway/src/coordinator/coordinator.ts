// The round coordinator: creates runs, opens rounds, and closes them by aggregating exactly the
// updates whose bytes match a committed ledger record created by their hospital. All of its state
// can be rebuilt from the ledger and the blob store (plus the record of uploads that never reached
// the ledger), so a restart at any point carries on without losing or double-counting an update.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Container,
  ExcludedUpdate,
  RoundRecord,
  RunConfig,
  RunRecord,
  UpdateRecord,
} from '@fedledger/protocol';
import { decodeContainer } from '@fedledger/protocol';
import type { EncryptedAggregator, RoundDecision, RoundInput } from '@fedledger/rules';
import { RoundDecisionError, decideRound, flattenTensors, runSettings } from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { crashPoint } from '../crash-points';
import { BadRequestError, GatewayError, NotFoundError } from '../errors';
import type { ProblemCode } from '../http/problem-registry';
import type { CommitInfo, LedgerClient } from '../ledger/ledger-client';

/** The longest delay Node's setTimeout honours (2^31 − 1 ms, about 24.9 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** An upload that a hospital made for a round (it may or may not have reached the ledger). */
export interface UploadNote {
  runId: string;
  round: number;
  mspId: string;
  sha256: string;
  byteLength: number;
  uploadedAt: string;
}

/** What happened when a round closed. */
export interface RoundClosed {
  runId: string;
  round: number;
  aggregateHash: string;
  included: string[];
  excluded: ExcludedUpdate[];
  close: CommitInfo;
  /** Submit→commit time of the CloseRound transaction. */
  closeLatencyMs: number;
  /** The next round's opening, unless the run has completed. */
  next?: CommitInfo;
  openLatencyMs?: number;
}

/** Things the coordinator tells the rest of the gateway about (logs, metrics, SSE). */
export interface CoordinatorObserver {
  roundClosed?(event: RoundClosed, durationMs: number): void;
  updateExcluded?(runId: string, round: number, excluded: ExcludedUpdate): void;
  error?(message: string, err: unknown): void;
}

export interface CoordinatorOptions {
  ledger: LedgerClient;
  blobs: BlobStore;
  /** Folder for the coordinator's notes (uploads not yet on the ledger). */
  stateDir: string;
  observer?: CoordinatorObserver;
  /** Aggregation over CKKS ciphertexts, for encrypted runs. */
  encrypted?: EncryptedAggregator;
  /** Clock (tests). */
  now?: () => Date;
  /**
   * How a round is decided; the rules' {@link decideRound} unless a test plays a dishonest
   * coordinator. Production code never sets it.
   */
  decide?: (input: RoundInput) => Promise<RoundDecision>;
}

/** Serialises work per run, so a round is never closed twice concurrently. */
class RunLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(runId) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.tails.set(
      runId,
      next.catch(() => undefined),
    );
    return next;
  }
}

export class Coordinator {
  private readonly ledger: LedgerClient;
  private readonly blobs: BlobStore;
  private readonly stateDir: string;
  private readonly observer: CoordinatorObserver;
  private readonly locks = new RunLocks();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => Date;
  private readonly decide: (input: RoundInput) => Promise<RoundDecision>;
  private stopped = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.ledger = options.ledger;
    this.blobs = options.blobs;
    this.stateDir = options.stateDir;
    this.observer = options.observer ?? {};
    this.now = options.now ?? (() => new Date());
    this.decide = options.decide ?? decideRound;
  }

  /**
   * Picks up every active run on the ledger: finishes a close that a crash interrupted, opens a
   * missing next round, closes rounds that are complete, and arms deadline timers.
   */
  async resume(): Promise<void> {
    await mkdir(join(this.stateDir, 'uploads'), { recursive: true });
    for (const run of await this.ledger.listRuns()) {
      if (run.status !== 'active') continue;
      // One run that cannot be resumed (another coordinator's, missing blobs, quorum not met yet)
      // must not keep the gateway from serving the others.
      try {
        await this.locks.run(run.runId, () => this.reconcile(run.runId));
      } catch (err) {
        this.observer.error?.(`run ${run.runId} was not resumed`, err);
      }
    }
  }

  /** Stops deadline timers. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * Records a run on the ledger and opens round 0 with the initial model.
   * @throws {BadRequestError} when the initial model is missing or does not fit the spec.
   */
  async createRun(
    config: RunConfig,
  ): Promise<{ run: RunRecord; created: CommitInfo; opened: CommitInfo }> {
    const settings = runSettings(config);
    let initial: Container;
    try {
      initial = decodeContainer(await this.blobs.get(config.initialModelHash));
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new BadRequestError(
          'FL_ERR_BAD_REQUEST',
          `no model with SHA-256 ${config.initialModelHash} was uploaded; POST it to /v1/models first`,
        );
      }
      throw err;
    }
    if (
      initial.metadata.kind !== 'model' ||
      initial.metadata.modelSpecHash !== config.modelSpecHash
    ) {
      throw new BadRequestError(
        'FL_ERR_BAD_REQUEST',
        "the initial model is not a model container for the run's model spec",
      );
    }
    if (settings.encoding === 'float32') flattenTensors(initial.tensors, settings.modelSpec);
    return this.locks.run(config.runId, async () => {
      const created = await this.ledger.createRun(config);
      const opened = await this.ledger.openRound(config.runId, 0, config.initialModelHash);
      const run = await this.requireRun(config.runId);
      this.armDeadline(run, 0, this.now());
      return { run, created, opened };
    });
  }

  private async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.ledger.getRun(runId);
    if (!run) throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${runId} does not exist`);
    return run;
  }

  /** The open round of a run, if any. */
  async openRound(runId: string): Promise<RoundRecord | undefined> {
    const trail = await this.ledger.getAuditTrail(runId);
    return trail?.rounds.find((r) => r.status === 'open');
  }

  // --- uploads that may never reach the ledger ---------------------------------------------

  private notePath(runId: string, round: number, mspId: string): string {
    return join(this.stateDir, 'uploads', runId, String(round), `${mspId}.json`);
  }

  /** Remembers an upload, so that one that never reaches the ledger is reported at close. */
  async noteUpload(note: UploadNote): Promise<void> {
    const path = this.notePath(note.runId, note.round, note.mspId);
    await mkdir(join(this.stateDir, 'uploads', note.runId, String(note.round)), {
      recursive: true,
    });
    // A temporary name of its own: two uploads of one hospital at once must not share one.
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(note));
    await rename(temporary, path);
  }

  private async uploadNotes(runId: string, round: number): Promise<UploadNote[]> {
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

  // --- closing ------------------------------------------------------------------------------

  /** Called after an update commits: closes the round if every participant has submitted. */
  async updateCommitted(runId: string, round: number): Promise<RoundClosed | undefined> {
    return this.locks.run(runId, async () => {
      const run = await this.requireRun(runId);
      const current = await this.ledger.getRound(runId, round);
      if (!current || current.status !== 'open') return undefined;
      const updates = await this.ledger.listUpdates(runId, round);
      if (updates.length < run.participants.length) return undefined;
      return this.close(run, current, updates);
    });
  }

  /**
   * Closes the open round now if the quorum of valid updates is there (operator action, and what
   * the deadline timer does).
   */
  async closeNow(runId: string): Promise<RoundClosed | undefined> {
    return this.locks.run(runId, async () => {
      const run = await this.requireRun(runId);
      const open = await this.openRound(runId);
      if (!open) return undefined;
      return this.close(run, open, await this.ledger.listUpdates(runId, open.round));
    });
  }

  private async reconcile(runId: string): Promise<void> {
    const trail = await this.ledger.getAuditTrail(runId);
    if (!trail || trail.run.status !== 'active') return;
    const run = trail.run;
    const last = trail.rounds[trail.rounds.length - 1];
    if (!last) {
      await this.ledger.openRound(runId, 0, run.initialModelHash);
      this.armDeadline(run, 0, this.now());
      return;
    }
    if (last.status === 'closed') {
      // Crashed between CloseRound and OpenRound: open the next round with the closed aggregate.
      if (last.round + 1 < run.roundsPlanned && last.aggregateHash) {
        await this.ledger.openRound(runId, last.round + 1, last.aggregateHash);
        this.armDeadline(run, last.round + 1, this.now());
      }
      return;
    }
    if (last.updates.length >= run.participants.length) {
      await this.close(run, last, last.updates);
      return;
    }
    this.armDeadline(run, last.round, new Date(last.openedAt));
  }

  private armDeadline(run: RunRecord, round: number, openedAt: Date): void {
    if (this.stopped) return;
    const key = run.runId;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const dueAt = openedAt.getTime() + runSettings(run).roundDeadlineSeconds * 1000;
    const fire = (): void => {
      this.timers.delete(key);
      this.closeNow(run.runId).catch((err: unknown) => {
        this.observer.error?.(
          `round ${round} of run ${run.runId} could not close at its deadline`,
          err,
        );
        // Try again later: quorum may still come.
        this.armDeadline(run, round, this.now());
      });
    };
    // Node fires a delay above 2^31 − 1 ms at once; a long deadline is waited for in steps.
    const schedule = (): void => {
      const remaining = dueAt - this.now().getTime();
      const step = remaining > MAX_TIMER_MS;
      const timer = setTimeout(
        step ? schedule : fire,
        step ? MAX_TIMER_MS : Math.max(1000, remaining),
      );
      timer.unref();
      this.timers.set(key, timer);
    };
    schedule();
  }

  /**
   * Decides the round with the rules (@fedledger/rules) on the bytes in the blob store, stores
   * the new model, records the close on the ledger and opens the next round. Deterministic: a
   * retry after a crash computes the same decision and the same hash.
   */
  private async close(
    run: RunRecord,
    round: RoundRecord,
    records: UpdateRecord[],
  ): Promise<RoundClosed> {
    const started = Date.now();
    const bytes = new Map<string, Uint8Array>();
    for (const record of records) {
      // As stored, not re-hashed here: decideRound tells altered bytes from missing ones.
      const stored = await this.blobs.getUnverified(record.sha256);
      if (stored) bytes.set(record.sha256, stored);
    }
    const settings = runSettings(run);
    crashPoint('while-aggregating', run.runId);
    const decision = await this.decide({
      run,
      round,
      records,
      bytes,
      ...(settings.encoding === 'float32'
        ? { inputModel: await this.blobs.get(round.inputModelHash) }
        : {}),
      offLedger: await this.uploadNotes(run.runId, round.round),
      ...(this.options.encrypted ? { encrypted: this.options.encrypted } : {}),
    }).catch((err: unknown) => {
      if (err instanceof RoundDecisionError) {
        const code = (
          {
            ENCRYPTED_UNSUPPORTED: 'FL_ERR_CONFIG',
            // Too few valid updates for the strategy's parameters (Krum's 2f + 3).
            STRATEGY_FAILED: 'FL_ERR_QUORUM_NOT_MET',
            INPUT_MODEL_UNAVAILABLE: 'FL_ERR_HASH_MISMATCH',
          } as const satisfies Record<RoundDecisionError['code'], ProblemCode>
        )[err.code];
        throw new GatewayError(code, err.message, { cause: err });
      }
      throw err;
    });
    for (const entry of decision.excluded) {
      this.observer.updateExcluded?.(run.runId, round.round, entry);
    }
    const model = decision.aggregate;
    if (!decision.quorumMet || !model) {
      throw new GatewayError(
        'FL_ERR_QUORUM_NOT_MET',
        `round ${round.round} of run ${run.runId} has ${decision.valid} valid updates; the quorum is ${run.minUpdatesPerRound}`,
      );
    }
    const next = round.round + 1;
    const included = decision.included;
    const excluded = decision.excluded;
    await this.blobs.putBytes(model.bytes);
    const closeStarted = Date.now();
    const close = await this.ledger.closeRound({
      runId: run.runId,
      round: round.round,
      aggregateHash: model.sha256,
      included: [...included].sort(),
      excluded,
    });
    const closeLatencyMs = Date.now() - closeStarted;
    const event: RoundClosed = {
      closeLatencyMs,
      runId: run.runId,
      round: round.round,
      aggregateHash: model.sha256,
      included,
      excluded,
      close,
    };
    if (next < run.roundsPlanned) {
      crashPoint('between-close-and-open', run.runId);
      const openStarted = Date.now();
      event.next = await this.ledger.openRound(run.runId, next, model.sha256);
      event.openLatencyMs = Date.now() - openStarted;
      this.armDeadline(run, next, this.now());
    } else {
      const timer = this.timers.get(run.runId);
      if (timer) clearTimeout(timer);
      this.timers.delete(run.runId);
    }
    this.observer.roundClosed?.(event, Date.now() - started);
    return event;
  }
}
