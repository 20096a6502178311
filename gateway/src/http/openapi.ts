// The OpenAPI 3.1 description of REST API v1, served at /openapi.json. A test checks that it
// lists exactly the routes the application serves.
import { PROBLEM_REGISTRY } from './problem-registry';

interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  /** Who may call it; `open` needs no client certificate. */
  access: 'open' | 'any' | 'hospital' | 'coordinator';
  body?: 'json' | 'container';
  response: 'json' | 'container' | 'text' | 'event-stream' | 'none';
}

/** Every operation of the API. */
export const OPERATIONS: readonly Operation[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', access: 'open', response: 'json' },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness (resumed from the ledger)',
    access: 'open',
    response: 'json',
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    access: 'open',
    response: 'text',
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    access: 'open',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/runs',
    summary: 'Runs on the ledger',
    access: 'any',
    response: 'json',
  },
  {
    method: 'post',
    path: '/v1/runs',
    summary: 'Create a run and open round 0',
    access: 'coordinator',
    body: 'json',
    response: 'json',
  },
  {
    method: 'post',
    path: '/v1/models',
    summary: 'Upload an initial model',
    access: 'coordinator',
    body: 'container',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}',
    summary: 'A run, its rounds and the open round',
    access: 'any',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/rounds/{round}',
    summary: 'A round and its update records',
    access: 'any',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/rounds/{round}/model',
    summary: "A round's input model (X-Model-SHA256, X-Ledger-Tx-Id)",
    access: 'any',
    response: 'container',
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/model',
    summary: 'The final model of a completed run',
    access: 'any',
    response: 'container',
  },
  {
    method: 'get',
    path: '/v1/runs/{runId}/metrics',
    summary: 'Validation metrics and ε reported with each update',
    access: 'any',
    response: 'json',
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/close',
    summary: 'Close the open round now (quorum permitting)',
    access: 'coordinator',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/blobs/{sha256}',
    summary: 'Stored bytes by SHA-256 (hospitals: models and their own updates)',
    access: 'any',
    response: 'container',
  },
  {
    method: 'post',
    path: '/v1/runs/{runId}/rounds/{round}/updates',
    summary: 'Upload an update; returns the proposal digest to sign',
    access: 'hospital',
    body: 'container',
    response: 'json',
  },
  {
    method: 'post',
    path: '/v1/submissions/{id}/proposal-signature',
    summary: 'Signed proposal; returns the transaction digest to sign',
    access: 'hospital',
    body: 'json',
    response: 'json',
  },
  {
    method: 'post',
    path: '/v1/submissions/{id}/transaction-signature',
    summary: 'Signed transaction; submits and returns the commit',
    access: 'hospital',
    body: 'json',
    response: 'json',
  },
  {
    method: 'delete',
    path: '/v1/submissions/{id}',
    summary: 'Abandons a signing session (before the signed transaction); uploads are free again',
    access: 'hospital',
    response: 'none',
  },
  {
    method: 'get',
    path: '/v1/submissions/{id}',
    summary: 'State of a signing session',
    access: 'hospital',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/audit/runs/{runId}/trail',
    summary: 'Audit trail of a run from the ledger',
    access: 'any',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/audit/history',
    summary: 'History of a ledger key (?key=update/<run>/<round>/<msp>)',
    access: 'any',
    response: 'json',
  },
  {
    method: 'post',
    path: '/v1/audit/runs/{runId}/verify',
    summary: 'Re-verify every hash and aggregate of a run',
    access: 'any',
    response: 'json',
  },
  {
    method: 'get',
    path: '/v1/events',
    summary: 'Ledger events (server-sent events)',
    access: 'any',
    response: 'event-stream',
  },
];

const MEDIA: Record<Exclude<Operation['response'], 'none'>, string> = {
  json: 'application/json',
  container: 'application/vnd.fedledger.container',
  text: 'text/plain',
  'event-stream': 'text/event-stream',
};

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: m[1] === 'round' ? { type: 'integer', minimum: 0 } : { type: 'string' },
    }));
    const operation: Record<string, unknown> = {
      operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: op.summary,
      parameters,
      security: op.access === 'open' ? [] : [{ mutualTLS: [] }],
      'x-fedledger-access': op.access,
      responses: {
        ...(op.response === 'none'
          ? { '204': { description: 'Done; no content' } }
          : { '200': { description: 'OK', content: { [MEDIA[op.response]]: {} } } }),
        default: {
          description: 'A problem (RFC 9457)',
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
          },
        },
      },
    };
    if (op.body) {
      operation['requestBody'] = {
        required: true,
        content: { [op.body === 'json' ? 'application/json' : MEDIA.container]: {} },
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
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string', enum: Object.keys(PROBLEM_REGISTRY) },
            detail: { type: 'string' },
          },
        },
      },
    },
  };
}
