// A hospital's part in a federated run, round after round: wait for an open round it has not
// contributed to, download the round's model and check it against the ledger, train locally,
// deliver the update through the outbox, and at the end fetch the final model the ledger names.
// The training itself is passed in, so this loop knows nothing of data or TensorFlow.js.
import type { Container, RunRecord } from '@fedledger/protocol';
import { decodeContainer } from '@fedledger/protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrainerError } from '../errors';
import type { GatewayClient, LedgerCheck, VerifiedModel } from './gateway-client';
import type { DeliveryResult, Outbox } from './outbox';

/** What the training callback returns for one round. */
export interface TrainedUpdate {
  /** The encoded update container. */
  bytes: Uint8Array;
  /** Local validation accuracy of the submitted model (θ_global + Δ). */
  accuracy: number;
  /** ε spent over all rounds so far, when DP is on. */
  epsilon?: number;
}

/** One round as the hospital saw it. */
export interface RoundReport {
  runId: string;
  round: number;
  roundsPlanned: number;
  delivery: DeliveryResult['status'];
  accuracy?: number;
  epsilon?: number;
  txId?: string;
  blockNumber?: number;
  /** Why the gateway refused the update, for `refused`. */
  refusal?: string;
  /** Where the commit was confirmed (the hospital's own peer, or the gateway's word). */
  confirmedBy?: string;
}

/** Options of {@link participateInRun}. */
export interface ParticipationOptions {
  client: GatewayClient;
  outbox: Outbox;
  runId: string;
  mspId: string;
  /** Trains one local round from the round's verified input model. */
  trainRound(input: { run: RunRecord; round: number; model: Container }): Promise<TrainedUpdate>;
  /**
   * Turns a round's verified input model into the plaintext model to train from; default: decode
   * it. An encrypted run decrypts it here (./ckks-participation.ts).
   */
  openModel?(input: { run: RunRecord; round: number; model: VerifiedModel }): Promise<Container>;
  /** Reads a round's input model hash from the hospital's own view of the ledger. */
  ledgerCheck?: LedgerCheck;
  signal?: AbortSignal;
  /** First and longest poll intervals while waiting, ms (defaults 500 and 10 000). */
  pollMs?: number;
  maxPollMs?: number;
  /** One report per round this hospital delivered, or tried to. */
  onRound?: (report: RoundReport) => void;
  /** Lines about waiting, the outbox and the final model. */
  log?: (line: string) => void;
  /**
   * Before training (secure aggregation: the round's keys and shares); false: this hospital
   * sits the round out without training.
   */
  prepareRound?(run: RunRecord, round: number): Promise<boolean>;
  /**
   * Turns the trained update into what is delivered (secure aggregation: its masked form, after
   * the round's key and share phases); undefined: this hospital sits the round out.
   */
  protectUpdate?(input: {
    run: RunRecord;
    round: number;
    bytes: Uint8Array;
  }): Promise<Uint8Array | undefined>;
  /** Called once an update of `round` is on the ledger (secure aggregation reveals its shares). */
  afterDelivery?(run: RunRecord, round: number): Promise<void>;
}

/** How the run ended for this hospital. */
export interface ParticipationResult {
  run: RunRecord;
  finalModel: VerifiedModel;
  rounds: RoundReport[];
}

const isOnLedger = (result: DeliveryResult): boolean =>
  result.status === 'delivered' || result.status === 'already-recorded';

/** Ctrl-C (or another abort) stopped the loop; queued updates stay in the outbox. */
export class ParticipationStoppedError extends TrainerError {
  constructor(message: string) {
    super('STOPPED', message);
  }
}

/**
 * Takes part in a run until it completes.
 * @throws {ParticipationStoppedError} when `signal` aborts; whatever the client throws that is
 * not transient (an unknown run, a model whose hash the ledger contradicts).
 */
