// Shapes of the gateway's REST v1 replies that the client reads (gateway/src/http/app.ts).
// Declared here rather than imported so the trainer does not depend on the gateway at run time.
import type { ModelSpec, RoundRecord, RunRecord, UpdateRecord } from '@fedledger/protocol';

/** Media type of update and model containers. */
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

/** `POST /v1/runs/{runId}/rounds/{round}/updates`. */
export interface UploadReply {
  submissionId: string;
  sha256: string;
  byteLength: number;
  proposalDigest: string;
  expiresAt: string;
}

/** `POST /v1/submissions/{id}/proposal-signature`. */
export interface EndorseReply {
  submissionId: string;
  transactionDigest: string;
}

/** `POST /v1/submissions/{id}/transaction-signature`. */
export interface CommitReply {
  submissionId: string;
  commit: CommitInfo;
  record: UpdateRecord | null;
  key: string;
}

/** The settings the gateway records with a run (RunRecord.settings), as far as hospitals read them. */
export interface RunSettingsView {
  modelSpec: ModelSpec;
  encoding?: 'float32' | 'ckks';
  updateNormBound?: number | null;
  roundDeadlineSeconds?: number;
  dp?: Record<string, unknown> | null;
}
