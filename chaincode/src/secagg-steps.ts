// The rules of secure-aggregation rounds, as the contract enforces them. A round collects key
// advertisements (each signed by its hospital), then the coordinator fixes the mask set (who
// dealt shares to whom) and updates are taken only from it, then the coordinator fixes the
// survivors (no update is taken after that) and hospitals reveal shares for exactly those sets.
// Because both sets are on the ledger, every hospital reads the same ones from its own peer: a
// gateway cannot tell one hospital that a peer dropped and another that it survived.
import { keysKey } from '@fedledger/protocol';
import type {
  BeginMaskingRequest,
  CloseRoundRequest,
  KeysRecord,
  KeysSubmission,
  RoundRecord,
  RunRecord,
  UpdateSubmission,
} from '@fedledger/protocol';
import type { LedgerState } from './ledger-state';
import { ensure } from './rule-error';

/** True when the run masks its updates (settings.encoding 'secagg'). */
export function isSecAggRun(run: RunRecord): boolean {
  return run.settings.encoding === 'secagg';
}

/** The Shamir threshold the run records (at least 2); the mask set may not be smaller. */
function thresholdOf(run: RunRecord): number {
  const secagg = run.settings.secagg as { threshold?: unknown } | undefined;
  const t = secagg?.threshold;
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 2 ? t : 2;
}

function openRoundOf(record: RoundRecord | undefined, run: RunRecord, round: number): RoundRecord {
  ensure(
    record?.status === 'open',
    'ROUND_NOT_OPEN',
    record
      ? `round ${round} of run ${run.runId} is closed`
      : `round ${round} of run ${run.runId} has not been opened`,
  );
  return record;
}

/** Records a hospital's keys for an open round still collecting keys; never overwrites. */
export async function advertiseKeys(
  state: LedgerState,
  run: RunRecord,
  submission: KeysSubmission,
): Promise<KeysRecord> {
  const { runId, round, mspId } = submission;
  ensure(isSecAggRun(run), 'NOT_SECAGG', `run ${runId} does not use secure aggregation`);
  ensure(run.status === 'active', 'RUN_COMPLETED', `run ${runId} has completed`);
  const caller = state.caller();
  ensure(
    run.participants.includes(caller.mspId),
    'NOT_PARTICIPANT',
    `${caller.mspId} is not a participant of run ${runId}`,
  );
  ensure(
    mspId === caller.mspId,
    'MSP_MISMATCH',
    `${caller.mspId} cannot advertise keys as ${mspId}`,
  );
  const record = openRoundOf(await state.getRound(runId, round), run, round);
  ensure(
    record.secagg === undefined,
    'SECAGG_PHASE',
    `round ${round} of run ${runId} has fixed its mask set; keys come before it`,
  );
  ensure(
    !(await state.getKeys(runId, round, mspId)),
    'KEYS_EXIST',
    `${mspId} already advertised keys for round ${round} of run ${runId}`,
  );
  const keys: KeysRecord = {
    ...submission,
    docType: 'secaggKeys',
    key: keysKey(runId, round, mspId),
    creator: { mspId: caller.mspId, certFingerprint: caller.certFingerprint },
    txId: state.txId(),
    timestamp: state.txTime(),
  };
  await state.putKeys(keys);
  return keys;
}

