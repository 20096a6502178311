// The gateway's REST v1 as both sides see it: the container media type, the reply shapes the
// gateway writes and the trainer reads, and the keys of a container's `extra` metadata.
import type {
  DpAccounting,
  RoundRecord,
  RunRecord,
  UpdateSubmission,
  UpdateRecord,
} from './ledger';
import type { ModelSpec } from './model-spec';
import type { KeysSubmission } from './secagg-records';
import type { SharedMetrics } from './shared-metrics';

/** Media type of update and model containers on the wire. */
export const CONTAINER_MEDIA_TYPE = 'application/vnd.fedledger.container';

/** A ledger commit as the gateway reports it. */
export interface CommitInfo {
  txId: string;
  blockNumber: number;
  /** Fabric validation code; `VALID` for a committed transaction. */
  status: string;
}

/** One round in `GET /v1/runs/{runId}`. */
export interface RoundSummary {
  round: number;
  status: 'open' | 'closed';
  inputModelHash: string;
  aggregateHash: string | null;
  /** MSP IDs with an update recorded on the ledger for this round. */
  submitted: string[];
}

/** `GET /v1/runs/{runId}`: the run, its open round (if any) and every round so far. */
export interface RunStatus {
  run: RunRecord;
  currentRound: number | null;
  rounds: RoundSummary[];
}

/** `GET /v1/runs/{runId}/rounds/{round}`. */
export interface RoundDetails {
  round: RoundRecord;
  updates: UpdateRecord[];
}

/**
 * How the bytes a hospital signs are encoded: `fabric`, Fabric's protobuf messages
 * (gateway.ProposedTransaction, then gateway.PreparedTransaction); `simulated`, the simulated
 * ledger's canonical JSON (see {@link SimulatedProposal} and {@link SimulatedTransaction}).
 */
export type SigningFormat = 'fabric' | 'simulated';

/** `POST /v1/runs/{runId}/rounds/{round}/secagg/keys` (201): AdvertiseKeys to sign. */
export interface KeysUploadReply {
  submissionId: string;
  submission: KeysSubmission;
  proposal: { format: SigningFormat; bytes: string };
  proposalDigest: string;
  expiresAt: string;
}

/** `POST …/secagg/shares` and `POST …/secagg/reveal` (201): the stored blob. */
export interface SecAggBlobReply {
  sha256: string;
  byteLength: number;
}

/** `POST /v1/runs/{runId}/rounds/{round}/updates` (201). */
export interface UploadReply {
  submissionId: string;
  sha256: string;
  byteLength: number;
  /** What the gateway proposes to record on the ledger for this update. */
  submission: UpdateSubmission;
  /**
   * The SubmitUpdate proposal in full (base64), so that the hospital can decode and check it and
   * compute the digest it signs itself.
   */
  proposal: { format: SigningFormat; bytes: string };
  /** Base64 digest of the proposal (a convenience: a careful client computes it itself). */
  proposalDigest: string;
  expiresAt: string;
}

/** `POST /v1/submissions/{id}/proposal-signature`. */
export interface EndorseReply {
  submissionId: string;
  /** The endorsed transaction in full (base64), with the write set the hospital checks. */
  transaction: string;
  /** Base64 digest of the endorsed transaction (a convenience, as above). */
  transactionDigest: string;
}

/** The channel the simulated ledger's proposals name (it has no channels). */
export const SIMULATED_CHANNEL = 'simulated';

/** The proposal a hospital signs on the simulated ledger (canonical JSON, UTF-8). */
export interface SimulatedProposal {
  channel: string;
  chaincode: string;
  creator: { mspId: string; certificate: string };
  fn: string;
  args: string[];
  txId: string;
  /** The transaction time (ISO 8601), which the ledger records, as in a Fabric channel header. */
  timestamp: string;
}

/** The transaction a hospital signs on the simulated ledger (canonical JSON, UTF-8). */
export interface SimulatedTransaction {
  proposal: SimulatedProposal;
  /** What the endorsement returned. */
  result: string;
  /** The endorsement's write set: key (world-state key) and value (UTF-8). */
  writes: { namespace: string; key: string; value: string }[];
}

