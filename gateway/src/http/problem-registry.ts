// The one registry of error codes the gateway returns: stable code → HTTP status and title.
// Contract refusals (protocol's LEDGER_ERROR_CODES) appear here as FL_ERR_<CODE>.
import { LEDGER_ERROR_CODES } from '@fedledger/protocol';
import type { LedgerErrorCode } from '@fedledger/protocol';

/** An entry of the registry. */
export interface ProblemType {
  status: number;
  title: string;
}

const GATEWAY_PROBLEMS = {
  FL_ERR_BAD_REQUEST: { status: 400, title: 'The request is malformed.' },
  FL_ERR_BAD_SIGNATURE: {
    status: 400,
    title: "A signature does not verify against the submitter's certificate.",
  },
  FL_ERR_UNAUTHENTICATED: { status: 401, title: 'No client certificate was presented.' },
  FL_ERR_UNKNOWN_CA: {
    status: 401,
    title: "The client certificate is not issued by any configured organisation's CA.",
  },
  FL_ERR_FORBIDDEN: { status: 403, title: "The caller's role may not do this." },
  FL_ERR_READ_ONLY: { status: 403, title: 'Auditors have read-only access.' },
  FL_ERR_IDENTITY_MISMATCH: {
    status: 403,
    title: 'A hospital may act only as itself.',
  },
  FL_ERR_UPDATE_NOT_YOURS: {
    status: 403,
    title:
      'An update is served only to the hospital that submitted it, the coordinator and auditors, never to another hospital.',
  },
  FL_ERR_NOT_FOUND: { status: 404, title: 'No such resource.' },
  FL_ERR_BLOB_NOT_FOUND: { status: 404, title: 'No blob with this SHA-256 is stored.' },
  FL_ERR_SUBMISSION_NOT_FOUND: { status: 404, title: 'No signing session has this ID.' },
  FL_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'The method is not allowed on this path.' },
  FL_ERR_HASH_MISMATCH: {
    status: 409,
    title: 'Stored bytes no longer hash to their recorded SHA-256.',
  },
  FL_ERR_SUBMISSION_IN_PROGRESS: {
    status: 409,
    title:
      'This hospital already has a submission for this round in progress; finish it, or upload again once it failed or expired.',
  },
  FL_ERR_SUBMISSION_STATE: {
    status: 409,
    title: 'The signing step does not follow the previous one.',
  },
  FL_ERR_UPLOAD_MISSING: {
    status: 409,
    title: 'The update named by the submission was not uploaded for this round.',
  },
  FL_ERR_COMMIT_FAILED: {
    status: 409,
    title: 'The ledger did not validate the transaction (for example a read conflict).',
  },
  FL_ERR_SUBMISSION_EXPIRED: { status: 410, title: 'The signing session has expired.' },
  FL_ERR_BODY_TOO_LARGE: { status: 413, title: 'The body is larger than the limit.' },
  FL_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'The content type is not the one this endpoint accepts.',
  },
  FL_ERR_MALFORMED_CONTAINER: {
    status: 422,
    title: 'The body is not a valid fedledger container (truncated or malformed).',
  },
  FL_ERR_NON_FINITE: { status: 422, title: 'A weight is NaN or infinite.' },
  FL_ERR_SHAPE_MISMATCH: { status: 422, title: "The tensors do not match the run's model spec." },
  FL_ERR_NORM_EXCEEDED: { status: 422, title: "The update's L2 norm exceeds the run's bound." },
  FL_ERR_METADATA_MISMATCH: {
    status: 422,
    title: "The container's metadata does not match the run, round or organisation.",
  },
  FL_ERR_METRICS_NOT_SHARED: {
    status: 422,
    title: "The update carries validation metrics the run's shared-metrics setting does not allow.",
  },
  FL_ERR_UNSUPPORTED_ENCODING: {
    status: 422,
    title: 'This gateway cannot aggregate the encoding of the container.',
  },
  FL_ERR_CKKS_PARAMS_MISMATCH: {
    status: 422,
    title: "The ciphertexts are not under the run's CKKS parameters.",
  },
  FL_ERR_CKKS_KEY_MISMATCH: {
    status: 422,
    title: 'The ciphertexts are not under the key whose fingerprint the run records.',
  },
  FL_ERR_CKKS_MALFORMED: { status: 422, title: 'The encrypted update is malformed.' },
  FL_ERR_SECAGG_MALFORMED: {
    status: 422,
    title: 'The share bundle or reveal is malformed or names another sender, run or round.',
  },
  FL_ERR_SECAGG_UNRECOVERABLE: {
    status: 409,
    title: "The round's masked sum cannot be recovered from the valid updates and reveals at hand.",
  },
  FL_ERR_HEADER_TOO_LARGE: {
    status: 431,
    title: 'The request headers are larger than the limit.',
  },
  FL_ERR_INTERNAL: { status: 500, title: 'The gateway failed; see its logs.' },
  FL_ERR_CONFIG: { status: 500, title: 'The gateway configuration is unusable.' },
  FL_ERR_LEDGER_UNAVAILABLE: { status: 503, title: 'The ledger cannot be reached.' },
  FL_ERR_NOT_READY: { status: 503, title: 'The gateway is still starting.' },
  FL_ERR_LEDGER_TIMEOUT: { status: 504, title: 'The ledger did not answer in time.' },
} as const satisfies Record<string, ProblemType>;