/** Fixes the round's mask set: hospitals with advertised keys, at least the threshold. */
export async function beginMasking(
  state: LedgerState,
  run: RunRecord,
  request: BeginMaskingRequest,
): Promise<RoundRecord> {
  const { runId, round, maskSet } = request;
  ensure(isSecAggRun(run), 'NOT_SECAGG', `run ${runId} does not use secure aggregation`);
  const record = openRoundOf(await state.getRound(runId, round), run, round);
  ensure(
    record.secagg === undefined,
    'SECAGG_PHASE',
    `round ${round} of run ${runId} already fixed its mask set`,
  );
  const threshold = thresholdOf(run);
  ensure(
    maskSet.length >= Math.max(threshold, run.minUpdatesPerRound),
    'QUORUM_NOT_MET',
    `a mask set of ${maskSet.length} is below the threshold ${threshold} or the quorum ${run.minUpdatesPerRound}`,
  );
  const advertised = new Set((await state.listKeys(runId, round)).map((k) => k.mspId));
  for (const entry of maskSet) {
    ensure(
      advertised.has(entry.mspId),
      'NOT_IN_MASK_SET',
      `${entry.mspId} advertised no keys for round ${round}; it cannot be in the mask set`,
    );
  }
  const next: RoundRecord = {
    ...record,
    secagg: { phase: 'masking', maskSet, maskingAt: state.txTime() },
  };
  await state.putRound(next);
  return next;
}

/** Fixes the survivors (the hospitals with an update); no update is taken after this. */
export async function beginUnmasking(
  state: LedgerState,
  run: RunRecord,
  round: number,
): Promise<RoundRecord> {
  ensure(isSecAggRun(run), 'NOT_SECAGG', `run ${run.runId} does not use secure aggregation`);
  const record = openRoundOf(await state.getRound(run.runId, round), run, round);
  ensure(
    record.secagg?.phase === 'masking',
    'SECAGG_PHASE',
    `round ${round} of run ${run.runId} is not taking masked updates`,
  );
  const survivors = (await state.listUpdates(run.runId, round)).map((u) => u.mspId).sort();
  const next: RoundRecord = {
    ...record,
    secagg: { ...record.secagg, phase: 'unmasking', survivors, unmaskingAt: state.txTime() },
  };
  await state.putRound(next);
  return next;
}

/** A masked update is taken only while the round masks, and only from its mask set. */
export function checkMaskedSubmission(
  run: RunRecord,
  round: RoundRecord,
  submission: UpdateSubmission,
): void {
  if (!isSecAggRun(run)) {
    ensure(
      submission.encoding !== 'secagg',
      'INVALID_ARGUMENT',
      `run ${run.runId} does not use secure aggregation`,
    );
    return;
  }
  ensure(
    submission.encoding === 'secagg',
    'INVALID_ARGUMENT',
    `run ${run.runId} takes masked (secagg) updates only`,
  );
  ensure(
    round.secagg?.phase === 'masking',
    'SECAGG_PHASE',
    `round ${round.round} of run ${run.runId} is not taking masked updates (${round.secagg ? 'its survivors are fixed' : 'its mask set is not fixed yet'})`,
  );
  ensure(
    round.secagg.maskSet.some((e) => e.mspId === submission.mspId),
    'NOT_IN_MASK_SET',
    `${submission.mspId} is not in the mask set of round ${round.round}`,
  );
}

/** A secure-aggregation round closes after its survivors are fixed, including only survivors. */
export function checkMaskedClose(
  run: RunRecord,
  round: RoundRecord,
  request: CloseRoundRequest,
): RoundRecord['secagg'] {
  if (!isSecAggRun(run)) {
    ensure(
      request.recovery === undefined,
      'INVALID_ARGUMENT',
      `run ${run.runId} does not use secure aggregation; a close has no recovery material`,
    );
    return undefined;
  }
  ensure(
    round.secagg?.phase === 'unmasking',
    'SECAGG_PHASE',
    `round ${round.round} of run ${run.runId} closes only after its survivors are fixed`,
  );
  const survivors = new Set(round.secagg.survivors ?? []);
  for (const msp of request.included) {
    ensure(
      survivors.has(msp),
      'UNKNOWN_UPDATE',
      `${msp} is not a survivor of round ${round.round}`,
    );
  }
  const recovery = request.recovery ?? [];
  for (const entry of recovery) {
    ensure(
      survivors.has(entry.mspId),
      'INVALID_ARGUMENT',
      `recovery material from ${entry.mspId}, which is not a survivor of round ${round.round}`,
    );
  }
  return { ...round.secagg, recovery };
}
