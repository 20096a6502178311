// The gateway's view of the ledger: one interface, two implementations (Hyperledger Fabric through
// @hyperledger/fabric-gateway, and the in-process SIMULATED ledger for tests and quick runs).
import type {
  AbandonRoundRequest,
  AuditTrail,
  BeginMaskingRequest,
  CloseRoundRequest,
  KeysRecord,
  KeysSubmission,
  CommitInfo,
  HistoryEntry,
  RoundRecord,
  RunConfig,
  RunRecord,
  SigningFormat,
  UpdateRecord,
  UpdateSubmission,
} from '@fedledger/protocol';

export type { CommitInfo } from '@fedledger/protocol';

/** The hospital a submission is made for: its certificate only, never its key. */
export interface SubmitterIdentity {
  mspId: string;
  certificatePem: string;
}

/** A chaincode event, delivered once the transaction that set it has committed. */
export interface LedgerEvent {
  name:
    | 'RunCreated'
    | 'RoundOpened'
    | 'UpdateSubmitted'
    | 'RoundClosed'
    | 'KeysAdvertised'
    | 'MaskingBegun'
    | 'UnmaskingBegun';
  payload: unknown;
  txId: string;
  blockNumber: number;
}

/**
 * An update submission prepared under the hospital's identity and signed by the hospital
 * (offline signing): the gateway never holds the key that signs these digests.
 */
export interface OfflineSubmission {
  readonly txId: string;
  /** How {@link proposalBytes} and the endorsed transaction's bytes are encoded. */
  readonly format: SigningFormat;
  /** The proposal in full, for the hospital to decode and check before it signs. */
  readonly proposalBytes: Uint8Array;
  /** SHA-256 digest the hospital signs first (the transaction proposal). */
  readonly proposalDigest: Uint8Array;
  /**
   * Endorses the proposal signed by the hospital.
   * @returns the endorsed transaction in full and its digest, which the hospital signs next.
   * @throws {SignatureError} when the signature does not verify; {LedgerRuleError} on refusal.
   */
  endorse(proposalSignature: Uint8Array): Promise<{ bytes: Uint8Array; digest: Uint8Array }>;
  /**
   * Sends the signed transaction to ordering and waits for its commit.
   * @throws {SignatureError} when the signature does not verify; {LedgerUnavailableError}.
   */
  submit(transactionSignature: Uint8Array): Promise<CommitInfo>;
}

/** Operations the gateway performs on the ledger. Reads never need a hospital. */
export interface LedgerClient {
  readonly kind: 'fabric' | 'simulated';
  /** Printed wherever results appear (the simulated ledger says so). */
  readonly label: string;

  /** Coordinator writes, under the gateway's own identity. */
  createRun(config: RunConfig): Promise<CommitInfo>;
  openRound(runId: string, round: number, inputModelHash: string): Promise<CommitInfo>;
  closeRound(request: CloseRoundRequest): Promise<CommitInfo>;

  /** Prepares `SubmitUpdate` under the hospital's certificate for offline signing. */
  newSubmission(
    identity: SubmitterIdentity,
    submission: UpdateSubmission,
  ): Promise<OfflineSubmission>;

  /**
   * Any contract transaction prepared under a hospital's certificate for offline signing, as
   * {@link newSubmission} prepares SubmitUpdate. For tests that play a gateway asking a hospital
   * to sign something else.
   */
  newOfflineTransaction(
    submitter: SubmitterIdentity,
    fn: ContractFunctionName,
    args: string[],
  ): Promise<OfflineSubmission>;

  /** Prepares a hospital's key advertisement (secure aggregation) for offline signing. */
  newKeysSubmission(
    identity: SubmitterIdentity,
    submission: KeysSubmission,
  ): Promise<OfflineSubmission>;
  /** Fixes a secure-aggregation round's mask set (coordinator). */
  beginMasking(request: BeginMaskingRequest): Promise<CommitInfo>;
  /** Fixes a secure-aggregation round's survivors (coordinator). */
  beginUnmasking(runId: string, round: number): Promise<CommitInfo>;
  /** Closes a secure-aggregation round whose sum cannot be recovered (coordinator). */
  abandonRound(request: AbandonRoundRequest): Promise<CommitInfo>;
  /** The key advertisements of a secure-aggregation round, in MSP ID order. */
  listKeys(runId: string, round: number): Promise<KeysRecord[]>;

  listRuns(): Promise<RunRecord[]>;
  /** `undefined` when the ledger has no such run. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  getRound(runId: string, round: number): Promise<RoundRecord | undefined>;
  getUpdate(runId: string, round: number, mspId: string): Promise<UpdateRecord | undefined>;
  listUpdates(runId: string, round: number): Promise<UpdateRecord[]>;
  getAuditTrail(runId: string): Promise<AuditTrail | undefined>;
  /** Every write to a readable key (`update/<run>/<round>/<msp>`), oldest first. */
  getHistory(key: string): Promise<HistoryEntry[]>;

  /** Calls `listener` for each committed chaincode event; returns a function that stops it. */
  onEvent(listener: (event: LedgerEvent) => void): () => void;
  close(): Promise<void>;
}

/** The coordinator's chaincode functions and the queries, as the contract names them. */
export type ContractFunctionName =
  | 'CreateRun'
  | 'OpenRound'
  | 'SubmitUpdate'
  | 'CloseRound'
  | 'AdvertiseKeys'
  | 'BeginMasking'
  | 'BeginUnmasking'
  | 'AbandonRound'
  | 'ListKeys'
  | 'ListRuns'
  | 'GetRun'
  | 'GetRound'
  | 'GetUpdate'
  | 'ListUpdates'
  | 'GetAuditTrail'
  | 'GetHistory';
