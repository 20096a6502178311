// Ledger data model shared by the chaincode, the gateway and auditors: records, keys, error codes.
import type { ExclusionCode } from './exclusion';
import type { KeysRecord, RecoveryEntry, SecAggRoundState } from './secagg-records';

/** Identity that signed a transaction, as the chaincode sees it. */
export interface ClientRef {
  mspId: string;
  /** Fabric's client identity ID (`x509::<subject>::<issuer>`). */
  id: string;
  /** SHA-256 of the client certificate (DER), hex. */
  certFingerprint: string;
}

/**
 * Who created an update record: the MSP and the SHA-256 of the certificate that signed it. The
 * fingerprint names the certificate exactly; the subject and issuer strings of {@link ClientRef}
 * would only repeat, in every update and its event, what the certificate already says.
 */
export type CreatorRef = Pick<ClientRef, 'mspId' | 'certFingerprint'>;

/** Aggregation strategies a run may name. */
export type StrategyName = 'fedavg' | 'median' | 'trimmed-mean' | 'krum' | 'multi-krum';
export const STRATEGIES: readonly StrategyName[] = [
  'fedavg',
  'median',
  'trimmed-mean',
  'krum',
  'multi-krum',
];

/** What the coordinator submits to create a run. `settings` is opaque to the chaincode. */
export interface RunConfig {
  runId: string;
  modelSpecHash: string;
  initialModelHash: string;
  participants: string[];
  roundsPlanned: number;
  minUpdatesPerRound: number;
  strategy: StrategyName;
  /**
   * Each participant's declared sample count for the run, fixed before training: an update may
   * claim at most this many samples (its FedAvg weight cannot be inflated past it). The contract
   * enforces it; it is public to every organisation.
   */
  sampleCounts: Record<string, number>;
  /** Strategy parameters, DP and HE settings, deadlines, norm bound: recorded, not interpreted. */
  settings: Record<string, unknown>;
}

export interface RunRecord extends RunConfig {
  docType: 'run';
  key: string;
  coordinator: ClientRef;
  status: 'active' | 'completed';
  /** Aggregate hash of the last round once the run has completed. */
  finalModelHash?: string;
  createdAt: string;
  txId: string;
}

/** An update left out of a round's aggregate, and why. */
export interface ExcludedUpdate {
  mspId: string;
  sha256: string;
  /** Why, from the closed set {@link EXCLUSION_CODES} (the chaincode refuses any other). */
  code: ExclusionCode;
  /** A sentence for people (the norm found, the bytes' hash …); never parsed. */
  detail: string;
  /** True when the excluded update has a ledger record in this round. */
  onLedger: boolean;
}

export interface RoundRecord {
  docType: 'round';
  key: string;
  runId: string;
  round: number;
  status: 'open' | 'closed';
  inputModelHash: string;
  openedAt: string;
  openTxId: string;
  aggregateHash?: string;
  /** MSP IDs whose updates went into the aggregate, sorted. */
  included?: string[];
  excluded?: ExcludedUpdate[];
  closedAt?: string;
  closeTxId?: string;
  /** Secure-aggregation runs: the round's phase, mask set, survivors and recovery material. */
  secagg?: SecAggRoundState;
}

/** Differential-privacy accounting reported with an update (decimal strings, not floats). */
export interface DpAccounting {
  mechanism: string;
  epsilonSpent: string;
  delta: string;
  noiseMultiplier?: string;
  clipNorm?: string;
}

/** What a hospital submits for its update. */
export interface UpdateSubmission {
  runId: string;
  round: number;
  mspId: string;
  sha256: string;
  sampleCount: number;
  byteLength: number;
  encoding: 'float32' | 'ckks' | 'secagg';
  dp?: DpAccounting;
}

export interface UpdateRecord extends UpdateSubmission {
  docType: 'update';
  key: string;
  creator: CreatorRef;
  txId: string;
  timestamp: string;
}

export interface CloseRoundRequest {
  runId: string;
  round: number;
  aggregateHash: string;
  included: string[];
  excluded: ExcludedUpdate[];
  /** Secure-aggregation runs: the reveals the aggregate was recovered with. */
  recovery?: RecoveryEntry[];
}

export interface RoundTrail extends RoundRecord {
  updates: UpdateRecord[];
  /** Secure-aggregation runs: the round's key advertisements. */
  keys?: KeysRecord[];
}

export interface AuditTrail {
  run: RunRecord;
  rounds: RoundTrail[];
}

export interface HistoryEntry {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: unknown;
}

/** Largest update or model, in bytes, that a ledger record may describe. */
export const MAX_BLOB_BYTES = 256 * 1024 * 1024;

/** Allowed characters of run IDs. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Allowed characters of MSP IDs. */
export const MSP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Readable ledger key of a run: `run/<runId>`. */
export function runKey(runId: string): string {
  return `run/${runId}`;
}

