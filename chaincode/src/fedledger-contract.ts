// The fedledger contract: runs, rounds and hospital updates, with the rules of chain of custody.
import { canonicalJson, roundKey, runKey, updateKey } from '@fedledger/protocol';
import type { AuditTrail, RoundRecord, RunRecord, UpdateRecord } from '@fedledger/protocol';
import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import * as args from './arguments';
import { LedgerState } from './ledger-state';
import { participantActingForItself } from './participant-check';
import { LedgerRuleError, ensure } from './rule-error';
import * as secaggArgs from './secagg-arguments';
import * as secagg from './secagg-steps';

/**
 * The organisations the consortium names as coordinators, from the chaincode server's
 * configuration (`FEDLEDGER_COORDINATOR_MSPS`, comma-separated MSP IDs; default CoordinatorMSP).
 * Every organisation's chaincode reads its own copy: a hospital that edits its copy endorses alone,
 * and a run needs the endorsement of a majority of hospitals.
 */
export function consortiumCoordinators(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = (env.FEDLEDGER_COORDINATOR_MSPS ?? 'CoordinatorMSP')
    .split(',')
    .map((msp) => msp.trim())
    .filter((msp) => msp.length > 0);
  return listed;
}

@Info({ title: 'fedledger', description: 'Ledger of federated-learning runs, rounds and updates' })
export class FedLedgerContract extends Contract {
  private readonly coordinators: readonly string[];

  constructor(coordinators: readonly string[] = consortiumCoordinators()) {
    super('fedledger');
    this.coordinators = coordinators;
  }

  /**
   * Creates a run; the caller, who must belong to an organisation the consortium names as
   * coordinator, becomes its coordinator. Emits RunCreated.
   */
  @Transaction()
  @Returns('string')
  async CreateRun(ctx: Context, configJson: string): Promise<string> {
    const state = new LedgerState(ctx);
    const caller = state.caller();
    ensure(
      this.coordinators.includes(caller.mspId),
      'NOT_CONSORTIUM_COORDINATOR',
      `${caller.mspId} may not create runs; the consortium's coordinators are ${this.coordinators.join(', ') || 'none'}`,
    );
    const config = args.runConfig(args.parseObject(configJson, 'run config'));
    if (secagg.isSecAggRun(config)) secagg.secAggSettingsOf(config);
    ensure(!(await state.getRun(config.runId)), 'RUN_EXISTS', `run ${config.runId} already exists`);
    const record: RunRecord = {
      ...config,
      docType: 'run',
      key: runKey(config.runId),
      coordinator: caller,
      status: 'active',
      createdAt: state.txTime(),
      txId: state.txId(),
    };
    await state.putRun(record);
    state.emit('RunCreated', record);
    return canonicalJson(record);
  }

  /** Opens a round with its input model; coordinator only. Emits RoundOpened. */
  @Transaction()
  @Returns('string')
  async OpenRound(
    ctx: Context,
    runIdArg: string,
    roundArg: string,
    inputModelHash: string,
  ): Promise<string> {
    const runId = args.runId(runIdArg);
    const round = args.roundNumber(roundArg);
    const input = args.sha256(inputModelHash, 'inputModelHash');
    const state = new LedgerState(ctx);
    const run = await this.activeRunForCoordinator(state, runId);
    ensure(
      round < run.roundsPlanned,
      'ROUND_LIMIT',
      `run ${runId} plans ${run.roundsPlanned} rounds (0-${run.roundsPlanned - 1}); round ${round} is past them`,
    );
    ensure(
      !(await state.getRound(runId, round)),
      'ROUND_EXISTS',
      `round ${round} of run ${runId} is already open or closed`,
    );
    if (round === 0) {
      ensure(
        input === run.initialModelHash,
        'CHAIN_OF_CUSTODY',
        `round 0 must start from the run's initial model ${run.initialModelHash}`,
      );
    } else {
      const previous = await state.getRound(runId, round - 1);
      ensure(
        previous?.status === 'closed',
        'ROUND_OUT_OF_ORDER',
        `round ${round} can open only after round ${round - 1} has closed`,
      );
      ensure(
        input === previous.aggregateHash,
        'CHAIN_OF_CUSTODY',
        `round ${round} must start from round ${round - 1}'s aggregate ${previous.aggregateHash ?? ''}`,
      );
    }
    const record: RoundRecord = {
      docType: 'round',
      key: roundKey(runId, round),
      runId,
      round,
      status: 'open',
      inputModelHash: input,
      openedAt: state.txTime(),
      openTxId: state.txId(),
    };
    await state.putRound(record);
    state.emit('RoundOpened', record);
    return canonicalJson(record);
  }

