// A minimal WebAssembly assembler: the opcodes, structured loops and module encoding that the fused
// engine's kernels (./dense-kernels.ts) are written with, plus the few WebAssembly JS API calls
// they need. Opcode numbers are those of the WebAssembly core, bulk-memory and SIMD (v128)
// specifications.

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** One function of a module: its signature, extra locals and body (without the final `end`). */
export interface WasmFunction {
  params: number[];
  results: number[];
  locals: number[];
  body: number[];
}

export const get = (i: number): number[] => [0x20, i];
export const set = (i: number): number[] => [0x21, i];
export const i32c = (v: number): number[] => [0x41, ...sleb(v)];
export const f32c = (v: number): number[] => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)];
export const ADD = 0x6a;
export const MUL = 0x6c;
export const AND = 0x71;
export const OR = 0x72;
export const SHL = 0x74;
export const LT_U = 0x49;
export const I32_EQZ = 0x45;
export const F32_NE = 0x5c;
export const F32_GT = 0x5e;
export const F32_SQRT = 0x91;
export const F32_ADD = 0x92;
export const F32_SUB = 0x93;
export const F32_MUL = 0x94;
export const F32_DIV = 0x95;
export const IF_F32 = [0x04, F32];
export const ELSE = 0x05;
export const END = 0x0b;
export const f32load = [0x2a, 0x02, 0x00];
export const f32store = [0x38, 0x02, 0x00];
export const vload = [0xfd, 0x00, 0x04, 0x00];
export const vstore = [0xfd, 0x0b, 0x04, 0x00];
export const vsplat = [0xfd, 0x13];
export const vsqrt = [0xfd, 0xe3, 0x01];
export const vadd = [0xfd, 0xe4, 0x01];
export const vsub = [0xfd, 0xe5, 0x01];
export const vmul = [0xfd, 0xe6, 0x01];
export const vdiv = [0xfd, 0xe7, 0x01];
export const lane = (i: number): number[] => [0xfd, 0x1f, i];
export const memcopy = [0xfc, 0x0a, 0x00, 0x00];
export const call = (f: number): number[] => [0x10, f];

/** if (cond) { body } */
export function ifThen(cond: number[], body: number[]): number[] {
  return [...cond, 0x04, 0x40, ...body, END];
}

/** while (local p < local end, unsigned) { body; p += step } */
export function whileBelow(p: number, end: number, step: number, body: number[]): number[] {
  const exitUnlessBelow = [...get(p), ...get(end), LT_U, I32_EQZ, 0x0d, 0x01];
  const advance = [...get(p), ...i32c(step), ADD, ...set(p)];
  return [0x02, 0x40, 0x03, 0x40, ...exitUnlessBelow, ...body, ...advance, 0x0c, 0x00, END, END];
}

/** for (i = 0; i < n; i++) { body } over locals i and n. */
export function forCount(i: number, n: number, body: number[]): number[] {
  return [...i32c(0), ...set(i), ...whileBelow(i, n, 1, body)];
}

/** The byte address base + (index · scale) · 4 on the stack; `index` and `scale` push i32s. */
export function address(base: number, index: number[], scale: number[] = []): number[] {
  return [...get(base), ...index, ...scale, ...i32c(2), SHL, ADD];
}

/**
 * An element-wise loop over the first `n` floats: four lanes at a time while four remain, then
 * one at a time. `off` (the byte offset), `end4` and `end` are scratch i32 locals.
 */
export function lanes(
  off: number,
  n: number,
  end4: number,
  end: number,
  vector: number[],
  scalar: number[],
): number[] {
  return [
    ...i32c(0),
    ...set(off),
    ...[...get(n), ...i32c(-4), AND, ...i32c(2), SHL, ...set(end4)],
    ...[...get(n), ...i32c(2), SHL, ...set(end)],
    ...whileBelow(off, end4, 16, vector),
    ...whileBelow(off, end, 4, scalar),
  ];
}

/** A module importing `env.memory` and exporting `functions` under `names`. */
export function encodeModule(
  functions: readonly WasmFunction[],
  names: readonly string[],
): Uint8Array {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec(f.results.map((t) => [t])),
  ]);
  const bodies = functions.map((f) => {
    const code = [...vec(f.locals.map((t) => [1, t])), ...f.body, END];
    return [...uleb(code.length), ...code];
  });
  const memoryImport = [...text('env'), ...text('memory'), 0x02, 0x00, 0x01];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([memoryImport])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(names.map((e, i) => [...text(e), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [
  id,
  ...uleb(content.length),
  ...content,
];
const text = (value: string): number[] => vec([...Buffer.from(value, 'utf8')].map((b) => [b]));

/** The parts of the WebAssembly JS API used here (Node's global, typed locally). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}

/** A WebAssembly memory: its bytes. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

const api = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;

/** Compiles `bytes`, or returns undefined where the runtime refuses them (e.g. no SIMD). */
export function compileModule(bytes: Uint8Array): object | undefined {
  return api?.validate(bytes) ? new api.Module(bytes) : undefined;
}

/** A new memory of at least `bytes` bytes. */
export function newMemory(bytes: number): WasmMemory {
  if (!api) throw new Error('This runtime has no WebAssembly.');
  return new api.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
}

/** Instantiates a compiled module over `memory`; returns its exports. */
export function instantiate(module: object, memory: WasmMemory): unknown {
  if (!api) throw new Error('This runtime has no WebAssembly.');
  return new api.Instance(module, { env: { memory } }).exports;
}
