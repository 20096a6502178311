// Typed errors of the hospital trainer: every failure carries a stable `code` callers can branch on.

/** Where in an input file a data problem was found. */
export interface DataLocation {
  /** The file being read. */
  file: string;
  /** 1-based line number in the file (the header is line 1); absent when the whole file is at fault. */
  row?: number;
  /** The column, by its header name. */
  column?: string;
}

/** Base class of every trainer error; `code` is stable, `message` is a full sentence. */
export class TrainerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input data (CSV, schema, fitted preprocessing) that cannot be used; names file, row and column. */
export class DataError extends TrainerError {
  readonly location: DataLocation;

  constructor(
    code: DataErrorCode,
    location: DataLocation,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(code, `${describeLocation(location)}: ${problem}`, options);
    this.location = location;
  }
}

/** Stable codes of {@link DataError}. */
export type DataErrorCode =
  | 'DATA_FILE_MISSING'
  | 'DATA_SCHEMA_INVALID'
  | 'DATA_UNKNOWN_COLUMN'
  | 'DATA_MISSING_COLUMN'
  | 'DATA_NO_LABEL'
  | 'DATA_EMPTY_CLASS'
  | 'DATA_BAD_VALUE'
  | 'DATA_MALFORMED_CSV'
  | 'DATA_TOO_FEW_ROWS'
  | 'DATA_PREPROCESSING_MISMATCH';

/** An option or argument that is out of range or inconsistent; raised before any work starts. */
export class ConfigError extends TrainerError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A TensorFlow.js backend that was asked for cannot be loaded or initialised. */
export class BackendError extends TrainerError {
  constructor(message: string, options?: ErrorOptions) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}

/** A model file or spec that does not fit the data or the expected architecture. */
export class ModelError extends TrainerError {
  constructor(message: string, options?: ErrorOptions) {
    super('MODEL_INVALID', message, options);
  }
}

/** A CKKS key file or passphrase that cannot be read or written (missing, empty, exists). */
export class KeyStoreError extends TrainerError {
  constructor(message: string, options?: ErrorOptions) {
    super('KEY_STORE', message, options);
  }
}

/** A differential-privacy request that cannot be met (e.g. no σ reaches the target ε). */
export class PrivacyError extends TrainerError {
  constructor(message: string, options?: ErrorOptions) {
    super('DP_UNSATISFIABLE', message, options);
  }
}

function describeLocation(l: DataLocation): string {
  const parts = [l.file];
  if (l.row !== undefined) parts.push(`row ${l.row}`);
  if (l.column !== undefined) parts.push(`column "${l.column}"`);
  return parts.join(', ');
}
