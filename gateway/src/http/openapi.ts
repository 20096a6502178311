// The OpenAPI 3.1 description of REST API v1, served at /openapi.json. Every request body and
// reply schema is the JSON Schema object the gateway checks bodies with, or the one the compiler
// holds equal to the reply's type (@fedledger/protocol/schema); a test checks that the document
// lists exactly the routes the application serves, and another validates recorded requests and
// replies of a whole run against it.
import type { TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { CONTAINER_MEDIA_TYPE } from '@fedledger/protocol';
import {
  AuditTrailSchema,
  CommitReplySchema,
  EndorseReplySchema,
  HealthReplySchema,
  HistoryReplySchema,
  KeyAdvertisementRequestSchema,
  KeysListReplySchema,
  KeysUploadReplySchema,
  MetricsReplySchema,
  ModelStoredReplySchema,
  ReadyReplySchema,
  RevealSchema,
  RoundClosedReplySchema,
  RoundDetailsSchema,
  RunCreatedReplySchema,
  RunListReplySchema,
  RunRequestSchema,
  RunStatusSchema,
  SecAggBlobReplySchema,
  ShareBundleSchema,
  SignatureRequestSchema,
  SubmissionStatusSchema,
  UploadReplySchema,
  UUID_PATTERN,
  VerificationReportSchema,
  problemSchema,
} from '@fedledger/protocol/schema';
import { PROBLEM_REGISTRY } from './problem-registry';

/** A body of a request or reply: JSON with a schema, or bytes of another media type. */
type Body =
  | { media: 'application/json'; schema: TSchema }
  | { media: typeof CONTAINER_MEDIA_TYPE | 'text/plain' | 'text/event-stream'; schema: TSchema };

interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  /** Who may call it; `open` needs no client certificate. */
  access: 'open' | 'any' | 'hospital' | 'coordinator';
  request?: Body;
  /** The success status and its body (none with 204). */
  status: 200 | 201 | 204;
  reply?: Body;
  /** Headers of the success reply. */
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

const json = (schema: TSchema): Body => ({ media: 'application/json', schema });
const CONTAINER: Body = {
  media: CONTAINER_MEDIA_TYPE,
  schema: Type.String({
    contentMediaType: CONTAINER_MEDIA_TYPE,
    description:
      'a safetensors file: 8-byte little-endian header length, JSON header with fedledger metadata, tensor bytes',
  }),
};

/** Every operation of the API. */
export const OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    access: 'open',
    status: 200,
    reply: json(HealthReplySchema),
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness (resumed from the ledger); FL_ERR_NOT_READY (503) until then',
    access: 'open',
    status: 200,
    reply: json(ReadyReplySchema),
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    access: 'open',
    status: 200,
    reply: { media: 'text/plain', schema: Type.String({ description: 'Prometheus text format' }) },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    access: 'open',
    status: 200,
    reply: json(Type.Object({ openapi: Type.Literal('3.1.0') })),
  },
  {
    method: 'get',
    path: '/v1/runs',
    summary: 'Runs on the ledger',
    access: 'any',
    status: 200,
    reply: json(RunListReplySchema),
  },
  {
    method: 'post',
    path: '/v1/runs',
    summary: 'Create a run and open round 0 (the initial model first with POST /v1/models)',
    access: 'coordinator',
    request: json(RunRequestSchema),
    status: 201,
    reply: json(RunCreatedReplySchema),
  },
  {
    method: 'post',
    path: '/v1/models',
    summary: 'Upload an initial model (a container of kind "model")',
    access: 'coordinator',
    request: CONTAINER,
    status: 201,
    reply: json(ModelStoredReplySchema),
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}',
    summary: 'A run, its rounds and the open round',
    access: 'any',
    status: 200,
    reply: json(RunStatusSchema),
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/rounds/{round}',
    summary: 'A round and its update records',
    access: 'any',
    status: 200,
    reply: json(RoundDetailsSchema),
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/rounds/{round}/model',
    summary: "A round's input model, with its ledger record in the headers",
    access: 'any',
    status: 200,
    reply: CONTAINER,
    headers: {
      'X-Model-SHA256': 'the SHA-256 of the model, as the round record names it',
      'X-Ledger-Tx-Id': 'the transaction that opened the round',
      'X-Ledger-Record': 'the round record (base64 JSON)',
    },
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/model',
    summary: 'The final model of a completed run',
    access: 'any',
    status: 200,
    reply: CONTAINER,
    headers: { 'X-Model-SHA256': 'the SHA-256 of the model' },
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/metrics',
    summary: 'Validation metrics and ε reported with each update',
    access: 'any',
    status: 200,
    reply: json(MetricsReplySchema),
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/close',
    summary:
      'Close the open round now with the updates recorded so far (quorum permitting) and open the next',
    access: 'coordinator',
    status: 200,
    reply: json(RoundClosedReplySchema),
  },
  {
    method: 'get',
    path: '/v1/blobs/{sha256}',
    summary: 'Stored bytes by SHA-256 (hospitals: models and their own updates)',
    access: 'any',
    status: 200,
    reply: CONTAINER,
    headers: { 'X-Content-SHA256': 'the SHA-256 asked for' },
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/rounds/{round}/updates',
    summary: 'Upload an update; returns the proposal (and its digest) to check and sign',
    access: 'hospital',
    request: CONTAINER,
    status: 201,
    reply: json(UploadReplySchema),
  },
  {
    method: 'post',
    path: '/v1/submissions/{id}/proposal-signature',
    summary: 'Signed proposal; returns the endorsed transaction (and its digest) to check and sign',
    access: 'hospital',
    request: json(SignatureRequestSchema),
    status: 200,
    reply: json(EndorseReplySchema),
  },
  {
    method: 'post',
    path: '/v1/submissions/{id}/transaction-signature',
    summary: 'Signed transaction; submits and returns the commit',
    access: 'hospital',
    request: json(SignatureRequestSchema),
    status: 200,
    reply: json(CommitReplySchema),
  },
  {
    method: 'delete',
    path: '/v1/submissions/{id}',
    summary: 'Abandons a signing session (before the signed transaction); uploads are free again',
    access: 'hospital',
    status: 204,
  },
  {
    method: 'get',
    path: '/v1/submissions/{id}',
    summary: 'State of a signing session',
    access: 'hospital',
    status: 200,
    reply: json(SubmissionStatusSchema),
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/rounds/{round}/secagg/keys',
    summary:
      "Secure aggregation: this hospital's round keys; returns the AdvertiseKeys proposal to check and sign (then the two signature routes)",
    access: 'hospital',
    request: json(KeyAdvertisementRequestSchema),
    status: 201,
    reply: json(KeysUploadReplySchema),
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/rounds/{round}/secagg/keys',
    summary:
      "The round's key advertisements (the gateway's word: hospitals with a peer read ListKeys there)",
    access: 'any',
    status: 200,
    reply: json(KeysListReplySchema),
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/rounds/{round}/secagg/shares',
    summary: "This hospital's share bundle (each share encrypted to its recipient)",
    access: 'hospital',
    request: json(ShareBundleSchema),
    status: 201,
    reply: json(SecAggBlobReplySchema),
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/rounds/{round}/secagg/shares/{mspId}',
    summary: "A dealer's share bundle (the one the round's mask set names, once fixed)",
    access: 'any',
    status: 200,
    reply: json(ShareBundleSchema),
    headers: { 'X-Content-SHA256': 'the SHA-256 of the bundle (the mask set names it)' },
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/rounds/{round}/secagg/reveal',
    summary:
      "A survivor's revealed shares, once the ledger fixes the survivors (self-mask seeds of survivors, mask secrets of the dropped)",
    access: 'hospital',
    request: json(RevealSchema),
    status: 201,
    reply: json(SecAggBlobReplySchema),
  },
  {
    method: 'get',
    path: '/v1/audit/runs/{runId}/trail',
    summary: 'Audit trail of a run from the ledger',
    access: 'any',
    status: 200,
    reply: json(AuditTrailSchema),
  },
  {
    method: 'get',
    path: '/v1/audit/history',
    summary: 'History of a ledger key',
    access: 'any',
    status: 200,
    reply: json(HistoryReplySchema),
    query: {
      key: 'a ledger key: run/<run>, round/<run>/<round>, update/<run>/<round>/<msp> or secagg-keys/<run>/<round>/<msp>',
    },
  },
  {
    method: 'post',
    path: '/v1/audit/runs/{runId}/verify',
    summary: 'Re-verify every hash and aggregate of a run',
    access: 'any',
    status: 200,
    reply: json(VerificationReportSchema),
  },
  {
    method: 'get',
    path: '/v1/events',
    summary:
      'Ledger events (server-sent events: RunCreated, RoundOpened, UpdateSubmitted, RoundClosed; secure aggregation: KeysAdvertised, MaskingBegun, UnmaskingBegun)',
    access: 'any',
    status: 200,
    reply: {
      media: 'text/event-stream',
      schema: Type.String({ description: 'event: <name>, data: the event with its record (JSON)' }),
    },
  },
];

