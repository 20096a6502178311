// JSON Schemas of the ledger records and the model spec as the REST API carries them. They are
// the schemas of the OpenAPI document; type-checks.ts makes the compiler hold each one equal to
// the TypeScript type that the code uses, so neither can change without the other.
import type { Static, TLiteral, TSchema, TUnion } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { EXCLUSION_CODES } from '../exclusion';
import { MSP_ID_PATTERN, RUN_ID_PATTERN, STRATEGIES } from '../ledger';

/** An object schema that refuses properties it does not name (every API object is one). */
export function strictObject<P extends Parameters<typeof Type.Object>[0]>(
  properties: P,
  description?: string,
) {
  return Type.Object(properties, {
    additionalProperties: false,
    ...(description ? { description } : {}),
  });
}

/** A string enum from a list of literals. */
export function literals<const T extends readonly string[]>(values: T, description?: string) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  ) as TUnion<TLiteral<T[number]>[]>;
}

/** `schema` or JSON null. */
export function nullable<S extends TSchema>(schema: S) {
  return Type.Union([schema, Type.Null()]);
}

/** A signing session's ID (a UUID). */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export const Sha256Hex = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'a SHA-256 as 64 lowercase hexadecimal characters',
});
export const RunId = Type.String({
  pattern: RUN_ID_PATTERN.source,
  description: '1-64 characters: letters, digits, ".", "_" or "-"',
});
export const MspId = Type.String({
  pattern: MSP_ID_PATTERN.source,
  description: "an organisation's MSP ID, e.g. Hospital1MSP",
});
export const Timestamp = Type.String({ description: 'an ISO 8601 time' });
export const Strategy = literals(STRATEGIES);
export const Encoding = literals(['float32', 'ckks', 'secagg'] as const);

export const DenseLayerSpecSchema = strictObject({
  units: Type.Integer({ minimum: 1 }),
  activation: literals(['relu', 'softmax', 'linear', 'sigmoid', 'tanh'] as const),
});
export const ModelSpecSchema = strictObject(
  {
    name: Type.String({ minLength: 1 }),
    inputDim: Type.Integer({ minimum: 1 }),
    layers: Type.Array(DenseLayerSpecSchema, { minItems: 1 }),
  },
  'a feed-forward network of Dense layers (fedledger-trainer init --save-spec writes one)',
);

export const ClientRefSchema = strictObject({
  mspId: Type.String(),
  id: Type.String({ description: "Fabric's client identity ID (x509::<subject>::<issuer>)" }),
  certFingerprint: Sha256Hex,
});
export const CreatorRefSchema = strictObject({ mspId: Type.String(), certFingerprint: Sha256Hex });

export const CommitInfoSchema = strictObject({
  txId: Type.String(),
  blockNumber: Type.Integer({ minimum: 0 }),
  status: Type.String({ description: 'Fabric validation code; VALID for a committed transaction' }),
});

/** Whether validation metrics leave the hospitals (a run setting; absent in older runs: none). */
export const SharedMetricsSchema = Type.Union(
  [
    strictObject({ mode: Type.Literal('none') }, 'metrics stay at the hospitals (the default)'),
    strictObject(
      {
        mode: Type.Literal('noised'),
        noiseMultiplier: Type.Number({ minimum: 1, maximum: 1e6 }),
      },
      'metrics shared, noised at this noise multiplier and composed into each hospital’s ε',
    ),
  ],
  { description: 'whether hospitals share validation metrics with the consortium' },
);

/** The settings a run records (RunRecord.settings), as `POST /v1/runs` builds them. */
export const RunSettingsSchema = strictObject({
  modelSpec: ModelSpecSchema,
  strategyParams: Type.Record(Type.String(), Type.Unknown()),
  updateNormBound: nullable(Type.Number({ exclusiveMinimum: 0 })),
  roundDeadlineSeconds: Type.Integer({ minimum: 1 }),
  encoding: Encoding,
  dp: nullable(Type.Record(Type.String(), Type.Unknown())),
  he: nullable(Type.Record(Type.String(), Type.Unknown())),
  sharedMetrics: Type.Optional(SharedMetricsSchema),
  protection: Type.Optional(literals(['plaintext', 'ckks', 'secagg'] as const)),
  secagg: Type.Optional(
    strictObject(
      {
        threshold: Type.Integer({ minimum: 2 }),
        range: Type.Number({ exclusiveMinimum: 0 }),
        fractionBits: Type.Integer({ minimum: 0, maximum: 30 }),
        weightScale: Type.Integer({ minimum: 1 }),
        phaseSeconds: Type.Integer({ minimum: 1 }),
        minSurvivors: Type.Integer({ minimum: 2 }),
      },
      'secure aggregation: Shamir threshold, fixed-point range and fraction bits, weight divisor, phase wait, fewest hospitals in an aggregate',
    ),
  ),
});