/** Readable ledger key of a round: `round/<runId>/<round>`. */
export function roundKey(runId: string, round: number): string {
  return `round/${runId}/${round}`;
}

/**
 * World-state key under which the contract writes an update record: Fabric's composite key of
 * object type `fl.update` and attributes run, round (six digits), MSP ID. What a hospital expects
 * to find in the write set of the SubmitUpdate transaction it signs.
 */
export function updateStateKey(runId: string, round: number, mspId: string): string {
  return `\u0000fl.update\u0000${runId}\u0000${String(round).padStart(6, '0')}\u0000${mspId}\u0000`;
}

/** Readable ledger key of an update: `update/<runId>/<round>/<mspId>`. */
export function updateKey(runId: string, round: number, mspId: string): string {
  return `update/${runId}/${round}/${mspId}`;
}

/**
 * Every code the contract puts at the start of a refusal (`CODE: sentence`), with its meaning.
 * The gateway maps these to HTTP statuses; the README documents them.
 */
export const LEDGER_ERROR_CODES = {
  INVALID_ARGUMENT: 'An argument is missing or malformed.',
  INVALID_HASH: 'A SHA-256 is not 64 lowercase hexadecimal characters.',
  INVALID_SAMPLE_COUNT: 'The sample count is not a positive safe integer.',
  SAMPLE_COUNT_EXCEEDED:
    'The update claims more samples than its organisation declared for the run.',
  INVALID_BYTE_LENGTH: 'The byte length is not positive or exceeds the limit.',
  RUN_EXISTS: 'A run with this ID already exists.',
  RUN_NOT_FOUND: 'No run has this ID.',
  RUN_COMPLETED: 'The run has finished all its rounds.',
  NOT_COORDINATOR: "Only the run's coordinator (its creator) may do this.",
  NOT_CONSORTIUM_COORDINATOR:
    'Only an organisation the consortium names as coordinator may create a run.',
  NOT_PARTICIPANT: "The caller's organisation is not a participant of the run.",
  MSP_MISMATCH: 'An organisation may submit only for itself.',
  ROUND_EXISTS: 'The round has already been opened.',
  ROUND_NOT_FOUND: 'The round does not exist.',
  ROUND_NOT_OPEN: 'The round is not open.',
  ROUND_OUT_OF_ORDER: 'Round r+1 opens only after round r has closed.',
  ROUND_LIMIT: "The round is past the run's planned number of rounds.",
  CHAIN_OF_CUSTODY: "The round's input model is not the previous round's aggregate.",
  UPDATE_EXISTS:
    'This organisation already submitted for this round; updates are never overwritten.',
  UPDATE_NOT_FOUND: 'The update does not exist.',
  UNKNOWN_UPDATE: 'A listed update is not recorded in this round.',
  UNKNOWN_EXCLUSION_CODE: 'An exclusion names a code outside the closed set of exclusion codes.',
  ROUND_INCOMPLETE: 'Every update recorded in the round must be listed as included or excluded.',
  QUORUM_NOT_MET: "Fewer updates are included than the run's minimum per round.",
  NOT_SECAGG: 'The run does not use secure aggregation.',
  SECAGG_PHASE: 'The secure-aggregation round is not in the phase this step belongs to.',
  KEYS_EXIST: 'This organisation already advertised its keys for this round; never overwritten.',
  NOT_IN_MASK_SET: "The organisation is not in the round's mask set.",
} as const;

export type LedgerErrorCode = keyof typeof LEDGER_ERROR_CODES;

/** Extracts the stable code from a contract error message (`CODE: sentence`), if it has one. */
export function parseLedgerErrorCode(message: string): LedgerErrorCode | undefined {
  const match = /\b([A-Z][A-Z_]+):/.exec(message);
  const code = match?.[1];
  return code !== undefined && code in LEDGER_ERROR_CODES ? (code as LedgerErrorCode) : undefined;
}

/**
 * Every message a failed ledger call carries: the error's own, its Fabric endorsement details'
 * and its causes', outermost first.
 */
export function ledgerErrorMessages(err: unknown): string[] {
  const out: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const e = current as { message?: unknown; details?: unknown; cause?: unknown };
    if (typeof e.message === 'string') out.push(e.message);
    if (Array.isArray(e.details)) {
      for (const d of e.details as { message?: unknown }[]) {
        if (typeof d.message === 'string') out.push(d.message);
      }
    }
    current = e.cause;
  }
  return out;
}

/** The contract's refusal inside a failed ledger call (code and sentence), if there is one. */
export function ledgerRefusalOf(
  err: unknown,
): { code: LedgerErrorCode; sentence: string } | undefined {
  for (const message of ledgerErrorMessages(err)) {
    const code = parseLedgerErrorCode(message);
    if (code !== undefined) return { code, sentence: message.slice(message.indexOf(`${code}:`)) };
  }
  return undefined;
}