/** `POST /v1/submissions/{id}/transaction-signature`. */
export interface CommitReply {
  submissionId: string;
  commit: CommitInfo;
  record: UpdateRecord | null;
  key: string;
}

/** `GET /v1/submissions/{id}`. */
export interface SubmissionStatus {
  submissionId: string;
  state: 'proposed' | 'endorsing' | 'endorsed' | 'submitting' | 'committed';
  runId: string;
  round: number;
  sha256: string;
}

/** The settings the gateway records with a run (RunRecord.settings), as far as hospitals read them. */
export interface RunSettingsView {
  modelSpec: ModelSpec;
  encoding?: 'float32' | 'ckks';
  updateNormBound?: number | null;
  roundDeadlineSeconds?: number;
  dp?: Record<string, unknown> | null;
  /** Whether validation metrics leave the hospitals (see ./shared-metrics.ts); absent: none. */
  sharedMetrics?: SharedMetrics;
  /** SHA-256 of the shared preprocessing every hospital must apply (see ./preprocessing.ts). */
  preprocessingSha256?: string | null;
}

/**
 * Keys of a container's `extra` map that fedledger writes and reads. Differential-privacy
 * accounting (`dp.*`) is copied into the ledger record; local metrics (`metrics.*`) are shown on
 * the dashboard.
 */
export const CONTAINER_EXTRA = {
  DP_MECHANISM: 'dp.mechanism',
  DP_EPSILON_SPENT: 'dp.epsilon_spent',
  DP_DELTA: 'dp.delta',
  DP_NOISE_MULTIPLIER: 'dp.noise_multiplier',
  DP_CLIP_NORM: 'dp.clip_norm',
  DP_ACCOUNTANT: 'dp.accountant',
  METRICS_PREFIX: 'metrics.',
} as const;

/**
 * Local validation metrics a hospital computes, by their name after `metrics.`; an update carries
 * them only as its run's shared-metrics setting allows (./shared-metrics.ts).
 */
export const UPDATE_METRICS = [
  'accuracy',
  'loss',
  'macro_f1',
  'macro_precision',
  'macro_recall',
] as const;

/** Writes DP accounting into a container's `extra` map (decimal strings). */
export function dpToExtra(dp: DpAccounting, extra: Record<string, string>): void {
  extra[CONTAINER_EXTRA.DP_MECHANISM] = dp.mechanism;
  extra[CONTAINER_EXTRA.DP_EPSILON_SPENT] = dp.epsilonSpent;
  extra[CONTAINER_EXTRA.DP_DELTA] = dp.delta;
  extra[CONTAINER_EXTRA.DP_NOISE_MULTIPLIER] = dp.noiseMultiplier ?? '';
  extra[CONTAINER_EXTRA.DP_CLIP_NORM] = dp.clipNorm ?? '';
}

/** The DP accounting a container's `extra` map carries, if it carries all required keys. */
export function dpFromExtra(extra: Readonly<Record<string, string>>): DpAccounting | undefined {
  const mechanism = extra[CONTAINER_EXTRA.DP_MECHANISM];
  const epsilonSpent = extra[CONTAINER_EXTRA.DP_EPSILON_SPENT];
  const delta = extra[CONTAINER_EXTRA.DP_DELTA];
  if (!mechanism || !epsilonSpent || !delta) return undefined;
  const out: DpAccounting = { mechanism, epsilonSpent, delta };
  const noise = extra[CONTAINER_EXTRA.DP_NOISE_MULTIPLIER];
  const clip = extra[CONTAINER_EXTRA.DP_CLIP_NORM];
  if (noise) out.noiseMultiplier = noise;
  if (clip) out.clipNorm = clip;
  return out;
}

/** The `metrics.*` entries of a container's `extra` map, by name, as numbers. */
export function metricsFromExtra(extra: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(extra)) {
    if (key.startsWith(CONTAINER_EXTRA.METRICS_PREFIX)) {
      out[key.slice(CONTAINER_EXTRA.METRICS_PREFIX.length)] = Number(value);
    }
  }
  return out;
}
