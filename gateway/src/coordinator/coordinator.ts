// The round coordinator: creates runs, opens rounds, and closes them by aggregating exactly the
// updates whose bytes match a committed ledger record created by their hospital. All of its state
// can be rebuilt from the ledger and the blob store (plus the record of uploads that never reached
// the ledger), so a restart at any point carries on without losing or double-counting an update.
// Every step is driven by what the ledger says (which round is open or closed, when it opened):
// a step that fails, say while the orderers cannot reach consensus, is tried again with backoff
// until it succeeds or the gateway stops, so the run never waits for a restart.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Container,
  ExcludedUpdate,
  RoundRecord,
  RoundTrail,
  RunConfig,
  RunRecord,
} from '@fedledger/protocol';
import { decodeContainer } from '@fedledger/protocol';
import type { EncryptedAggregator, RoundDecision, RoundInput } from '@fedledger/rules';
import { decideRound, flattenTensors, runSettings } from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { BadRequestError, GatewayError, LedgerRuleError, NotFoundError } from '../errors';
import type { CommitInfo, LedgerClient } from '../ledger/ledger-client';
import type { Backoff } from './run-schedule';
import { RunSchedule } from './run-schedule';
import type { SecAggNote, SecAggNoteKind } from './secagg-phases';
import { SecAggPhases } from './secagg-phases';
import { RoundCloser } from './round-closer';
import { RunLocks } from './run-locks';
import { UploadNotes } from './upload-notes';

/**
 * A round's deadline counts as reached this long before it: a timer may fire a little early, and
 * the ledger's time of opening comes from a clock of its own.
 */
const DEADLINE_SLACK_MS = 250;

/** Refusals that no retry can change: the run is someone else's, or over. */
const FINAL_REFUSALS = new Set(['NOT_COORDINATOR', 'RUN_COMPLETED', 'RUN_NOT_FOUND']);

export type { UploadNote } from './upload-notes';
import type { UploadNote } from './upload-notes';

export type { RoundClosed } from './round-closer';
import type { RoundClosed } from './round-closer';

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
  /** Delays between tries of a failed ledger step (default 1 s doubling to 15 s). */
  backoff?: Partial<Backoff>;
}

export class Coordinator {
  private readonly ledger: LedgerClient;
  private readonly blobs: BlobStore;
  private readonly stateDir: string;
  private readonly observer: CoordinatorObserver;
  private readonly locks = new RunLocks();
  private readonly schedule: RunSchedule;
  private readonly now: () => Date;
  private readonly decide: (input: RoundInput) => Promise<RoundDecision>;
  private readonly secagg: SecAggPhases;
  private readonly uploads: UploadNotes;
  private readonly closer: RoundCloser;

  constructor(private readonly options: CoordinatorOptions) {
    this.ledger = options.ledger;
    this.blobs = options.blobs;
    this.stateDir = options.stateDir;
    this.observer = options.observer ?? {};
    this.now = options.now ?? (() => new Date());
    this.decide = options.decide ?? decideRound;
    this.uploads = new UploadNotes(this.stateDir);
    this.closer = new RoundCloser({
      ledger: this.ledger,
      blobs: this.blobs,
      uploads: this.uploads,
      ...(options.encrypted ? { encrypted: options.encrypted } : {}),
      decide: this.decide,
      now: this.now,
      observer: this.observer,
      opened: (run, round) => this.armDeadlineFromLedger(run, round),
      completed: (runId) => this.schedule.cancel(runId),
    });
    this.secagg = new SecAggPhases({
      ledger: this.ledger,
      blobs: this.blobs,
      stateDir: this.stateDir,
      now: this.now,
    });
    this.schedule = new RunSchedule({
      now: this.now,
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }

  /**
   * Picks up every active run on the ledger: finishes a close that a crash interrupted, opens a
   * missing next round, closes rounds that are complete, and arms deadline timers. A run whose
   * step fails is tried again in the background; it does not keep the gateway from serving.
   */
  async resume(): Promise<void> {
    await mkdir(join(this.stateDir, 'uploads'), { recursive: true });
    for (const run of await this.ledger.listRuns()) {
      if (run.status !== 'active') continue;
      await this.converge(run.runId, 'resuming');
    }
  }

  /** Stops deadline and retry timers. */
  stop(): void {
    this.schedule.stop();
  }

  /**
   * Brings a run to where its ledger state says it should be ({@link reconcile}). When that
   * fails, tries again after a backoff, and again, until it succeeds, the refusal is final (the
   * run is another coordinator's or over) or the coordinator stops. Never rejects.
   */
  private async converge(runId: string, step: string): Promise<void> {
    try {
      await this.locks.run(runId, () => this.reconcile(runId));
      this.schedule.succeeded(runId);
    } catch (err) {
      this.retryLater(runId, step, err);
    }
  }

  private retryLater(runId: string, step: string, err: unknown): void {
    if (
      err instanceof NotFoundError ||
      (err instanceof GatewayError && err.code === 'FL_ERR_CONFIG') ||
      (err instanceof LedgerRuleError && FINAL_REFUSALS.has(err.ledgerCode))
    ) {
      this.schedule.cancel(runId);
      this.observer.error?.(`${step} run ${runId} stopped: the ledger refuses for good`, err);
      return;
    }
    const delay = this.schedule.retry(runId, () => void this.converge(runId, step));
    this.observer.error?.(
      `${step} run ${runId} failed (${this.schedule.failuresOf(runId)} in a row); trying again in ${delay} ms`,
      err,
    );
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
      let opened: CommitInfo;
      try {
        opened = await this.ledger.openRound(config.runId, 0, config.initialModelHash);
      } catch (err) {
        // The run is on the ledger: its round 0 opens in the background once the ledger allows.
        this.retryLater(config.runId, 'opening round 0 of', err);
        throw err;
      }
      const run = await this.requireRun(config.runId);
      await this.armDeadlineFromLedger(run, 0);
      return { run, created, opened };
    });
  }

