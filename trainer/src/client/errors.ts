// Typed errors of the gateway client: a refusal from the gateway (problem+json), a gateway that
// cannot be reached, model bytes that do not match the ledger, and unusable identity files.
import { TrainerError } from '../errors';

/** Base of every gateway-client error; `code` is stable. */
export class GatewayClientError extends TrainerError {}

/** The problem details (RFC 9457) the gateway answers an error with. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  /** Stable code from the gateway's problem registry, e.g. `FL_ERR_UPDATE_EXISTS`. */
  code: string;
  detail: string;
}

/**
 * The gateway answered with an error status. `code` is the gateway's problem code
 * (`FL_ERR_…`), or `FL_ERR_HTTP_<status>` when the body was not problem+json.
 */
export class GatewayRequestError extends GatewayClientError {
  readonly status: number;
  readonly detail: string;
  /** `METHOD path` of the request that was refused. */
  readonly request: string;

  constructor(request: string, problem: Problem) {
    super(problem.code, `${request}: ${problem.status} ${problem.code}: ${problem.detail}`);
    this.status = problem.status;
    this.detail = problem.detail;
    this.request = request;
  }

  /**
   * True when the same request may succeed later: the gateway or its ledger is down or starting
   * (5xx), or a signing session was lost (the gateway restarted between the signing steps, or the
   * session is in another state): the whole submission starts again with the upload.
   */
  get transient(): boolean {
    return (
      this.status >= 500 ||
      this.code === 'FL_ERR_LEDGER_UNAVAILABLE' ||
      this.code === 'FL_ERR_SUBMISSION_NOT_FOUND' ||
      this.code === 'FL_ERR_SUBMISSION_EXPIRED' ||
      this.code === 'FL_ERR_SUBMISSION_STATE' ||
      // Another upload of this hospital for the round is under way (a concurrent retry).
      this.code === 'FL_ERR_SUBMISSION_IN_PROGRESS'
    );
  }
}

/** The gateway could not be reached (connection refused or reset, TLS failure, timeout). */
export class GatewayUnavailableError extends GatewayClientError {
  constructor(request: string, cause: unknown) {
    super(
      'GATEWAY_UNAVAILABLE',
      `${request}: the gateway cannot be reached (${(cause as Error).message ?? String(cause)})`,
      { cause },
    );
  }
}

/**
 * Bytes whose SHA-256 disagrees with what the gateway or the ledger says they are: a downloaded
 * model (header, ledger record) or an upload the gateway stored under another hash.
 */
export class HashMismatchError extends GatewayClientError {
  readonly expected: string;
  readonly actual: string;

  constructor(message: string, expected: string, actual: string) {
    super('HASH_MISMATCH', message);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * The run record the gateway serves differs from the one on the hospital's own peer (another
 * model, participants, rounds, sample counts or settings): the hospital would train by rules the
 * ledger does not hold.
 */
export class RunRecordMismatchError extends GatewayClientError {
  constructor(message: string) {
    super('RUN_MISMATCH', message);
  }
}

/** A reply the client cannot use (not JSON, or a field is missing). */
export class GatewayReplyError extends GatewayClientError {
  constructor(message: string, options?: ErrorOptions) {
    super('GATEWAY_BAD_REPLY', message, options);
  }
}

/** Waiting for a round gave up after its timeout. */
export class RoundWaitTimeoutError extends GatewayClientError {
  constructor(message: string) {
    super('ROUND_WAIT_TIMEOUT', message);
  }
}

/** An identities file (connection.json or identities.json) or one of its PEM files is unusable. */
export class IdentityFileError extends GatewayClientError {
  constructor(message: string, options?: ErrorOptions) {
    super('IDENTITY_FILE', message, options);
  }
}

/** True for a failure that a later retry may overcome (the outbox keeps such updates). */
export function isTransient(error: unknown): boolean {
  if (error instanceof GatewayUnavailableError) return true;
  return error instanceof GatewayRequestError && error.transient;
}

/**
 * The gateway reported a commit that the hospital's ledger view does not show: no record, another
 * record, or a transaction that is not valid. The update may not be on the ledger.
 */
export class CommitNotConfirmedError extends GatewayClientError {
  constructor(message: string) {
    super('COMMIT_NOT_CONFIRMED', message);
  }
}
