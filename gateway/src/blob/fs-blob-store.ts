// Filesystem blob store: <root>/sha256/<first two hex>/<sha256>, written via temp file + rename.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { isSha256Hex, newSha256Stream, sha256Hex } from '@fedledger/protocol';
import { BlobIntegrityError, NotFoundError, SizeLimitError } from '../errors';
import type { BlobStore, PutOptions, StagedBlob, StoredBlob } from './blob-store';

/** Options of {@link newFsBlobStore}. */
export interface FsBlobStoreOptions {
  /** Directory that holds the blobs; created when missing. */
  root: string;
}

/** A filesystem blob store; exposes where a blob lives so operators (and tests) can find it. */
export interface FsBlobStore extends BlobStore {
  /** Path of the file that holds `sha256` (whether or not it exists). */
  locate(sha256: string): string;
}

/** Opens (creating if needed) a filesystem blob store. */
export function newFsBlobStore(options: Readonly<FsBlobStoreOptions>): FsBlobStore {
  const root = options.root;
  const staging = join(root, 'staging');

  const locate = (sha256: string): string => {
    if (!isSha256Hex(sha256))
      throw new NotFoundError('FL_ERR_BLOB_NOT_FOUND', `"${String(sha256)}" is not a SHA-256`);
    return join(root, 'sha256', sha256.slice(0, 2), sha256);
  };

  const keep = async (tempPath: string, sha256: string): Promise<void> => {
    const target = locate(sha256);
    await mkdir(join(root, 'sha256', sha256.slice(0, 2)), { recursive: true });
    // rename() is atomic within one filesystem: readers see the whole file or none.
    await rename(tempPath, target);
  };

  const put = async (
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    putOptions: PutOptions = {},
  ): Promise<StoredBlob> => {
    await mkdir(staging, { recursive: true });
    const tempPath = join(staging, `${randomBytes(12).toString('hex')}.part`);
    const out = createWriteStream(tempPath, { flags: 'wx' });
    const hash = newSha256Stream();
    let byteLength = 0;
    const max = putOptions.maxBytes ?? Number.POSITIVE_INFINITY;
    const headBytes = putOptions.headBytes ?? 8;
    let head: Uint8Array[] | undefined = putOptions.inspectHead ? [] : undefined;
    const checkHead = (): void => {
      if (!head || !putOptions.inspectHead) return;
      putOptions.inspectHead(Buffer.concat(head).subarray(0, headBytes));
      head = undefined;
    };
    try {
      for await (const chunk of source) {
        byteLength += chunk.length;
        if (byteLength > max) throw new SizeLimitError(max);
        if (head) {
          head.push(chunk);
          if (byteLength >= headBytes) checkHead();
        }
        hash.update(chunk);
        if (!out.write(chunk))
          await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      checkHead();
      out.end();
      await finished(out);
      const sha256 = hash.digestHex();
      const staged: StagedBlob = {
        sha256,
        byteLength,
        readBytes: async () => new Uint8Array(await readFile(tempPath)),
      };
      if (putOptions.inspect) await putOptions.inspect(staged);
      await keep(tempPath, sha256);
      return { sha256, byteLength };
    } catch (err) {
      out.destroy();
      await rm(tempPath, { force: true });
      throw err;
    }
  };

  return {
    locate,
    put,
    putBytes: (bytes) => put([bytes]),
    get: async (sha256) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(locate(sha256));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new NotFoundError('FL_ERR_BLOB_NOT_FOUND', `no blob is stored under ${sha256}`, {
            context: { sha256 },
          });
        }
        throw err;
      }
      const actual = sha256Hex(bytes);
      if (actual !== sha256) throw new BlobIntegrityError(sha256, actual);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    getUnverified: async (sha256) => {
      if (!isSha256Hex(sha256)) return undefined;
      try {
        const bytes = await readFile(locate(sha256));
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    has: async (sha256) => {
      if (!isSha256Hex(sha256)) return false;
      try {
        return (await stat(locate(sha256))).isFile();
      } catch {
        return false;
      }
    },
  };
}
