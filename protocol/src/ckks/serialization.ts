// Structural checks of SEAL's serialisation header, made before bytes reach SEAL: SEAL's loader
// aborts the WebAssembly runtime (instead of throwing) on some truncated or garbage inputs.
import { CkksMalformedError } from '../errors';

/** SEAL's serialisation header: magic, header size, version, compression, reserved, total size. */
const HEADER_BYTES = 16;
const MAGIC = 0xa15e;
const VERSION_MAJOR = 4;
/** Compression modes SEAL writes: 0 none, 1 zlib, 2 zstd. */
const COMPRESSION_MODES: ReadonlySet<number> = new Set([0, 1, 2]);

/**
 * Checks that `bytes` start with a SEAL 4 serialisation header whose announced size is exactly
 * `bytes.length`.
 * @throws {CkksMalformedError} naming `what` otherwise.
 */
export function checkSealSerialization(bytes: Uint8Array, what: string): void {
  if (bytes.length < HEADER_BYTES) {
    throw new CkksMalformedError(`${what} is ${bytes.length} bytes, too short for SEAL data.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const problems: string[] = [];
  if (view.getUint16(0, true) !== MAGIC) problems.push('no SEAL magic number');
  if (view.getUint8(2) !== HEADER_BYTES) problems.push('wrong header size');
  if (view.getUint8(3) !== VERSION_MAJOR) problems.push(`SEAL version ${view.getUint8(3)}`);
  if (!COMPRESSION_MODES.has(view.getUint8(5))) problems.push('unknown compression');
  if (view.getUint16(6, true) !== 0) problems.push('reserved bits set');
  const announced = view.getBigUint64(8, true);
  if (announced !== BigInt(bytes.length)) {
    problems.push(`announces ${announced} bytes but has ${bytes.length}`);
  }
  if (problems.length > 0) {
    throw new CkksMalformedError(`${what} is not valid SEAL data: ${problems.join(', ')}.`);
  }
}
