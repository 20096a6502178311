// Canonical writer and strict reader for the safetensors file format.
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON header, then raw
// little-endian tensor bytes. The writer is canonical (same tensors and metadata give the same
// bytes): `__metadata__` first, tensors sorted by name and laid out in that order, each entry's keys
// in the order dtype/shape/data_offsets, compact JSON, then space padding to an 8-byte boundary as
// the reference implementation pads. The reader rejects anything malformed with a typed error.
import { endianness } from 'node:os';
import {
  HeaderTooLargeError,
  InvalidHeaderError,
  InvalidOffsetsError,
  NonFiniteValueError,
  ShapeMismatchError,
  TruncatedContainerError,
  UnknownDTypeError,
} from './errors';

/** Element types supported in fedledger containers. */
export type DType = 'F64' | 'F32' | 'I32' | 'U8';

/** Typed array for each supported element type. */
export interface TensorArrays {
  F64: Float64Array;
  F32: Float32Array;
  I32: Int32Array;
  U8: Uint8Array;
}

/** One named tensor. `data` holds `product(shape)` elements in row-major order. */
export type Tensor = {
  [D in DType]: { name: string; dtype: D; shape: readonly number[]; data: TensorArrays[D] };
}[DType];

/** The decoded content of a safetensors file. */
export interface SafetensorsContent {
  tensors: Tensor[];
  metadata: Record<string, string>;
}

/** Limits applied by the reader. */
export interface ReadLimits {
  /** Largest accepted header, in bytes. Default 100 MB. */
  maxHeaderBytes?: number;
  /**
   * Most tensors the header may describe, counted before any entry is examined or any tensor
   * allocated. Default: no limit.
   */
  maxTensors?: number;
}

export const DEFAULT_MAX_HEADER_BYTES = 100 * 1024 * 1024;

const ELEMENT_BYTES: Readonly<Record<DType, number>> = { F64: 8, F32: 4, I32: 4, U8: 1 };
const METADATA_KEY = '__metadata__';

if (endianness() !== 'LE') {
  throw new Error('fedledger containers need a little-endian host; this host is big-endian.');
}

function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ELEMENT_BYTES, value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkFinite(tensor: Tensor): void {
  if (tensor.dtype !== 'F32' && tensor.dtype !== 'F64') return;
  const data = tensor.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new NonFiniteValueError(
        `tensor "${tensor.name}" holds a non-finite value (${String(data[i])}) at element ${i}`,
      );
    }
  }
}

function checkTensorForWrite(tensor: Tensor): void {
  if (tensor.name.length === 0 || tensor.name === METADATA_KEY) {
    throw new InvalidHeaderError(`tensor name "${tensor.name}" is not allowed`);
  }
  for (const dim of tensor.shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new ShapeMismatchError(
        `tensor "${tensor.name}" has an invalid dimension ${dim} in shape [${tensor.shape.join(', ')}]`,
      );
    }
  }
  const expected = elementCount(tensor.shape);
  if (tensor.data.length !== expected) {
    throw new ShapeMismatchError(
      `tensor "${tensor.name}" has shape [${tensor.shape.join(', ')}] (${expected} elements) but ${tensor.data.length} values`,
    );
  }
  checkFinite(tensor);
}

/**
 * Writes tensors and string metadata as canonical safetensors bytes.
 * @throws {ContainerError} when a tensor's shape and data disagree, a value is not finite, or
 * two tensors share a name.
 */
