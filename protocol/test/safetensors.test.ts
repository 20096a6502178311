import { expect } from 'chai';
import {
  HeaderTooLargeError,
  InvalidHeaderError,
  InvalidOffsetsError,
  NonFiniteValueError,
  ShapeMismatchError,
  TruncatedContainerError,
  UnknownDTypeError,
  readSafetensors,
  sha256Hex,
  writeSafetensors,
} from '../src';
import type { Tensor } from '../src';

function sample(): Tensor[] {
  return [
    { name: 'w', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
    { name: 'b', dtype: 'F64', shape: [3], data: Float64Array.from([0.1, -0.2, 1e-300]) },
    { name: 'ids', dtype: 'I32', shape: [2], data: Int32Array.from([-7, 2147483647]) },
    { name: 'blob', dtype: 'U8', shape: [4], data: Uint8Array.from([0, 1, 254, 255]) },
  ];
}

/** Builds raw safetensors bytes from a header object and data, for malformed-input cases. */
function rawFile(header: unknown, data: Uint8Array, announcedLength?: bigint): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, announcedLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and metadata exactly', () => {
    const bytes = writeSafetensors(sample(), { b: '2', a: '1' });
    const back = readSafetensors(bytes);
    expect(back.metadata).to.deep.equal({ a: '1', b: '2' });
    const byName = new Map(back.tensors.map((t) => [t.name, t]));
    for (const t of sample()) {
      const got = byName.get(t.name);
      expect(got?.dtype).to.equal(t.dtype);
      expect(got?.shape).to.deep.equal(t.shape);
      expect(Array.from(got?.data ?? [])).to.deep.equal(Array.from(t.data));
    }
  });

  it('decodes correctly from a Node Buffer that views a larger allocation', () => {
    const bytes = writeSafetensors(sample());
    const pooled = Buffer.concat([Buffer.alloc(13, 7), Buffer.from(bytes)]).subarray(13);
    const back = readSafetensors(pooled);
    const w = back.tensors.find((t) => t.name === 'w');
    expect(Array.from(w?.data ?? [])).to.deep.equal([1, 2, 3, 4, 5, 6.5]);
    const b = back.tensors.find((t) => t.name === 'b');
    expect(Array.from(b?.data ?? [])).to.deep.equal([0.1, -0.2, 1e-300]);
  });

  it('writes byte-identical files for the same content in any input order', () => {
    const a = writeSafetensors(sample(), { x: '1', y: '2' });
    const b = writeSafetensors([...sample()].reverse(), { y: '2', x: '1' });
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
    expect(sha256Hex(a)).to.equal(sha256Hex(b));
  });

  it('writes the layout the safetensors format specifies', () => {
    const bytes = writeSafetensors(
      [{ name: 't', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }],
      { k: 'v' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).to.equal(0);
    const header = Buffer.from(bytes.subarray(8, 8 + headerLength))
      .toString('utf8')
      .trimEnd();
    expect(header).to.equal(
      '{"__metadata__":{"k":"v"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    );
    expect(Array.from(bytes.subarray(8 + headerLength))).to.deep.equal([0, 0, 0x80, 0x3f]);
  });

  it('rejects a file shorter than the length field', () => {
    expect(() => readSafetensors(new Uint8Array(5))).to.throw(TruncatedContainerError);
  });

  it('rejects a header length past the end of the file', () => {
    const file = rawFile({}, new Uint8Array(0), 1000n);
    expect(() => readSafetensors(file)).to.throw(TruncatedContainerError, /announces 1000 bytes/);
  });

  it('rejects a header over the limit before reading it', () => {
    const file = rawFile({}, new Uint8Array(0), 200n * 1024n * 1024n);
    expect(() => readSafetensors(file)).to.throw(HeaderTooLargeError);
    const small = writeSafetensors(sample());
    expect(() => readSafetensors(small, { maxHeaderBytes: 16 })).to.throw(HeaderTooLargeError);
  });

  it('rejects more tensors than the limit, and accepts exactly the limit', () => {
    const bytes = writeSafetensors(sample());
    const count = readSafetensors(bytes).tensors.length;
    expect(() => readSafetensors(bytes, { maxTensors: count - 1 })).to.throw(
      InvalidHeaderError,
      `the header describes ${count} tensors; at most ${count - 1} are accepted`,
    );
    expect(readSafetensors(bytes, { maxTensors: count }).tensors).to.have.length(count);
  });

  it('rejects a file truncated inside the tensor data', () => {
    const bytes = writeSafetensors(sample());
    expect(() => readSafetensors(bytes.subarray(0, bytes.length - 3))).to.throw(
      TruncatedContainerError,
      /truncated/,
    );
  });

  it('rejects a header that is not a JSON object', () => {
    const json = Buffer.from('[1,2]');
    const file = new Uint8Array(8 + json.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    expect(() => readSafetensors(file)).to.throw(InvalidHeaderError, /JSON object/);
    const broken = Buffer.from('{"a":');
    const file2 = new Uint8Array(8 + broken.length);
    new DataView(file2.buffer).setBigUint64(0, BigInt(broken.length), true);
    file2.set(broken, 8);
    expect(() => readSafetensors(file2)).to.throw(InvalidHeaderError, /not valid JSON/);
  });

  it('rejects overlapping offsets', () => {
    const header = {
      a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
      b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] },
    };
    expect(() => readSafetensors(rawFile(header, new Uint8Array(8)))).to.throw(
      InvalidOffsetsError,
      /overlap/,
    );
  });

  it('rejects out-of-range and inverted offsets', () => {
    const inverted = { a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } };
    expect(() => readSafetensors(rawFile(inverted, new Uint8Array(4)))).to.throw(
      InvalidOffsetsError,
    );
    const negative = { a: { dtype: 'U8', shape: [1], data_offsets: [-1, 0] } };
    expect(() => readSafetensors(rawFile(negative, new Uint8Array(1)))).to.throw(
      InvalidOffsetsError,
    );
    const gap = { a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } };
    expect(() => readSafetensors(rawFile(gap, new Uint8Array(4)))).to.throw(
      InvalidOffsetsError,
      /unused/,
    );
    const trailing = { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } };
    expect(() => readSafetensors(rawFile(trailing, new Uint8Array(4)))).to.throw(
      InvalidOffsetsError,
      /past the last tensor/,
    );
  });

  it('rejects an unknown dtype', () => {
    const header = { a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } };
    expect(() => readSafetensors(rawFile(header, new Uint8Array(4)))).to.throw(
      UnknownDTypeError,
      /BF16/,
    );
  });

  it('rejects a shape that does not match the byte count', () => {
    const header = { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } };
    expect(() => readSafetensors(rawFile(header, new Uint8Array(8)))).to.throw(
      ShapeMismatchError,
      /12 bytes/,
    );
    expect(() =>
      writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }]),
    ).to.throw(ShapeMismatchError);
  });

  it('rejects non-finite values when reading and when writing', () => {
    const nan = writeSafetensors([
      { name: 'x', dtype: 'F32', shape: [2], data: new Float32Array(2) },
    ]);
    const view = new DataView(nan.buffer);
    view.setFloat32(nan.length - 4, Number.NaN, true);
    expect(() => readSafetensors(nan)).to.throw(NonFiniteValueError, /element 1/);
    expect(() =>
      writeSafetensors([
        { name: 'x', dtype: 'F64', shape: [1], data: Float64Array.from([Infinity]) },
      ]),
    ).to.throw(NonFiniteValueError);
  });

  it('rejects metadata values that are not strings', () => {
    const header = { __metadata__: { a: 1 } };
    expect(() => readSafetensors(rawFile(header, new Uint8Array(0)))).to.throw(
      InvalidHeaderError,
      /"a"/,
    );
  });

  it('rejects duplicate tensor names when writing', () => {
    const t: Tensor = { name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array(1) };
    expect(() => writeSafetensors([t, t])).to.throw(InvalidHeaderError, /two tensors/);
  });
});
