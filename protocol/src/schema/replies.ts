// JSON Schemas of the REST API's replies (and the problem+json of its refusals), one per route's
// success reply. The OpenAPI document serves them; type-checks.ts holds them equal to the types.
import { Type } from '@sinclair/typebox';
import {
  AuditTrailSchema,
  CommitInfoSchema,
  ExcludedUpdateSchema,
  HistoryEntrySchema,
  RoundRecordSchema,
  RunRecordSchema,
  Sha256Hex,
  Strategy,
  Timestamp,
  UpdateRecordSchema,
  UUID_PATTERN,
  UpdateSubmissionSchema,
  literals,
  nullable,
  strictObject,
} from './records';

export const HealthReplySchema = strictObject({ status: Type.Literal('ok') });
export const ReadyReplySchema = strictObject({
  status: Type.Literal('ready'),
  ledger: Type.String({ description: 'which ledger the gateway uses, in words' }),
});

export const RunListReplySchema = strictObject({
  ledger: Type.String(),
  runs: Type.Array(
    strictObject({
      runId: Type.String(),
      status: literals(['active', 'completed'] as const),
      roundsPlanned: Type.Integer({ minimum: 1 }),
      participants: Type.Array(Type.String()),
      strategy: Strategy,
      createdAt: Timestamp,
    }),
  ),
});

export const ModelStoredReplySchema = strictObject({
  sha256: Sha256Hex,
  byteLength: Type.Integer({ minimum: 1 }),
});

export const RunCreatedReplySchema = strictObject({
  run: RunRecordSchema,
  created: CommitInfoSchema,
  opened: CommitInfoSchema,
});

export const RoundSummarySchema = strictObject({
  round: Type.Integer({ minimum: 0 }),
  status: literals(['open', 'closed'] as const),
  inputModelHash: Sha256Hex,
  aggregateHash: nullable(Sha256Hex),
  submitted: Type.Array(Type.String(), {
    description: 'MSP IDs with an update recorded on the ledger for this round',
  }),
});
export const RunStatusSchema = strictObject({
  run: RunRecordSchema,
  currentRound: nullable(Type.Integer({ minimum: 0 })),
  rounds: Type.Array(RoundSummarySchema),
});

export const RoundDetailsSchema = strictObject({
  round: RoundRecordSchema,
  updates: Type.Array(UpdateRecordSchema),
});

export const MetricsReplySchema = strictObject({
  metrics: Type.Array(
    Type.Object(
      { round: Type.Integer({ minimum: 0 }), mspId: Type.String() },
      {
        additionalProperties: Type.Number(),
        description:
          'one included update: ε spent (epsilon) and the local validation metrics it reports (accuracy, loss, macro_f1 …)',
      },
    ),
  ),
});

export const RoundClosedReplySchema = strictObject({
  runId: Type.String(),
  round: Type.Integer({ minimum: 0 }),
  aggregateHash: Sha256Hex,
  included: Type.Array(Type.String()),
  excluded: Type.Array(ExcludedUpdateSchema),
  close: CommitInfoSchema,
  closeLatencyMs: Type.Number({ minimum: 0 }),
  next: Type.Optional(CommitInfoSchema),
  openLatencyMs: Type.Optional(Type.Number({ minimum: 0 })),
});

const signingFormat = literals(['fabric', 'simulated'] as const);
export const UploadReplySchema = strictObject({
  submissionId: Type.String({ pattern: UUID_PATTERN }),
  sha256: Sha256Hex,
  byteLength: Type.Integer({ minimum: 1 }),
  submission: UpdateSubmissionSchema,
  proposal: strictObject({
    format: signingFormat,
    bytes: Type.String({ contentEncoding: 'base64', description: 'the SubmitUpdate proposal' }),
  }),
  proposalDigest: Type.String({ contentEncoding: 'base64' }),
  expiresAt: Timestamp,
});
export const EndorseReplySchema = strictObject({
  submissionId: Type.String(),
  transaction: Type.String({ contentEncoding: 'base64' }),
  transactionDigest: Type.String({ contentEncoding: 'base64' }),
});
export const CommitReplySchema = strictObject({
  submissionId: Type.String(),
  commit: CommitInfoSchema,
  record: nullable(UpdateRecordSchema),
  key: Type.String(),
});
export const SubmissionStatusSchema = strictObject({
  submissionId: Type.String(),
  state: literals(['proposed', 'endorsing', 'endorsed', 'submitting', 'committed'] as const),
  runId: Type.String(),
  round: Type.Integer({ minimum: 0 }),
  sha256: Sha256Hex,
});

export const HistoryReplySchema = strictObject({
  key: Type.String(),
  history: Type.Array(HistoryEntrySchema),
});

const VerificationProblemSchema = strictObject({
  code: Type.String(),
  message: Type.String(),
  mspId: Type.Optional(Type.String()),
});
export const VerificationReportSchema = strictObject({
  runId: Type.String(),
  ok: Type.Boolean(),
  ledger: Type.String(),
  rounds: Type.Array(
    strictObject({
      round: Type.Integer({ minimum: 0 }),
      ok: Type.Boolean(),
      included: Type.Array(Type.String()),
      problems: Type.Array(VerificationProblemSchema),
      unverifiable: Type.Array(VerificationProblemSchema),
    }),
  ),
  problems: Type.Array(VerificationProblemSchema),
  checkedAt: Timestamp,
});

export { AuditTrailSchema };

/** The body of every refusal (RFC 9457 problem+json); `code` is from the problem registry. */
export function problemSchema(codes: readonly string[]) {
  return strictObject({
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    code: Type.Unsafe<string>({ type: 'string', enum: [...codes] }),
    detail: Type.String({ description: 'what to fix, in a sentence' }),
  });
}