export const RunRecordSchema = strictObject({
  docType: Type.Literal('run'),
  key: Type.String(),
  runId: Type.String(),
  modelSpecHash: Sha256Hex,
  initialModelHash: Sha256Hex,
  participants: Type.Array(Type.String()),
  roundsPlanned: Type.Integer({ minimum: 1 }),
  minUpdatesPerRound: Type.Integer({ minimum: 1 }),
  strategy: Strategy,
  sampleCounts: Type.Record(Type.String(), Type.Integer({ minimum: 1 })),
  settings: RunSettingsSchema,
  coordinator: ClientRefSchema,
  status: literals(['active', 'completed'] as const),
  finalModelHash: Type.Optional(Sha256Hex),
  createdAt: Timestamp,
  txId: Type.String(),
});

export const ExcludedUpdateSchema = strictObject({
  mspId: Type.String(),
  sha256: Type.String(),
  code: literals(Object.keys(EXCLUSION_CODES) as (keyof typeof EXCLUSION_CODES)[]),
  detail: Type.String(),
  onLedger: Type.Boolean(),
});

const roundFields = {
  docType: Type.Literal('round'),
  key: Type.String(),
  runId: Type.String(),
  round: Type.Integer({ minimum: 0 }),
  status: literals(['open', 'closed'] as const),
  inputModelHash: Sha256Hex,
  openedAt: Timestamp,
  openTxId: Type.String(),
  aggregateHash: Type.Optional(Sha256Hex),
  included: Type.Optional(Type.Array(Type.String())),
  excluded: Type.Optional(Type.Array(ExcludedUpdateSchema)),
  closedAt: Type.Optional(Timestamp),
  closeTxId: Type.Optional(Type.String()),
  secagg: Type.Optional(
    strictObject({
      phase: literals(['masking', 'unmasking'] as const),
      maskSet: Type.Array(strictObject({ mspId: Type.String(), sharesSha256: Sha256Hex })),
      maskingAt: Timestamp,
      survivors: Type.Optional(Type.Array(Type.String())),
      unmaskingAt: Type.Optional(Timestamp),
      recovery: Type.Optional(
        Type.Array(strictObject({ mspId: Type.String(), sha256: Sha256Hex })),
      ),
      abandoned: Type.Optional(Type.Boolean()),
    }),
  ),
};
export const RoundRecordSchema = strictObject(roundFields);

export const DpAccountingSchema = strictObject({
  mechanism: Type.String(),
  epsilonSpent: Type.String({ description: 'a decimal string' }),
  delta: Type.String({ description: 'a decimal string' }),
  noiseMultiplier: Type.Optional(Type.String()),
  clipNorm: Type.Optional(Type.String()),
});

const submissionFields = {
  runId: Type.String(),
  round: Type.Integer({ minimum: 0 }),
  mspId: Type.String(),
  sha256: Sha256Hex,
  sampleCount: Type.Integer({ minimum: 1 }),
  byteLength: Type.Integer({ minimum: 1 }),
  encoding: Encoding,
  dp: Type.Optional(DpAccountingSchema),
};
export const UpdateSubmissionSchema = strictObject(submissionFields);
export const UpdateRecordSchema = strictObject({
  ...submissionFields,
  docType: Type.Literal('update'),
  key: Type.String(),
  creator: CreatorRefSchema,
  txId: Type.String(),
  timestamp: Timestamp,
});

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes, hex' });
export const KeysRecordSchema = strictObject({
  runId: Type.String(),
  round: Type.Integer({ minimum: 0 }),
  mspId: Type.String(),
  encryptionKey: Hex32,
  maskKey: Hex32,
  selfMaskCommitment: Hex32,
  docType: Type.Literal('secaggKeys'),
  key: Type.String(),
  creator: CreatorRefSchema,
  txId: Type.String(),
  timestamp: Timestamp,
});

export const RoundTrailSchema = strictObject({
  ...roundFields,
  updates: Type.Array(UpdateRecordSchema),
  keys: Type.Optional(Type.Array(KeysRecordSchema)),
});
export const AuditTrailSchema = strictObject({
  run: RunRecordSchema,
  rounds: Type.Array(RoundTrailSchema),
});
export const HistoryEntrySchema = strictObject({
  txId: Type.String(),
  timestamp: Timestamp,
  isDelete: Type.Boolean(),
  value: Type.Unknown({ description: 'the record as it was written by this transaction' }),
});

/** The settings of a run as the schema describes them. */
export type RunSettingsDocument = Static<typeof RunSettingsSchema>;
