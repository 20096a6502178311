// Small pieces every route of the REST API uses: problem+json replies, path and body parsing.
import type { Request, Response } from 'express';
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

export function signatureFrom(body: unknown): Uint8Array {
  const value = (body as { signature?: unknown } | undefined)?.signature;
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/=]{8,400}$/.test(value)) {
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

export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new BadRequestError('FL_ERR_BAD_REQUEST', `${name} is missing`);
  return value;
}
