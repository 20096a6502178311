// What both ledger clients share: the coordinator's transactions and the queries, expressed once
// over two primitives (submit a transaction as the coordinator, evaluate a query).
import type {
  AbandonRoundRequest,
  AuditTrail,
  BeginMaskingRequest,
  CloseRoundRequest,
  KeysRecord,
  KeysSubmission,
  HistoryEntry,
  RoundRecord,
  RunConfig,
  RunRecord,
  UpdateRecord,
  UpdateSubmission,
} from '@fedledger/protocol';
import { canonicalJson } from '@fedledger/protocol';
import type {
  CommitInfo,
  ContractFunctionName,
  OfflineSubmission,
  SubmitterIdentity,
} from './ledger-client';

export abstract class ContractLedger {
  /** Submits a transaction as the coordinator and waits for its commit. */
  protected abstract write(fn: ContractFunctionName, ...args: string[]): Promise<CommitInfo>;
  /** Evaluates a query; `undefined` when the contract says the record does not exist. */
  protected abstract read<T>(fn: ContractFunctionName, ...args: string[]): Promise<T | undefined>;
  /** Prepares any transaction under a hospital's certificate for offline signing. */
  abstract newOfflineTransaction(
    submitter: SubmitterIdentity,
    fn: ContractFunctionName,
    args: string[],
  ): Promise<OfflineSubmission>;

  /** Prepares a hospital's SubmitUpdate for offline signing. */
  newSubmission(
    submitter: SubmitterIdentity,
    submission: UpdateSubmission,
  ): Promise<OfflineSubmission> {
    return this.newOfflineTransaction(submitter, 'SubmitUpdate', [canonicalJson(submission)]);
  }

  /** Prepares a hospital's AdvertiseKeys (secure aggregation) for offline signing. */
  newKeysSubmission(
    submitter: SubmitterIdentity,
    submission: KeysSubmission,
  ): Promise<OfflineSubmission> {
    return this.newOfflineTransaction(submitter, 'AdvertiseKeys', [canonicalJson(submission)]);
  }

  beginMasking(request: BeginMaskingRequest): Promise<CommitInfo> {
    return this.write('BeginMasking', canonicalJson(request));
  }

  beginUnmasking(runId: string, round: number): Promise<CommitInfo> {
    return this.write('BeginUnmasking', runId, String(round));
  }

  abandonRound(request: AbandonRoundRequest): Promise<CommitInfo> {
    return this.write('AbandonRound', canonicalJson(request));
  }

  async listKeys(runId: string, round: number): Promise<KeysRecord[]> {
    return (await this.read<KeysRecord[]>('ListKeys', runId, String(round))) ?? [];
  }

  createRun(config: RunConfig): Promise<CommitInfo> {
    return this.write('CreateRun', canonicalJson(config));
  }

  openRound(runId: string, round: number, inputModelHash: string): Promise<CommitInfo> {
    return this.write('OpenRound', runId, String(round), inputModelHash);
  }

  closeRound(request: CloseRoundRequest): Promise<CommitInfo> {
    return this.write('CloseRound', canonicalJson(request));
  }

  async listRuns(): Promise<RunRecord[]> {
    return (await this.read<RunRecord[]>('ListRuns')) ?? [];
  }

  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.read('GetRun', runId);
  }

  getRound(runId: string, round: number): Promise<RoundRecord | undefined> {
    return this.read('GetRound', runId, String(round));
  }

  getUpdate(runId: string, round: number, mspId: string): Promise<UpdateRecord | undefined> {
    return this.read('GetUpdate', runId, String(round), mspId);
  }

  async listUpdates(runId: string, round: number): Promise<UpdateRecord[]> {
    return (await this.read<UpdateRecord[]>('ListUpdates', runId, String(round))) ?? [];
  }

  getAuditTrail(runId: string): Promise<AuditTrail | undefined> {
    return this.read('GetAuditTrail', runId);
  }

  async getHistory(key: string): Promise<HistoryEntry[]> {
    return (await this.read<HistoryEntry[]>('GetHistory', key)) ?? [];
  }
}
