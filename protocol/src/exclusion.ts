// The closed set of reasons an update is left out of a round's aggregate, as the ledger records
// them ({@link ExcludedUpdate.code}). The chaincode refuses any other code; the coordinator and
// the auditor's verifier decide them with the same rules (@fedledger/rules).

/**
 * Every exclusion code with what it means. Grouped by what an auditor can re-check:
 * - availability: the coordinator had no bytes that hash to the record (re-checkable only with a
 *   copy from elsewhere, e.g. the hospital's own);
 * - rule: the bytes break a rule of the run (re-checkable from the bytes);
 * - selection: valid, but the run's strategy did not select it (re-checkable by re-running it);
 * - off-ledger: uploaded to the gateway but never recorded on the ledger (informational).
 */
export const EXCLUSION_CODES = {
  BLOB_MISSING: {
    kind: 'availability',
    meaning: 'No bytes with the recorded SHA-256 were at hand.',
  },
  HASH_MISMATCH: {
    kind: 'availability',
    meaning: 'The bytes at hand do not hash to the recorded SHA-256.',
  },
  CREATOR_MISMATCH: {
    kind: 'rule',
    meaning: 'The record was created by another organisation than the one it names.',
  },
  LENGTH_MISMATCH: { kind: 'rule', meaning: 'The bytes are not as long as the record says.' },
  MALFORMED_CONTAINER: { kind: 'rule', meaning: 'The bytes are not a valid update container.' },
  NON_FINITE: { kind: 'rule', meaning: 'A weight is NaN or infinite.' },
  SHAPE_MISMATCH: { kind: 'rule', meaning: "The tensors do not match the run's model spec." },
  NORM_EXCEEDED: { kind: 'rule', meaning: "The update's L2 norm exceeds the run's bound." },
  METADATA_MISMATCH: {
    kind: 'rule',
    meaning: "The container's metadata does not match the run, round or ledger record.",
  },
  SAMPLE_COUNT_EXCEEDED: {
    kind: 'rule',
    meaning: 'The update claims more samples than its organisation declared for the run.',
  },
  METRICS_NOT_SHARED: {
    kind: 'rule',
    meaning:
      "The update carries validation metrics the run's shared-metrics setting does not allow.",
  },
  IDENTITY_MISMATCH: {
    kind: 'rule',
    meaning: 'The container names another organisation than the one that recorded it.',
  },
  UNSUPPORTED_ENCODING: { kind: 'rule', meaning: 'The encoding is not the one the run uses.' },
  CKKS_PARAMS_MISMATCH: {
    kind: 'rule',
    meaning: "The ciphertexts are not under the run's CKKS parameters.",
  },
  CKKS_KEY_MISMATCH: {
    kind: 'rule',
    meaning: 'The ciphertexts are not under the key whose fingerprint the run records.',
  },
  CKKS_MALFORMED: { kind: 'rule', meaning: 'The encrypted update is malformed.' },
  NOT_SELECTED: { kind: 'selection', meaning: "Valid, but the run's strategy did not select it." },
  SECAGG_UNRECOVERABLE: {
    kind: 'availability',
    meaning:
      "The round's masked sum could not be recovered (a survivor's masked update or a secret's shares unusable); the round was abandoned without an aggregate.",
  },
  NOT_ON_LEDGER: {
    kind: 'off-ledger',
    meaning: 'Uploaded to the gateway, but no ledger record was committed for it.',
  },
} as const satisfies Record<string, { kind: ExclusionKind; meaning: string }>;

/** What an auditor can re-check about an exclusion; see {@link EXCLUSION_CODES}. */
export type ExclusionKind = 'availability' | 'rule' | 'selection' | 'off-ledger';

export type ExclusionCode = keyof typeof EXCLUSION_CODES;

/** Longest `detail` of an exclusion, in characters. */
export const MAX_EXCLUSION_DETAIL_CHARS = 500;

/** True when `value` is one of {@link EXCLUSION_CODES}. */
export function isExclusionCode(value: unknown): value is ExclusionCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(EXCLUSION_CODES, value);
}

/** The kind of an exclusion code. */
export function exclusionKind(code: ExclusionCode): ExclusionKind {
  return EXCLUSION_CODES[code].kind;
}
