// JSON Schemas of the REST API's request bodies. The gateway checks every JSON body against its
// schema (checkAgainst) before anything else reads it, and the OpenAPI document serves the same
// objects, so what is documented is what is accepted.
import type { Static, TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  ModelSpecSchema,
  MspId,
  RunId,
  Sha256Hex,
  Strategy,
  nullable,
  strictObject,
} from './records';

/** Longest round deadline: 90 days. */
export const MAX_ROUND_DEADLINE_SECONDS = 90 * 24 * 3600;
/** Largest sample count an organisation may declare. */
export const MAX_SAMPLE_COUNT = 1_000_000_000;

/** Body of `POST /v1/runs`. */
export const RunRequestSchema = strictObject(
  {
    runId: RunId,
    participants: Type.Array(MspId, {
      minItems: 1,
      uniqueItems: true,
      description: 'the MSP IDs of the hospitals that train',
    }),
    roundsPlanned: Type.Integer({ minimum: 1, description: 'how many rounds the run has' }),
    minUpdatesPerRound: Type.Integer({
      minimum: 1,
      description: 'the quorum: updates a round needs to close (at most the participants)',
    }),
    strategy: Type.Optional(Strategy),
    strategyParams: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'parameters of the strategy, e.g. {"trim": 1} or {"f": 1}',
      }),
    ),
    updateNormBound: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1e12,
        description: 'largest L2 norm of an update; default 10 √(number of parameters)',
      }),
    ),
    roundDeadlineSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_ROUND_DEADLINE_SECONDS,
        description: 'seconds from a round opening to its close with the quorum (default 600)',
      }),
    ),
    sampleCounts: Type.Record(MspId, Type.Integer({ minimum: 1, maximum: MAX_SAMPLE_COUNT }), {
      additionalProperties: false,
      description:
        "each participant's sample count, declared before training and public on the ledger: an update may claim at most this many",
    }),
    modelSpec: ModelSpecSchema,
    initialModelSha256: Sha256Hex,
    preprocessingSha256: Type.Optional(
      nullable(
        Type.String({
          pattern: '^[0-9a-f]{64}$',
          description:
            'SHA-256 of the shared preprocessing (fedledger-preprocessing/1, canonical JSON) every hospital must apply; hospitals refuse a transform that does not hash to it',
        }),
      ),
    ),
    dp: Type.Optional(
      nullable(
        Type.Record(Type.String(), Type.Unknown(), {
          description:
            'differential privacy the run asks of every hospital, recorded for all to read, e.g. {"mechanism": "dp-sgd", "targetEpsilon": "1", "delta": "1e-05"}',
        }),
      ),
    ),
    sharedMetrics: Type.Optional(
      nullable(
        Type.Union(
          [
            strictObject({ mode: Type.Literal('none') }),
            strictObject({
              mode: Type.Literal('noised'),
              noiseMultiplier: Type.Optional(Type.Number({ minimum: 1, maximum: 1e6 })),
            }),
          ],
          {
            description:
              'whether hospitals share validation metrics: {"mode": "none"} (the default: they stay at the hospitals) or {"mode": "noised", "noiseMultiplier": 50} (noised, composed into ε)',
          },
        ),
      ),
    ),
    secagg: Type.Optional(
      nullable(
        strictObject(
          {
            threshold: Type.Optional(Type.Integer({ minimum: 2 })),
            range: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
            fractionBits: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 })),
            phaseSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
            minSurvivors: Type.Optional(Type.Integer({ minimum: 2 })),
          },
          'a secure-aggregation run (pairwise masking with keys on the ledger); each field defaults (threshold: a majority, range 16, fractionBits 26, phaseSeconds 60, minSurvivors 3 or all when fewer)',
        ),
      ),
    ),
    he: Type.Optional(
      nullable(
        strictObject(
          {
            params: Type.Record(Type.String(), Type.Unknown(), {
              description: "the CKKS parameters (protocol's CKKS_PARAMS, the only set accepted)",
            }),
            keyFingerprint: Sha256Hex,
          },
          'an encrypted (CKKS) run: the parameters and the fingerprint of the shared key',
        ),
      ),
    ),
  },
  'a training run to create; round 0 opens with the initial model',
);
export type RunRequestBody = Static<typeof RunRequestSchema>;

/** Body of `POST /v1/submissions/{id}/proposal-signature` and `…/transaction-signature`. */
export const SignatureRequestSchema = strictObject({
  signature: Type.String({
    pattern: '^[A-Za-z0-9+/=]{8,400}$',
    description: 'the base64 DER ECDSA signature of the digest, by the hospital',
  }),
});

/** Where a body breaks its schema, and how. */
export interface SchemaViolation {
  /** The field, dotted (`sampleCounts.Hospital1MSP`, `modelSpec.layers.0.units`); '' for the body. */
  field: string;
  /** A sentence fragment: what the field must be. */
  message: string;
}

function describe(schema: TSchema | undefined): string {
  const d = (schema as { description?: unknown } | undefined)?.description;
  return typeof d === 'string' ? ` (${d})` : '';
}

/**
 * The first place where `value` breaks `schema`, or undefined when it conforms.
 * An unknown property is named as such, so that a misspelt field is not silently ignored.
 */
export function checkAgainst(schema: TSchema, value: unknown): SchemaViolation | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const field = first.path.split('/').slice(1).join('.');
  if (first.message.startsWith('Unexpected property')) {
    return {
      field,
      message: field.includes('.')
        ? 'is not allowed here; check its spelling'
        : 'is not a field of this request; check its spelling',
    };
  }
  const message = first.message.charAt(0).toLowerCase() + first.message.slice(1);
  return { field, message: `${message}${describe(first.schema)}` };
}