const PATH_PARAMETERS: Record<string, TSchema> = {
  runId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
  round: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  id: Type.String({ pattern: UUID_PATTERN }),
  mspId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
};

/** A schema as plain JSON (TypeBox's own markers are symbols, which JSON leaves out). */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

function operationId(op: Operation): string {
  return `${op.method}${op.path
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`;
}

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: plain(PATH_PARAMETERS[m[1] as string] ?? Type.String()),
      })),
      ...Object.entries(op.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        required: true,
        description,
        schema: { type: 'string' },
      })),
    ];
    const operation: Record<string, unknown> = {
      operationId: operationId(op),
      summary: op.summary,
      parameters,
      security: op.access === 'open' ? [] : [{ mutualTLS: [] }],
      'x-fedledger-access': op.access,
      responses: {
        [String(op.status)]: {
          description:
            op.status === 201 ? 'Created' : op.status === 204 ? 'Done; no content' : 'OK',
          ...(op.reply
            ? { content: { [op.reply.media]: { schema: plain(op.reply.schema) } } }
            : {}),
          ...(op.headers
            ? {
                headers: Object.fromEntries(
                  Object.entries(op.headers).map(([name, description]) => [
                    name,
                    { description, schema: { type: 'string' } },
                  ]),
                ),
              }
            : {}),
        },
        default: {
          description: 'A problem (RFC 9457)',
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
          },
        },
      },
    };
    if (op.request) {
      operation['requestBody'] = {
        required: true,
        content: { [op.request.media]: { schema: plain(op.request.schema) } },
      };
    }
    paths[op.path] = { ...paths[op.path], [op.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'fedledger gateway', version: '1.0.0' },
    servers: [{ url: 'https://127.0.0.1:8443' }],
    paths,
    components: {
      securitySchemes: {
        mutualTLS: { type: 'mutualTLS', description: "Your organisation's client certificate" },
      },
      schemas: { Problem: plain(problemSchema(Object.keys(PROBLEM_REGISTRY))) },
    },
  };
}
