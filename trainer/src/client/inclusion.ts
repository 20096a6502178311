// Whether a hospital's updates made it into each round's aggregate, read from the ledger's audit
// trail: included, excluded (with the coordinator's recorded reason), pending, or missing.
import type { AuditTrail, ExclusionCode } from '@fedledger/protocol';
import { TrainerError } from '../errors';

/** One round from one hospital's point of view. */
export interface RoundInclusion {
  round: number;
  /**
   * `included`: in the aggregate. `excluded`: left out, `code` says why. `pending`: recorded,
   * round still open. `missing`: no update from this hospital is recorded for the round.
   */
  state: 'included' | 'excluded' | 'pending' | 'missing';
  /** The update's SHA-256 and transaction, when the ledger records one. */
  sha256?: string;
  txId?: string;
  /** The recorded code of an exclusion (absent when the close record does not list the update). */
  code?: ExclusionCode;
  /** The coordinator's sentence about the exclusion. */
  detail?: string;
  /** For `excluded`: whether the excluded update was recorded on the ledger. */
  onLedger?: boolean;
}

/** The inclusion of `mspId`'s updates in every round of the trail. */
export function inclusionOf(trail: AuditTrail, mspId: string): RoundInclusion[] {
  return trail.rounds.map((round) => {
    const update = round.updates.find((u) => u.mspId === mspId);
    const recorded = update ? { sha256: update.sha256, txId: update.txId } : {};
    // The exclusion of this hospital's recorded update, if it has one; an entry for an upload
    // that never reached the ledger only when nothing is recorded.
    const excluded = update
      ? round.excluded?.find((e) => e.mspId === mspId && e.onLedger && e.sha256 === update.sha256)
      : round.excluded?.find((e) => e.mspId === mspId);
    if (round.status === 'closed' && round.included?.includes(mspId)) {
      return { round: round.round, state: 'included', ...recorded };
    }
    if (excluded) {
      return {
        round: round.round,
        state: 'excluded',
        ...recorded,
        sha256: excluded.sha256,
        code: excluded.code,
        detail: excluded.detail,
        onLedger: excluded.onLedger,
      };
    }
    if (update && round.status === 'open')
      return { round: round.round, state: 'pending', ...recorded };
    // A recorded update in a closed round that is neither included nor excluded would break the
    // contract's ROUND_INCOMPLETE rule; say "missing" only when nothing is recorded.
    if (update) {
      return {
        round: round.round,
        state: 'excluded',
        ...recorded,
        detail: 'not listed in the close record',
      };
    }
    return { round: round.round, state: 'missing' };
  });
}

/** `check` found at least one of the hospital's ledger-recorded updates excluded. */
export class UpdatesExcludedError extends TrainerError {
  readonly rounds: number[];

  constructor(mspId: string, rounds: number[]) {
    super(
      'UPDATES_EXCLUDED',
      `${mspId}'s recorded update was excluded from round(s) ${rounds.join(', ')}.`,
    );
    this.rounds = rounds;
  }
}
