// How the coordinator ends a round: decides it with the rules on the bytes in its blob store,
// stores the new model and records the close, or, for a secure-aggregation round whose sum cannot
// be recovered once its reveal phase is over, abandons it; then opens the next round.
import type {
  ExcludedUpdate,
  RecoveryEntry,
  RoundRecord,
  RunRecord,
  UpdateRecord,
} from '@fedledger/protocol';
import type { EncryptedAggregator, RoundDecision, RoundInput } from '@fedledger/rules';
import type { BlobStore } from '../blob/blob-store';
import { crashPoint, pausePoint } from '../crash-points';
import { GatewayError } from '../errors';
import type { CommitInfo, LedgerClient } from '../ledger/ledger-client';
import type { CoordinatorObserver } from './coordinator';
import { abandonable, roundInput, undecidable } from './round-input';
import type { UploadNotes } from './upload-notes';

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

/** What a {@link RoundCloser} works with. */
export interface RoundCloserOptions {
  ledger: LedgerClient;
  blobs: BlobStore;
  uploads: UploadNotes;
  encrypted?: EncryptedAggregator;
  decide: (input: RoundInput) => Promise<RoundDecision>;
  now: () => Date;
  observer: CoordinatorObserver;
  /** A round was opened (the coordinator arms its deadline). */
  opened(run: RunRecord, round: number): Promise<void>;
  /** The run's last round closed. */
  completed(runId: string): void;
}

export class RoundCloser {
  constructor(private readonly options: RoundCloserOptions) {}

  private get ledger(): LedgerClient {
    return this.options.ledger;
  }

  /**
   * Abandons a secure-aggregation round whose sum cannot be recovered, its input model carried
   * over, and opens the next round: a hospital that spoils a round cannot stop the run.
   */
  private async abandon(
    run: RunRecord,
    round: RoundRecord,
    records: UpdateRecord[],
    recovery: RecoveryEntry[],
    started: number,
  ): Promise<RoundClosed> {
    const closeStarted = Date.now();
    const close = await this.ledger.abandonRound({
      runId: run.runId,
      round: round.round,
      recovery,
    });
    const excluded = records.map((u) => ({
      mspId: u.mspId,
      sha256: u.sha256,
      code: 'SECAGG_UNRECOVERABLE' as const,
      detail: 'the masked sum could not be recovered; the round carries its input model over',
      onLedger: true,
    }));
    return this.afterClose(
      run,
      round,
      round.inputModelHash,
      [],
      excluded,
      close,
      closeStarted,
      started,
    );
  }

  /**
   * Decides the round with the rules (@fedledger/rules) on the bytes in the blob store, stores
   * the new model, records the close on the ledger and opens the next round. Deterministic: a
   * retry after a crash computes the same decision and the same hash.
   */
  async close(
    run: RunRecord,
    round: RoundRecord,
    records: UpdateRecord[],
    recovery?: RecoveryEntry[],
  ): Promise<RoundClosed> {
    const started = Date.now();
    await pausePoint('before-close', round.round);
    crashPoint('while-aggregating', run.runId);
    const sources = {
      ledger: this.ledger,
      blobs: this.options.blobs,
      uploads: this.options.uploads,
      ...(this.options.encrypted ? { encrypted: this.options.encrypted } : {}),
    };
    let decision: RoundDecision;
    try {
      decision = await this.options.decide(
        await roundInput(sources, run, round, records, recovery),
      );
    } catch (err) {
      if (abandonable(err, run, round, this.options.now())) {
        return this.abandon(run, round, records, recovery ?? [], started);
      }
      return undecidable(err);
    }
    for (const entry of decision.excluded) {
      this.options.observer.updateExcluded?.(run.runId, round.round, entry);
    }
    const model = decision.aggregate;
    if (!decision.quorumMet || !model) {
      throw new GatewayError(
        'FL_ERR_QUORUM_NOT_MET',
        `round ${round.round} of run ${run.runId} has ${decision.valid} valid updates; the quorum is ${run.minUpdatesPerRound}`,
      );
    }
    const included = decision.included;
    const excluded = decision.excluded;
    await this.options.blobs.putBytes(model.bytes);
    const closeStarted = Date.now();
    const close = await this.ledger.closeRound({
      runId: run.runId,
      round: round.round,
      aggregateHash: model.sha256,
      included: [...included].sort(),
      excluded,
      ...(decision.recovery ? { recovery: decision.recovery } : {}),
    });
    return this.afterClose(
      run,
      round,
      model.sha256,
      included,
      excluded,
      close,
      closeStarted,
      started,
    );
  }

  /** Reports a round's close and opens the next round, unless the run has completed. */
  private async afterClose(
    run: RunRecord,
    round: RoundRecord,
    aggregateHash: string,
    included: string[],
    excluded: ExcludedUpdate[],
    close: CommitInfo,
    closeStarted: number,
    started: number,
  ): Promise<RoundClosed> {
    const next = round.round + 1;
    const event: RoundClosed = {
      closeLatencyMs: Date.now() - closeStarted,
      runId: run.runId,
      round: round.round,
      aggregateHash,
      included,
      excluded,
      close,
    };
    if (next < run.roundsPlanned) {
      crashPoint('between-close-and-open', run.runId);
      const openStarted = Date.now();
      event.next = await this.ledger.openRound(run.runId, next, aggregateHash);
      event.openLatencyMs = Date.now() - openStarted;
      await this.options.opened(run, next);
      await pausePoint('round-opened', next);
    } else {
      this.options.completed(run.runId);
    }
    this.options.observer.roundClosed?.(event, Date.now() - started);
    return event;
  }
}