  /**
   * Records a hospital's update for an open round; never overwrites. Emits UpdateSubmitted with
   * the record. Returns only the update key: the response is copied into every endorsement of
   * the transaction, and the record already travels in its write set and its event.
   */
  @Transaction()
  @Returns('string')
  async SubmitUpdate(ctx: Context, submissionJson: string): Promise<string> {
    const submission = args.updateSubmission(args.parseObject(submissionJson, 'update submission'));
    const state = new LedgerState(ctx);
    const { runId, round, mspId } = submission;
    const run = await this.existingRun(state, runId);
    const caller = participantActingForItself(state, run, mspId, 'submit an update');
    const roundRecord = await state.getRound(runId, round);
    ensure(
      roundRecord?.status === 'open',
      'ROUND_NOT_OPEN',
      roundRecord
        ? `round ${round} of run ${runId} is closed`
        : `round ${round} of run ${runId} has not been opened`,
    );
    secagg.checkMaskedSubmission(run, roundRecord, submission);
    const declared = run.sampleCounts[mspId] ?? 0;
    ensure(
      submission.sampleCount <= declared,
      'SAMPLE_COUNT_EXCEEDED',
      `${mspId} declared ${declared} samples for run ${runId}; the update claims ${submission.sampleCount}`,
    );
    ensure(
      !(await state.getUpdate(runId, round, mspId)),
      'UPDATE_EXISTS',
      `${mspId} already submitted an update for round ${round} of run ${runId}`,
    );
    const record: UpdateRecord = {
      ...submission,
      docType: 'update',
      key: updateKey(runId, round, mspId),
      creator: { mspId: caller.mspId, certFingerprint: caller.certFingerprint },
      txId: state.txId(),
      timestamp: state.txTime(),
    };
    await state.putUpdate(record);
    state.emit('UpdateSubmitted', record);
    return record.key;
  }

