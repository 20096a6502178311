// Typed errors of the wire format: malformed containers, CKKS inputs that cannot be used, and
// secure-aggregation refusals.
import type { SecAggErrorCode } from './secagg/types';

/** Base class of every container format error; `code` is stable and safe to show to callers. */
export class ContainerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The file ends before the header or the tensor data it announces. */
export class TruncatedContainerError extends ContainerError {
  constructor(message: string) {
    super('CONTAINER_TRUNCATED', message);
  }
}

/** The announced header length exceeds the configured limit. */
export class HeaderTooLargeError extends ContainerError {
  constructor(message: string) {
    super('CONTAINER_HEADER_TOO_LARGE', message);
  }
}

/** The header is not the JSON object the format requires, or its metadata is incomplete. */
export class InvalidHeaderError extends ContainerError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONTAINER_INVALID_HEADER', message, options);
  }
}

/** A tensor's data offsets are out of range, overlap another tensor, or leave gaps. */
export class InvalidOffsetsError extends ContainerError {
  constructor(message: string) {
    super('CONTAINER_INVALID_OFFSETS', message);
  }
}

/** A tensor declares a dtype this format does not support. */
export class UnknownDTypeError extends ContainerError {
  constructor(message: string) {
    super('CONTAINER_UNKNOWN_DTYPE', message);
  }
}

/** A tensor's shape does not match its byte count. */
export class ShapeMismatchError extends ContainerError {
  constructor(message: string) {
    super('CONTAINER_SHAPE_MISMATCH', message);
  }
}

/** A floating-point tensor holds NaN or an infinity. */
export class NonFiniteValueError extends ContainerError {
  constructor(message: string) {
    super('CONTAINER_NON_FINITE', message);
  }
}

/** Base class of every CKKS (encrypted update) error; `code` is stable and safe to show to callers. */
export class CkksError extends Error {
  readonly code: CkksErrorCode;

  constructor(code: CkksErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Stable codes of {@link CkksError}. */
export type CkksErrorCode =
  | 'CKKS_PARAMS_MISMATCH'
  | 'CKKS_KEY_MISMATCH'
  | 'CKKS_MALFORMED'
  | 'CKKS_KEY_FILE_INVALID'
  | 'CKKS_WRONG_PASSPHRASE';

/** Encryption parameters that are not the run's (another parameter set, or another hash). */
export class CkksParamsMismatchError extends CkksError {
  constructor(message: string) {
    super('CKKS_PARAMS_MISMATCH', message);
  }
}

/** Ciphertexts made under different secret keys (their key fingerprints differ). */
export class CkksKeyMismatchError extends CkksError {
  constructor(message: string) {
    super('CKKS_KEY_MISMATCH', message);
  }
}

/** An encrypted container or ciphertext that cannot be used: bad layout, counts, level or bytes. */
export class CkksMalformedError extends CkksError {
  constructor(message: string, options?: ErrorOptions) {
    super('CKKS_MALFORMED', message, options);
  }
}

/** A key file that is not a fedledger CKKS key file, or whose content was altered. */
export class CkksKeyFileError extends CkksError {
  constructor(message: string, options?: ErrorOptions) {
    super('CKKS_KEY_FILE_INVALID', message, options);
  }
}

/** A key file that does not open with the passphrase given. */
export class CkksWrongPassphraseError extends CkksError {
  constructor(message: string) {
    super('CKKS_WRONG_PASSPHRASE', message);
  }
}

/**
 * Every secure-aggregation refusal; `code` is stable and safe to show to callers, `mspId` names
 * the hospital whose share, secret or message failed, where one is to blame.
 */
export class SecAggError extends Error {
  readonly code: SecAggErrorCode;
  readonly mspId: string | undefined;

  constructor(code: SecAggErrorCode, message: string, options?: ErrorOptions & { mspId?: string }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.mspId = options?.mspId;
  }
}
