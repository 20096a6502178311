// The rules of secure-aggregation rounds, as the contract enforces them. A round collects key
// advertisements (each signed by its hospital), then the coordinator fixes the mask set (who
// dealt shares to whom) and updates are taken only from it, then the coordinator fixes the
// survivors (no update is taken after that) and hospitals reveal shares for exactly those sets.
// Because both sets are on the ledger, every hospital reads the same ones from its own peer: a
// gateway cannot tell one hospital that a peer dropped and another that it survived.
import { keysKey } from '@fedledger/protocol';
import type {
  AbandonRoundRequest,
  BeginMaskingRequest,
  CloseRoundRequest,
  KeysRecord,
  KeysSubmission,
  RoundRecord,
  RunRecord,
  UpdateSubmission,
} from '@fedledger/protocol';
import type { SecAggSettings } from '@fedledger/protocol/secagg';
import { SecAggError, checkRunSecAggSettings } from '@fedledger/protocol/secagg';
import type { LedgerState } from './ledger-state';
import { participantActingForItself } from './participant-check';
import { ensure } from './rule-error';

/** True when the run masks its updates (settings.encoding 'secagg'). */
export function isSecAggRun(run: Pick<RunRecord, 'settings'>): boolean {
  return run.settings.encoding === 'secagg';
}

/**
 * The run's secure-aggregation settings, checked against the run (weights over the declared
 * sample counts, a majority threshold …): at creation, so that no coordinator can record settings
 * that quantise every update to nothing or let a minority recover a secret.
 */
export function secAggSettingsOf(
  run: Pick<RunRecord, 'settings' | 'participants' | 'sampleCounts' | 'strategy'>,
): SecAggSettings {
  ensure(
    run.strategy === 'fedavg',
    'INVALID_ARGUMENT',
    'a secure-aggregation run aggregates with fedavg',
  );
  try {
    return checkRunSecAggSettings(run.settings.secagg, run.participants, run.sampleCounts);
  } catch (err) {
    if (err instanceof SecAggError) ensure(false, 'INVALID_ARGUMENT', err.message);
    throw err;
  }
}

/** Seconds from the round's opening after which its deadline has passed (settings, default 600). */
function deadlineSecondsOf(run: RunRecord): number {
  const seconds = run.settings.roundDeadlineSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : 600;
}

/** True when the transaction's time is at least `seconds` after `since`. */
function elapsed(state: LedgerState, since: string, seconds: number): boolean {
  return Date.parse(state.txTime()) >= Date.parse(since) + seconds * 1000;
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
  const caller = participantActingForItself(state, run, mspId, 'advertise keys');
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
  const settings = secAggSettingsOf(run);
  const fewest = Math.max(settings.threshold, run.minUpdatesPerRound, settings.minSurvivors);
  ensure(
    maskSet.length >= fewest,
    'QUORUM_NOT_MET',
    `a mask set of ${maskSet.length} is below the threshold ${settings.threshold}, the quorum ${run.minUpdatesPerRound} or the fewest survivors ${settings.minSurvivors}`,
  );
  // Leaving a participant out is the coordinator's call only once the phase is over: before, it
  // could shut out a hospital that is about to deal.
  ensure(
    maskSet.length === run.participants.length ||
      elapsed(state, record.openedAt, settings.phaseSeconds),
    'SECAGG_PHASE',
    `a mask set without every participant waits ${settings.phaseSeconds} s from the round's opening`,
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
  const settings = secAggSettingsOf(run);
  // Fewer survivors than this would hand a gateway colluding with one of them another's update.
  ensure(
    survivors.length >= Math.max(settings.minSurvivors, run.minUpdatesPerRound),
    'QUORUM_NOT_MET',
    `${survivors.length} updates; a secure-aggregation round needs at least ${Math.max(settings.minSurvivors, run.minUpdatesPerRound)}`,
  );
  ensure(
    survivors.length === record.secagg.maskSet.length ||
      elapsed(state, record.openedAt, deadlineSecondsOf(run)),
    'SECAGG_PHASE',
    `the round takes masked updates until every member submitted or its deadline (${deadlineSecondsOf(run)} s) passed`,
  );
  const next: RoundRecord = {
    ...record,
    secagg: { ...record.secagg, phase: 'unmasking', survivors, unmaskingAt: state.txTime() },
  };
  await state.putRound(next);
  return next;
}

/**
 * Closes an unmasking round without an aggregate, when its sum cannot be recovered (a hospital
 * dealt shares that do not match its commitment, or recorded an update whose bytes nobody has):
 * only after the reveal phase, its input model carried over as its aggregate and every update
 * excluded as SECAGG_UNRECOVERABLE. An auditor re-decides the round from the reveals named here
 * and flags an abandoned round whose sum it can recover.
 */
export async function abandonRound(
  state: LedgerState,
  run: RunRecord,
  request: AbandonRoundRequest,
): Promise<RoundRecord> {
  const { runId, round } = request;
  ensure(isSecAggRun(run), 'NOT_SECAGG', `run ${runId} does not use secure aggregation`);
  const record = openRoundOf(await state.getRound(runId, round), run, round);
  const secagg = record.secagg;
  ensure(
    secagg?.phase === 'unmasking' && secagg.unmaskingAt !== undefined,
    'SECAGG_PHASE',
    `round ${round} of run ${runId} is not unmasking`,
  );
  const settings = secAggSettingsOf(run);
  ensure(
    elapsed(state, secagg.unmaskingAt, settings.phaseSeconds),
    'SECAGG_PHASE',
    `round ${round} takes reveals for ${settings.phaseSeconds} s after its survivors were fixed`,
  );
  const survivors = new Set(secagg.survivors ?? []);
  for (const entry of request.recovery) {
    ensure(
      survivors.has(entry.mspId),
      'INVALID_ARGUMENT',
      `recovery material from ${entry.mspId}, which is not a survivor of round ${round}`,
    );
  }
  const updates = await state.listUpdates(runId, round);
  const closed: RoundRecord = {
    ...record,
    status: 'closed',
    aggregateHash: record.inputModelHash,
    included: [],
    excluded: updates.map((u) => ({
      mspId: u.mspId,
      sha256: u.sha256,
      code: 'SECAGG_UNRECOVERABLE',
      detail: 'the masked sum could not be recovered; the round carries its input model over',
      onLedger: true,
    })),
    closedAt: state.txTime(),
    closeTxId: state.txId(),
    secagg: { ...secagg, recovery: request.recovery, abandoned: true },
  };
  await state.putRound(closed);
  if (round === run.roundsPlanned - 1) {
    await state.putRun({ ...run, status: 'completed', finalModelHash: record.inputModelHash });
  }
  return closed;
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
  // The weight is inside the masked words: the recorded count must be the one everyone divides by.
  const declared = run.sampleCounts[submission.mspId];
  ensure(
    submission.sampleCount === declared,
    'INVALID_SAMPLE_COUNT',
    `a masked update is weighed by its declared sample count (${declared ?? 'none'}); it claims ${submission.sampleCount}`,
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