  /** Closes a round with its aggregate and the fate of every update; coordinator only. Emits RoundClosed. */
  @Transaction()
  @Returns('string')
  async CloseRound(ctx: Context, requestJson: string): Promise<string> {
    const request = args.closeRoundRequest(args.parseObject(requestJson, 'close request'));
    const { runId, round } = request;
    const state = new LedgerState(ctx);
    const run = await this.activeRunForCoordinator(state, runId);
    const record = await state.getRound(runId, round);
    ensure(
      record !== undefined,
      'ROUND_NOT_FOUND',
      `round ${round} of run ${runId} does not exist`,
    );
    ensure(
      record.status === 'open',
      'ROUND_NOT_OPEN',
      `round ${round} of run ${runId} is already closed`,
    );
    const recorded = new Map((await state.listUpdates(runId, round)).map((u) => [u.mspId, u]));
    for (const msp of request.included) {
      ensure(
        recorded.has(msp),
        'UNKNOWN_UPDATE',
        `${msp} has no update recorded in round ${round}`,
      );
    }
    const accounted = new Set(request.included);
    for (const item of request.excluded.filter((e) => e.onLedger)) {
      const update = recorded.get(item.mspId);
      ensure(
        update?.sha256 === item.sha256,
        'UNKNOWN_UPDATE',
        `excluded update ${item.mspId}/${item.sha256} is not recorded in round ${round}`,
      );
      ensure(
        !accounted.has(item.mspId),
        'INVALID_ARGUMENT',
        `${item.mspId} is listed as both included and excluded`,
      );
      accounted.add(item.mspId);
    }
    // An upload reported as never recorded must be from an organisation with no record here, and
    // named once: it may not shadow what became of a recorded update.
    const offLedger = new Set<string>();
    for (const item of request.excluded.filter((e) => !e.onLedger)) {
      ensure(
        !recorded.has(item.mspId) && !offLedger.has(item.mspId),
        'INVALID_ARGUMENT',
        `${item.mspId} has a record in round ${round} or is listed twice; it cannot be excluded as not on the ledger`,
      );
      offLedger.add(item.mspId);
    }
    const missing = [...recorded.keys()].filter((msp) => !accounted.has(msp));
    ensure(
      missing.length === 0,
      'ROUND_INCOMPLETE',
      `the updates of ${missing.join(', ')} are neither included nor excluded`,
    );
    ensure(
      request.included.length >= run.minUpdatesPerRound,
      'QUORUM_NOT_MET',
      `${request.included.length} updates included; run ${runId} needs at least ${run.minUpdatesPerRound}`,
    );
    const masked = secagg.checkMaskedClose(run, record, request);
    const closed: RoundRecord = {
      ...record,
      ...(masked ? { secagg: masked } : {}),
      status: 'closed',
      aggregateHash: request.aggregateHash,
      included: request.included,
      excluded: request.excluded,
      closedAt: state.txTime(),
      closeTxId: state.txId(),
    };
    await state.putRound(closed);
    if (round === run.roundsPlanned - 1) {
      await state.putRun({ ...run, status: 'completed', finalModelHash: request.aggregateHash });
    }
    state.emit('RoundClosed', closed);
    return canonicalJson(closed);
  }

  /**
   * Records a hospital's key advertisement for a secure-aggregation round (the hospital signs
   * it). Returns the readable key; the record travels in the write set. Emits KeysAdvertised.
   */
  @Transaction()
  @Returns('string')
  async AdvertiseKeys(ctx: Context, submissionJson: string): Promise<string> {
    const submission = secaggArgs.keysSubmission(
      args.parseObject(submissionJson, 'key advertisement'),
    );
    const state = new LedgerState(ctx);
    const run = await this.existingRun(state, submission.runId);
    const record = await secagg.advertiseKeys(state, run, submission);
    state.emit('KeysAdvertised', record);
    return record.key;
  }

  /** Fixes a secure-aggregation round's mask set; coordinator only. Emits MaskingBegun. */
  @Transaction()
  @Returns('string')
  async BeginMasking(ctx: Context, requestJson: string): Promise<string> {
    const request = secaggArgs.beginMaskingRequest(args.parseObject(requestJson, 'mask set'));
    const state = new LedgerState(ctx);
    const run = await this.activeRunForCoordinator(state, request.runId);
    const record = await secagg.beginMasking(state, run, request);
    state.emit('MaskingBegun', record);
    return canonicalJson(record);
  }

  /** Fixes a secure-aggregation round's survivors; coordinator only. Emits UnmaskingBegun. */
  @Transaction()
  @Returns('string')
  async BeginUnmasking(ctx: Context, runIdArg: string, roundArg: string): Promise<string> {
    const state = new LedgerState(ctx);
    const run = await this.activeRunForCoordinator(state, args.runId(runIdArg));
    const record = await secagg.beginUnmasking(state, run, args.roundNumber(roundArg));
    state.emit('UnmaskingBegun', record);
    return canonicalJson(record);
  }

  /**
   * Closes a secure-aggregation round whose sum cannot be recovered, without an aggregate (its
   * input model carried over); coordinator only, after the reveal phase. Emits RoundClosed.
   */
  @Transaction()
  @Returns('string')
  async AbandonRound(ctx: Context, requestJson: string): Promise<string> {
    const request = secaggArgs.abandonRoundRequest(
      args.parseObject(requestJson, 'abandon request'),
    );
    const state = new LedgerState(ctx);
    const run = await this.activeRunForCoordinator(state, request.runId);
    const record = await secagg.abandonRound(state, run, request);
    state.emit('RoundClosed', record);
    return canonicalJson(record);
  }

