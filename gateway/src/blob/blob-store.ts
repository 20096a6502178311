// Content-addressed storage of update and model bytes, named by their SHA-256.

/** A blob written to staging but not yet kept; `inspect` callbacks see it before it is kept. */
export interface StagedBlob {
  sha256: string;
  byteLength: number;
  /** The staged bytes (the caller accepted the size when it set the limit). */
  readBytes(): Promise<Uint8Array>;
}

/** A kept blob. */
export interface StoredBlob {
  sha256: string;
  byteLength: number;
}

/** Options of {@link BlobStore.put}. */
export interface PutOptions {
  /** Largest accepted stream, in bytes; a longer one is refused and nothing is kept. */
  maxBytes?: number;
  /**
   * Runs before the blob is kept; if it throws, the staged bytes are deleted and the error is
   * re-thrown. Validation of uploads happens here so refused uploads leave nothing behind.
   */
  inspect?: (staged: StagedBlob) => Promise<void>;
  /**
   * Runs once the first `headBytes` bytes have arrived (or the stream ended shorter), before the
   * rest is read; if it throws, reading stops, nothing is kept and the error is re-thrown.
   */
  inspectHead?: (head: Uint8Array) => void;
  /** How many leading bytes `inspectHead` needs (default 8). */
  headBytes?: number;
}

/** Where update and model bytes live. Writes are atomic; reads are re-verified. */
export interface BlobStore {
  /**
   * Streams `source` to storage, hashing as it goes, and keeps it under its SHA-256.
   * Storing bytes that are already stored is a no-op that returns the same name.
   * @throws {SizeLimitError} when the stream exceeds `maxBytes` (nothing is kept).
   * @throws whatever `inspect` throws (nothing is kept).
   */
  put(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: PutOptions,
  ): Promise<StoredBlob>;

  /** Keeps `bytes` under their SHA-256. */
  putBytes(bytes: Uint8Array): Promise<StoredBlob>;

  /**
   * The bytes stored under `sha256`, re-hashed on read.
   * @throws {NotFoundError} (FL_ERR_BLOB_NOT_FOUND) when nothing is stored under that name.
   * @throws {BlobIntegrityError} when the stored bytes no longer hash to `sha256`.
   */
  get(sha256: string): Promise<Uint8Array>;

  /**
   * The bytes stored under `sha256` as they are, without re-hashing: for callers that re-hash
   * themselves and must tell altered bytes from missing ones (the round rules).
   */
  getUnverified(sha256: string): Promise<Uint8Array | undefined>;

  /** True when a blob is stored under `sha256` (its integrity is not checked). */
  has(sha256: string): Promise<boolean>;
}
