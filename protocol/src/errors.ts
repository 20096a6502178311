// Typed errors raised when a container's bytes are not a valid fedledger safetensors file.

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
