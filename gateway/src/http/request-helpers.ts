// Small pieces every route of the REST API uses: problem+json replies, path and body parsing.
import type { Request, Response } from 'express';
import { RUN_ID_PATTERN } from '@fedledger/protocol';
import { SignatureRequestSchema, checkAgainst } from '@fedledger/protocol/schema';
import { BadRequestError } from '../errors';
import type { ProblemCode } from './problem-registry';
import { PROBLEM_REGISTRY, PROBLEM_TYPE_BASE } from './problem-registry';

export function problem(
  res: Response,
  code: ProblemCode,
  detail: string,
  extra: object = {},
): void {
  const entry = PROBLEM_REGISTRY[code];
  res
    .status(entry.status)
    .type('application/problem+json')
    .json({
      type: `${PROBLEM_TYPE_BASE}${code}`,
      title: entry.title,
      status: entry.status,
      code,
      detail,
      ...extra,
    });
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/**
 * The signature of a signature request, checked against its JSON Schema (SignatureRequestSchema).
 * @throws {BadRequestError} saying what the body must be.
 */
export function signatureFrom(body: unknown): Uint8Array {
  const value = (body as { signature?: unknown } | undefined)?.signature;
  if (typeof value !== 'string' || checkAgainst(SignatureRequestSchema, body)) {
    throw new BadRequestError(
      'FL_ERR_BAD_REQUEST',
      'the body must be {"signature": "<base64 DER ECDSA signature>"}',
    );
  }
  return Buffer.from(value, 'base64');
}

export function intParam(value: string | undefined, name: string): number {
  if (value === undefined || !/^(0|[1-9][0-9]{0,8})$/.test(value)) {
    throw new BadRequestError('FL_ERR_BAD_REQUEST', `${name} must be a non-negative integer`);
  }
  return Number(value);
}

/** What each route parameter may hold; anything else is a 400 before any handler uses it. */
const PARAM_RULES: Readonly<Record<string, { pattern: RegExp; says: string }>> = {
  runId: {
    pattern: RUN_ID_PATTERN,
    says: 'a run ID: 1-64 letters, digits, ".", "_" or "-"',
  },
  round: { pattern: /^(0|[1-9][0-9]{0,8})$/, says: 'a non-negative integer' },
  sha256: { pattern: /^[0-9a-f]{64}$/, says: 'a SHA-256 (64 lowercase hex characters)' },
  id: {
    pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    says: 'a signing session ID (a UUID)',
  },
};

/**
 * A route parameter, checked against its rule.
 * @throws {BadRequestError} naming the parameter and what it must be.
 */
export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new BadRequestError('FL_ERR_BAD_REQUEST', `${name} is missing`);
  const rule = PARAM_RULES[name];
  if (rule && !rule.pattern.test(value)) {
    throw new BadRequestError('FL_ERR_BAD_REQUEST', `${name} must be ${rule.says}`);
  }
  return value;
}

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 32;

/**
 * Throws when raw JSON nests deeper than {@link MAX_JSON_DEPTH}, scanning the bytes before they
 * are parsed (deep nesting would exhaust the stack of whatever walks the value later).
 * @throws {BadRequestError}
 */
export function checkJsonDepth(raw: Uint8Array): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > MAX_JSON_DEPTH) {
        throw new BadRequestError(
          'FL_ERR_BAD_REQUEST',
          `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`,
        );
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