export async function participateInRun(
  options: Readonly<ParticipationOptions>,
): Promise<ParticipationResult> {
  const { client, outbox, runId, mspId, signal } = options;
  const log = options.log ?? (() => undefined);
  const reports: RoundReport[] = [];
  const stopped = (): never => {
    throw new ParticipationStoppedError(
      `stopped; ${outbox.dir} keeps any update not yet delivered for the next start.`,
    );
  };
  const onAbort = (err: unknown): never => {
    if (signal?.aborted) stopped();
    throw err;
  };
  const after = async (run: RunRecord, round: number): Promise<void> => {
    await options.afterDelivery?.(run, round).catch(onAbort);
  };
  // Rounds below this have been dealt with (delivered or refused for good) in this session.
  let fromRound = 0;
  let retryMs = options.pollMs ?? 500;
  let lastWaitLog = 0;
  // What training reported for updates still on their way (for the report once delivered).
  const trainedFor = new Map<string, TrainedUpdate>();
  const report = (run: RunRecord, result: DeliveryResult): RoundReport => {
    const trained = trainedFor.get(`${result.runId}/${result.round}`);
    const r: RoundReport = {
      runId,
      round: result.round,
      roundsPlanned: run.roundsPlanned,
      delivery: result.status,
      ...(trained ? { accuracy: trained.accuracy } : {}),
      ...(trained?.epsilon !== undefined ? { epsilon: trained.epsilon } : {}),
    };
    if (result.status === 'delivered') {
      r.txId = result.update.commit.txId;
      r.blockNumber = result.update.commit.blockNumber;
      r.confirmedBy = result.update.confirmedBy;
    } else if (result.status === 'already-recorded') r.txId = result.txId;
    else if (result.status === 'refused')
      r.refusal = `${result.error.code}: ${result.error.detail}`;
    if (result.status !== 'queued') {
      trainedFor.delete(`${result.runId}/${result.round}`);
      reports.push(r);
      options.onRound?.(r);
    }
    return r;
  };

  for (;;) {
    let waited;
    try {
      waited = await client.waitForRound(runId, {
        mspId,
        fromRound,
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
        ...(options.maxPollMs !== undefined ? { maxPollMs: options.maxPollMs } : {}),
        ...(signal ? { signal } : {}),
        onProgress: (p) => {
          if (Date.now() - lastWaitLog < 30_000) return;
          lastWaitLog = Date.now();
          if (p.error) log(`waiting: the gateway is unreachable (${p.error.message})`);
          else if (p.status?.currentRound === null) log('waiting for the next round to open');
          else log(`waiting for round ${p.status?.currentRound} to close`);
        },
      });
    } catch (err) {
      if (signal?.aborted) stopped();
      throw err;
    }
    // The rules the hospital trains by come from its own peer; the gateway's copy must agree.
    const { run } = await client.verifiedRun(waited.status.run);
    // Updates left from an outage or an earlier start go first; stale ones are refused and removed.
    if ((await outbox.pending()).length > 0) {
      const results = await outbox.flush();
      for (const result of results) if (result.runId === runId) report(run, result);
      for (const result of results) {
        if (result.runId === runId && isOnLedger(result)) await after(run, result.round);
      }
      if (results.some((r) => r.status === 'queued')) {
        await sleep(retryMs, undefined, signal ? { signal } : {}).catch(() => stopped());
        retryMs = Math.min(options.maxPollMs ?? 10_000, retryMs * 2);
        continue;
      }
      retryMs = options.pollMs ?? 500;
      if (waited.state === 'open' && results.some((r) => r.round === waited.round)) {
        fromRound = waited.round + 1;
        continue;
      }
    }
    if (waited.state === 'completed') {
      const expected = waited.status.run.finalModelHash;
      const finalModel = await client.downloadFinalModel(
        runId,
        expected !== undefined ? { expectedSha256: expected } : {},
      );
      log(
        `run ${runId} completed; final model ${finalModel.sha256} matches the ledger (read from ${finalModel.checkedAgainst})`,
      );
      return { run, finalModel, rounds: reports };
    }
    const round = waited.round;
    const model = await client.downloadRoundModel(
      runId,
      round,
      options.ledgerCheck ? { ledgerCheck: options.ledgerCheck } : {},
    );
    log(
      `round ${round}: model ${model.sha256} matches the ledger (read from ${model.checkedAgainst}; tx ${model.ledgerTxId ?? '?'})`,
    );
    if (options.prepareRound && !(await options.prepareRound(run, round).catch(onAbort))) {
      fromRound = round + 1;
      continue;
    }
    const plain = options.openModel
      ? await options.openModel({ run, round, model })
      : decodeContainer(model.bytes);
    const trained = await options.trainRound({ run, round, model: plain });
    const bytes = options.protectUpdate
      ? await options.protectUpdate({ run, round, bytes: trained.bytes }).catch(onAbort)
      : trained.bytes;
    if (bytes === undefined) {
      fromRound = round + 1;
      continue;
    }
    if (signal?.aborted) {
      await outbox.put(runId, round, bytes);
      stopped();
    }
    trainedFor.set(`${runId}/${round}`, trained);
    const result = await outbox.send(runId, round, bytes);
    const r = report(run, result);
    if (isOnLedger(result)) await after(run, round);
    if (result.status === 'queued') {
      log(`round ${round}: update kept in the outbox until the gateway is back`);
      continue;
    }
    if (result.status === 'refused') {
      log(`round ${round}: the gateway refused the update (${r.refusal})`);
      // Refused for who this hospital is (not a participant, unknown CA): later rounds would be too.
      if (result.error.status === 401 || result.error.status === 403) throw result.error;
    }
    fromRound = round + 1;
  }
}