  private async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.ledger.getRun(runId);
    if (!run) throw new NotFoundError('FL_ERR_NOT_FOUND', `run ${runId} does not exist`);
    return run;
  }

  /** The open round of a run, if any. */
  async openRound(runId: string): Promise<RoundTrail | undefined> {
    const trail = await this.ledger.getAuditTrail(runId);
    return trail?.rounds.find((r) => r.status === 'open');
  }

  // --- uploads that may never reach the ledger ---------------------------------------------

  /** Remembers an upload, so that one that never reaches the ledger is reported at close. */
  async noteUpload(note: UploadNote): Promise<void> {
    await this.uploads.note(note);
  }

  // --- secure aggregation -------------------------------------------------------------------

  /** Remembers a hospital's share bundle or reveal and moves its round on if it can. */
  async noteSecAgg(kind: SecAggNoteKind, note: SecAggNote): Promise<void> {
    await this.secagg.note(kind, note);
    this.secaggNoted(note.runId);
  }

  /** The SHA-256 of the last bundle or reveal a hospital sent for a round, if any. */
  async secAggNote(
    kind: SecAggNoteKind,
    runId: string,
    round: number,
    mspId: string,
  ): Promise<string | undefined> {
    return (await this.secagg.notes(kind, runId, round)).get(mspId);
  }

  /** Something of a secure-aggregation round arrived (keys, a bundle, a reveal): look again. */
  secaggNoted(runId: string): void {
    void this.converge(runId, 'moving on a secure-aggregation round of');
  }

  // --- closing ------------------------------------------------------------------------------

  /**
   * Called after an update commits: closes the round if every participant has submitted. A close
   * that fails is tried again in the background.
   */
  async updateCommitted(runId: string, round: number): Promise<RoundClosed | undefined> {
    try {
      return await this.locks.run(runId, async () => {
        const run = await this.requireRun(runId);
        if (runSettings(run).encoding === 'secagg') {
          this.secaggNoted(runId);
          return undefined;
        }
        const current = await this.ledger.getRound(runId, round);
        if (!current || current.status !== 'open') return undefined;
        const updates = await this.ledger.listUpdates(runId, round);
        // Every participant, or past the deadline (a round waiting for its quorum).
        const due = this.now().getTime() >= this.deadlineOf(run, current) - DEADLINE_SLACK_MS;
        if (updates.length < run.participants.length && !due) return undefined;
        return this.closer.close(run, current, updates);
      });
    } catch (err) {
      this.retryLater(runId, `closing round ${round} of`, err);
      throw err;
    }
  }

  /**
   * Closes the open round now if the quorum of valid updates is there (operator action). A close
   * the ledger could not record is tried again in the background, at the deadline's pace (a
   * quorum not met now waits for the deadline, as without this call).
   */
  async closeNow(runId: string): Promise<RoundClosed | undefined> {
    try {
      return await this.locks.run(runId, async () => {
        const run = await this.requireRun(runId);
        const open = await this.openRound(runId);
        if (!open) return undefined;
        if (runSettings(run).encoding === 'secagg') {
          // A masked round closes only once unmasked: the phases decide when.
          const step = await this.secagg.step(run, open);
          if (step.action === 'wait') return undefined;
          return this.closer.close(run, open, open.updates, step.recovery);
        }
        return this.closer.close(run, open, await this.ledger.listUpdates(runId, open.round));
      });
    } catch (err) {
      this.retryLater(runId, 'closing by hand the open round of', err);
      throw err;
    }
  }

  /**
   * Does the one step the run's ledger state calls for: opens round 0, opens the round after a
   * closed one, closes an open round that is complete or past its deadline, or waits for the
   * deadline of the open round, measured from when the ledger says it opened.
   */
  private async reconcile(runId: string): Promise<void> {
    const trail = await this.ledger.getAuditTrail(runId);
    if (!trail || trail.run.status !== 'active') {
      this.schedule.cancel(runId);
      return;
    }
    const run = trail.run;
    const last = trail.rounds[trail.rounds.length - 1];
    if (!last) {
      await this.ledger.openRound(runId, 0, run.initialModelHash);
      await this.armDeadlineFromLedger(run, 0);
      return;
    }
    if (last.status === 'closed') {
      // Stopped between CloseRound and OpenRound: open the next round with the closed aggregate.
      if (last.round + 1 < run.roundsPlanned && last.aggregateHash) {
        await this.ledger.openRound(runId, last.round + 1, last.aggregateHash);
        await this.armDeadlineFromLedger(run, last.round + 1);
      }
      return;
    }
    if (runSettings(run).encoding === 'secagg') {
      const step = await this.secagg.step(run, last);
      if (step.action === 'close') {
        await this.closer.close(run, last, last.updates, step.recovery);
      } else {
        this.schedule.at(
          runId,
          step.until,
          () => void this.converge(runId, `the secure-aggregation phase of round ${last.round} of`),
        );
      }
      return;
    }
    const dueAt = this.deadlineOf(run, last);
    const complete = last.updates.length >= run.participants.length;
    if (complete || this.now().getTime() >= dueAt - DEADLINE_SLACK_MS) {
      try {
        await this.closer.close(run, last, last.updates);
        return;
      } catch (err) {
        if (!(err instanceof GatewayError && err.code === 'FL_ERR_QUORUM_NOT_MET')) throw err;
        if (complete) {
          // Every participant has a record and the quorum still fails: no update can come any
          // more. Said once; the run waits for the operator.
          this.schedule.cancel(runId);
          this.observer.error?.(
            `round ${last.round} of run ${runId} cannot close: every participant has submitted and too few updates are valid; it needs the operator`,
            err,
          );
          return;
        }
        // Past the deadline without the quorum: the next committed update closes it; meanwhile
        // look again a deadline later, not at the ledger-retry pace.
        this.observer.error?.(
          `round ${last.round} of run ${runId} is past its deadline without the quorum; it closes when enough updates arrive`,
          err,
        );
        this.schedule.at(
          runId,
          this.now().getTime() + this.deadlineMs(run),
          () => void this.converge(runId, `the deadline of round ${last.round} of`),
        );
        return;
      }
    }
    this.schedule.at(
      runId,
      dueAt,
      () => void this.converge(runId, `the deadline of round ${last.round} of`),
    );
  }

  /**
   * The run's round deadline in milliseconds.
   * @throws {GatewayError} FL_ERR_CONFIG when the run's settings hold no usable deadline (a run
   * this gateway did not create): a final refusal, not retried.
   */
  private deadlineMs(run: RunRecord): number {
    const seconds = runSettings(run).roundDeadlineSeconds as unknown;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1) {
      throw new GatewayError(
        'FL_ERR_CONFIG',
        `run ${run.runId} records no usable round deadline (${String(seconds)}); it is not coordinated here`,
      );
    }
    return seconds * 1000;
  }

  private deadlineOf(run: RunRecord, round: RoundRecord): number {
    return new Date(round.openedAt).getTime() + this.deadlineMs(run);
  }

  /** Arms the deadline of a round just opened, from the opening time the ledger recorded. */
  private async armDeadlineFromLedger(run: RunRecord, round: number): Promise<void> {
    const record = await this.ledger.getRound(run.runId, round);
    const dueAt = record
      ? this.deadlineOf(run, record)
      : this.now().getTime() + this.deadlineMs(run);
    this.schedule.at(
      run.runId,
      dueAt,
      () => void this.converge(run.runId, `the deadline of round ${round} of`),
    );
  }
}