export function writeSafetensors(
  tensors: readonly Tensor[],
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const sorted = [...tensors].sort((a, b) => compareNames(a.name, b.name));
  const header: Record<string, unknown> = {};
  const metadataKeys = Object.keys(metadata).sort(compareNames);
  if (metadataKeys.length > 0) {
    const ordered: Record<string, string> = {};
    for (const key of metadataKeys) {
      const value = metadata[key];
      if (typeof value !== 'string') {
        throw new InvalidHeaderError(`metadata "${key}" must be a string`);
      }
      ordered[key] = value;
    }
    header[METADATA_KEY] = ordered;
  }
  let offset = 0;
  for (const tensor of sorted) {
    checkTensorForWrite(tensor);
    if (Object.prototype.hasOwnProperty.call(header, tensor.name)) {
      throw new InvalidHeaderError(`two tensors are named "${tensor.name}"`);
    }
    const byteLength = tensor.data.byteLength;
    header[tensor.name] = {
      dtype: tensor.dtype,
      shape: [...tensor.shape],
      data_offsets: [offset, offset + byteLength],
    };
    offset += byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padding = (8 - (json.length % 8)) % 8;
  const headerLength = json.length + padding;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let cursor = 8 + headerLength;
  for (const tensor of sorted) {
    out.set(
      new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
      cursor,
    );
    cursor += tensor.data.byteLength;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeaderJson(bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new InvalidHeaderError('the header is not valid UTF-8', { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidHeaderError(`the header is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidHeaderError('the header must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidHeaderError('"__metadata__" must be an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new InvalidHeaderError(`metadata "${key}" must be a string, not ${typeof item}`);
    }
    out[key] = item;
  }
  return out;
}

function parseEntry(name: string, value: unknown): HeaderEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidHeaderError(`tensor "${name}" must be described by an object`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDType(dtype)) {
    throw new UnknownDTypeError(
      `tensor "${name}" has dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(ELEMENT_BYTES).join(', ')}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ShapeMismatchError(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new InvalidOffsetsError(
      `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end`,
    );
  }
  const entry: HeaderEntry = {
    name,
    dtype,
    shape: shape as number[],
    begin: offsets[0] as number,
    end: offsets[1] as number,
  };
  const expected = elementCount(entry.shape) * ELEMENT_BYTES[dtype];
  if (expected !== entry.end - entry.begin) {
    throw new ShapeMismatchError(
      `tensor "${name}" has shape [${entry.shape.join(', ')}] of ${dtype} (${expected} bytes) but data_offsets span ${entry.end - entry.begin} bytes`,
    );
  }
  return entry;
}

function checkLayout(entries: HeaderEntry[], dataLength: number): void {
  const byBegin = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const entry of byBegin) {
    if (entry.begin < cursor) {
      throw new InvalidOffsetsError(
        `tensor "${entry.name}" data_offsets [${entry.begin}, ${entry.end}] overlap the previous tensor, which ends at ${cursor}`,
      );
    }
    if (entry.begin > cursor) {
      throw new InvalidOffsetsError(
        `tensor "${entry.name}" starts at ${entry.begin}, leaving bytes ${cursor}..${entry.begin} unused`,
      );
    }
    cursor = entry.end;
  }
  if (cursor > dataLength) {
    throw new TruncatedContainerError(
      `the tensors need ${cursor} bytes of data but the file holds ${dataLength}: the file is truncated`,
    );
  }
  if (cursor < dataLength) {
    throw new InvalidOffsetsError(
      `the file holds ${dataLength - cursor} bytes past the last tensor's data_offsets`,
    );
  }
}

function copyTensor(entry: HeaderEntry, data: Uint8Array): Tensor {
  // Copy into a fresh buffer: `data` may be a Node Buffer, whose slice() is a view, not a copy.
  const slice = new Uint8Array(entry.end - entry.begin);
  slice.set(data.subarray(entry.begin, entry.end));
  const count = elementCount(entry.shape);
  switch (entry.dtype) {
    case 'F64':
      return {
        name: entry.name,
        dtype: 'F64',
        shape: entry.shape,
        data: new Float64Array(slice.buffer, 0, count),
      };
    case 'F32':
      return {
        name: entry.name,
        dtype: 'F32',
        shape: entry.shape,
        data: new Float32Array(slice.buffer, 0, count),
      };
    case 'I32':
      return {
        name: entry.name,
        dtype: 'I32',
        shape: entry.shape,
        data: new Int32Array(slice.buffer, 0, count),
      };
    case 'U8':
      return { name: entry.name, dtype: 'U8', shape: entry.shape, data: slice };
  }
}

/**
 * Reads safetensors bytes strictly. Tensors come back in name order, each in its own buffer.
 * @throws {ContainerError} (a subclass naming the problem) for truncated data, an oversized or
 * malformed header, bad offsets, unknown dtypes, shape/byte-count mismatches and non-finite
 * floating-point values.
 */
export function readSafetensors(bytes: Uint8Array, limits: ReadLimits = {}): SafetensorsContent {
  const maxHeaderBytes = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (bytes.length < 8) {
    throw new TruncatedContainerError(
      `the file is ${bytes.length} bytes long; at least 8 are needed for the header length`,
    );
  }
  const announced = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (announced > BigInt(maxHeaderBytes)) {
    throw new HeaderTooLargeError(
      `the header announces ${announced} bytes; the limit is ${maxHeaderBytes}`,
    );
  }
  const headerLength = Number(announced);
  if (8 + headerLength > bytes.length) {
    throw new TruncatedContainerError(
      `the header announces ${headerLength} bytes but only ${bytes.length - 8} follow the length field`,
    );
  }
  const header = parseHeaderJson(bytes.subarray(8, 8 + headerLength));
  if (limits.maxTensors !== undefined) {
    let count = 0;
    for (const name in header) if (name !== METADATA_KEY) count++;
    if (count > limits.maxTensors) {
      throw new InvalidHeaderError(
        `the header describes ${count} tensors; at most ${limits.maxTensors} are accepted`,
      );
    }
  }
  const metadata = parseMetadata(header[METADATA_KEY]);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => parseEntry(name, value));
  const data = bytes.subarray(8 + headerLength);
  checkLayout(entries, data.length);
  const tensors = entries
    .sort((a, b) => compareNames(a.name, b.name))
    .map((entry) => copyTensor(entry, data));
  tensors.forEach(checkFinite);
  return { tensors, metadata };
}