/** HTTP status of each contract refusal. */
const LEDGER_STATUS: Readonly<Record<LedgerErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_HASH: 400,
  INVALID_SAMPLE_COUNT: 400,
  SAMPLE_COUNT_EXCEEDED: 422,
  INVALID_BYTE_LENGTH: 400,
  RUN_EXISTS: 409,
  RUN_NOT_FOUND: 404,
  RUN_COMPLETED: 409,
  NOT_COORDINATOR: 403,
  NOT_CONSORTIUM_COORDINATOR: 403,
  NOT_PARTICIPANT: 403,
  MSP_MISMATCH: 403,
  ROUND_EXISTS: 409,
  ROUND_NOT_FOUND: 404,
  ROUND_NOT_OPEN: 409,
  ROUND_OUT_OF_ORDER: 409,
  ROUND_LIMIT: 409,
  CHAIN_OF_CUSTODY: 409,
  UPDATE_EXISTS: 409,
  UPDATE_NOT_FOUND: 404,
  UNKNOWN_UPDATE: 409,
  UNKNOWN_EXCLUSION_CODE: 400,
  ROUND_INCOMPLETE: 409,
  QUORUM_NOT_MET: 409,
  NOT_SECAGG: 409,
  SECAGG_PHASE: 409,
  KEYS_EXIST: 409,
  NOT_IN_MASK_SET: 403,
};

export type LedgerProblemCode = `FL_ERR_${LedgerErrorCode}`;
export type ProblemCode = keyof typeof GATEWAY_PROBLEMS | LedgerProblemCode;

function ledgerProblems(): Record<LedgerProblemCode, ProblemType> {
  const out = {} as Record<LedgerProblemCode, ProblemType>;
  for (const code of Object.keys(LEDGER_ERROR_CODES) as LedgerErrorCode[]) {
    out[`FL_ERR_${code}`] = { status: LEDGER_STATUS[code], title: LEDGER_ERROR_CODES[code] };
  }
  return out;
}

/** Every problem code the gateway can return, with its status and title. */
export const PROBLEM_REGISTRY: Readonly<Record<ProblemCode, ProblemType>> = Object.freeze({
  ...GATEWAY_PROBLEMS,
  ...ledgerProblems(),
});

/** True when `code` is in the registry. */
export function isProblemCode(code: string): code is ProblemCode {
  return Object.prototype.hasOwnProperty.call(PROBLEM_REGISTRY, code);
}

/** Base URI of the problem `type` members; each code is a fragment of the README's table. */
export const PROBLEM_TYPE_BASE = 'https://fedledger.dev/problems#';
