// Who may write a hospital's record: a participant of the active run, for itself only.
import type { ClientRef, RunRecord } from '@fedledger/protocol';
import type { LedgerState } from './ledger-state';
import { ensure } from './rule-error';

/**
 * The caller, once it is a participant of the active run acting as `mspId` (its own MSP).
 * @throws {LedgerRuleError} RUN_COMPLETED, NOT_PARTICIPANT or MSP_MISMATCH.
 */
export function participantActingForItself(
  state: LedgerState,
  run: RunRecord,
  mspId: string,
  what: string,
): ClientRef {
  ensure(run.status === 'active', 'RUN_COMPLETED', `run ${run.runId} has completed`);
  const caller = state.caller();
  ensure(
    run.participants.includes(caller.mspId),
    'NOT_PARTICIPANT',
    `${caller.mspId} is not a participant of run ${run.runId}`,
  );
  ensure(mspId === caller.mspId, 'MSP_MISMATCH', `${caller.mspId} cannot ${what} as ${mspId}`);
  return caller;
}
