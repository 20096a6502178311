// The gateway's typed errors: every failure a caller can see carries a stable `code` from the
// problem registry (src/http/problem-registry.ts), so HTTP mapping never matches strings.
import type { ProblemCode } from './http/problem-registry';

/** Context attached to an error for logs and problem details (never secrets). */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

/** Base of every error the gateway raises on purpose. */
export class GatewayError extends Error {
  readonly code: ProblemCode;
  readonly context: ErrorContext;

  constructor(
    code: ProblemCode,
    message: string,
    options?: ErrorOptions & { context?: ErrorContext },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = options?.context ?? {};
  }
}

/** The request is malformed: wrong content type, bad JSON, an argument out of range. */
export class BadRequestError extends GatewayError {}

/** The caller could not be authenticated, or is not allowed to do what it asked. */
export class AccessDeniedError extends GatewayError {}

/** A named thing (run, round, blob, submission) does not exist. */
export class NotFoundError extends GatewayError {}

/** An uploaded update or model was refused; `code` names the reason (shape, norm, finite …). */
export class UpdateRejectedError extends GatewayError {}

/** The bytes of a stored blob no longer hash to the name they were stored under. */
export class BlobIntegrityError extends GatewayError {
  constructor(expected: string, actual: string) {
    super('FL_ERR_HASH_MISMATCH', `blob ${expected} now hashes to ${actual}`, {
      context: { expected, actual },
    });
  }
}

/** A stream was larger than its limit; nothing was stored. */
export class SizeLimitError extends GatewayError {
  constructor(limit: number, what = 'the body') {
    super('FL_ERR_BODY_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes`, {
      context: { limit },
    });
  }
}

/** A signature from a hospital did not verify against its certificate. */
export class SignatureError extends GatewayError {
  constructor(message: string, context?: ErrorContext) {
    super('FL_ERR_BAD_SIGNATURE', message, context ? { context } : undefined);
  }
}

/** An offline-signing step named a submission that is unknown, expired, or in another state. */
export class SubmissionStateError extends GatewayError {}

/**
 * The ledger refused a transaction with one of the contract's stable codes.
 * `ledgerCode` is the contract's code (`UPDATE_EXISTS`); `code` is its problem code.
 */
export class LedgerRuleError extends GatewayError {
  readonly ledgerCode: string;

  constructor(
    ledgerCode: string,
    message: string,
    options?: ErrorOptions & { context?: ErrorContext },
  ) {
    super(`FL_ERR_${ledgerCode}` as ProblemCode, message, options);
    this.ledgerCode = ledgerCode;
  }
}

/** The ledger could not be reached, timed out, or did not commit a transaction. */
export class LedgerUnavailableError extends GatewayError {}

/** The configuration is unusable; the message says which field to fix. */
export class ConfigError extends GatewayError {
  constructor(message: string) {
    super('FL_ERR_CONFIG', message);
  }
}