  /** The key advertisements of one secure-aggregation round, in MSP ID order. */
  @Transaction(false)
  @Returns('string')
  async ListKeys(ctx: Context, runIdArg: string, roundArg: string): Promise<string> {
    const state = new LedgerState(ctx);
    return canonicalJson(await state.listKeys(args.runId(runIdArg), args.roundNumber(roundArg)));
  }

  @Transaction(false)
  @Returns('string')
  async GetRun(ctx: Context, runIdArg: string): Promise<string> {
    return canonicalJson(await this.existingRun(new LedgerState(ctx), args.runId(runIdArg)));
  }

  @Transaction(false)
  @Returns('string')
  async GetRound(ctx: Context, runIdArg: string, roundArg: string): Promise<string> {
    const runId = args.runId(runIdArg);
    const round = args.roundNumber(roundArg);
    const record = await new LedgerState(ctx).getRound(runId, round);
    ensure(
      record !== undefined,
      'ROUND_NOT_FOUND',
      `round ${round} of run ${runId} does not exist`,
    );
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async GetUpdate(
    ctx: Context,
    runIdArg: string,
    roundArg: string,
    mspIdArg: string,
  ): Promise<string> {
    const runId = args.runId(runIdArg);
    const round = args.roundNumber(roundArg);
    const mspId = args.mspId(mspIdArg);
    const record = await new LedgerState(ctx).getUpdate(runId, round, mspId);
    ensure(
      record !== undefined,
      'UPDATE_NOT_FOUND',
      `no update from ${mspId} in round ${round} of run ${runId}`,
    );
    return canonicalJson(record);
  }

  /** Every run on the channel, in run ID order. */
  @Transaction(false)
  @Returns('string')
  async ListRuns(ctx: Context): Promise<string> {
    return canonicalJson(await new LedgerState(ctx).listRuns());
  }

  /** The updates of one round, in MSP ID order. */
  @Transaction(false)
  @Returns('string')
  async ListUpdates(ctx: Context, runIdArg: string, roundArg: string): Promise<string> {
    const state = new LedgerState(ctx);
    return canonicalJson(await state.listUpdates(args.runId(runIdArg), args.roundNumber(roundArg)));
  }

  /** The run and every round with its updates, in order. */
  @Transaction(false)
  @Returns('string')
  async GetAuditTrail(ctx: Context, runIdArg: string): Promise<string> {
    const state = new LedgerState(ctx);
    const run = await this.existingRun(state, args.runId(runIdArg));
    const rounds = await state.listRounds(run.runId);
    const trail: AuditTrail = { run, rounds: [] };
    for (const round of rounds) {
      const updates = await state.listUpdates(run.runId, round.round);
      if (secagg.isSecAggRun(run)) {
        trail.rounds.push({
          ...round,
          updates,
          keys: await state.listKeys(run.runId, round.round),
        });
      } else {
        trail.rounds.push({ ...round, updates });
      }
    }
    return canonicalJson(trail);
  }

  /** Every write to a key (readable form `update/<run>/<round>/<msp>`), oldest first. */
  @Transaction(false)
  @Returns('string')
  async GetHistory(ctx: Context, key: string): Promise<string> {
    const state = new LedgerState(ctx);
    return canonicalJson(await state.history(state.worldStateKey(key)));
  }

  private async existingRun(state: LedgerState, runId: string): Promise<RunRecord> {
    const run = await state.getRun(runId);
    if (!run) throw new LedgerRuleError('RUN_NOT_FOUND', `run ${runId} does not exist`);
    return run;
  }

  private async activeRunForCoordinator(state: LedgerState, runId: string): Promise<RunRecord> {
    const run = await this.existingRun(state, runId);
    const caller = state.caller();
    ensure(
      caller.mspId === run.coordinator.mspId && caller.id === run.coordinator.id,
      'NOT_COORDINATOR',
      `only run ${runId}'s coordinator (${run.coordinator.mspId}) may do this`,
    );
    ensure(run.status === 'active', 'RUN_COMPLETED', `run ${runId} has completed`);
    return run;
  }
}
