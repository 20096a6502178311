// The fused engine's inner loops as a WebAssembly SIMD module (f32x4), assembled at start-up from
// opcodes (./wasm-assembly.ts) so that no toolchain or binary file is needed: Dense forward rows,
// gradient accumulation with a per-example factor, back-propagation through a kernel, the noise
// addition and the Adam update. Everything else (activations, the loss, clipping factors) is
// O(batch × units) and stays in TypeScript.
//
// Every argument is a byte offset into the imported memory; matrices are row-major float32.
import type { WasmFunction, WasmMemory } from './wasm-assembly';
import {
  ADD,
  ELSE,
  END,
  F32,
  F32_ADD,
  F32_DIV,
  F32_GT,
  F32_MUL,
  F32_NE,
  F32_SQRT,
  F32_SUB,
  I32,
  I32_EQZ,
  IF_F32,
  MUL,
  OR,
  SHL,
  V128,
  address,
  call,
  compileModule,
  encodeModule,
  f32c,
  f32load,
  f32store,
  forCount,
  get,
  i32c,
  ifThen,
  instantiate,
  lane,
  lanes,
  memcopy,
  newMemory,
  set,
  vadd,
  vdiv,
  vload,
  vmul,
  vsplat,
  vsqrt,
  vstore,
  vsub,
} from './wasm-assembly';

/** The kernels, bound to one memory. */
export interface DenseKernels {
  /** out[r] = bias + x[r] · w for `rows` rows (x: rows × nIn, w: nIn × nOut, out: rows × nOut). */
  forward(
    x: number,
    rows: number,
    nIn: number,
    w: number,
    bias: number,
    nOut: number,
    out: number,
  ): void;
  /** g += Σ_r f[r] · x[r] ⊗ d[r]; gb += Σ_r f[r] · d[r]. */
  accumulate(
    x: number,
    rows: number,
    nIn: number,
    d: number,
    nOut: number,
    f: number,
    g: number,
    gb: number,
  ): void;
  /** e[r][i] = d[r] · w[i] (w: nIn × nOut), or 0 where `reluMask` and a[r][i] ≤ 0. */
  backward(
    d: number,
    rows: number,
    nOut: number,
    w: number,
    nIn: number,
    e: number,
    a: number,
    reluMask: number,
  ): void;
  /** g = (g + noise) / divisor over n floats. */
  addNoise(g: number, noise: number, n: number, divisor: number): void;
  /** One Adam update over n floats with bias corrections c1 = 1 − β1^t, c2 = 1 − β2^t. */
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    c1: number,
    c2: number,
  ): void;
}

// Opcode streams below are laid out one operation group per line, hence prettier-ignore.
// prettier-ignore
const AXPY: WasmFunction = {
  // axpy(dst, src, s, n): dst[j] += s · src[j]. Locals: 4 off, 5 end4, 6 end, 7 s splatted.
  params: [I32, I32, F32, I32],
  results: [],
  locals: [I32, I32, I32, V128],
  body: [
    ...get(2), ...vsplat, ...set(7),
    ...lanes(4, 3, 5, 6,
      [...get(0), ...get(4), ADD,
        ...get(0), ...get(4), ADD, ...vload,
        ...get(1), ...get(4), ADD, ...vload, ...get(7), ...vmul, ...vadd, ...vstore],
      [...get(0), ...get(4), ADD,
        ...get(0), ...get(4), ADD, ...f32load,
        ...get(1), ...get(4), ADD, ...f32load, ...get(2), F32_MUL, F32_ADD, ...f32store]),
  ],
};

// prettier-ignore
const DOT: WasmFunction = {
  // dot(a, b, n) → f32. Locals: 3 off, 4 end4, 5 end, 6 lane sums, 7 tail sum.
  params: [I32, I32, I32],
  results: [F32],
  locals: [I32, I32, I32, V128, F32],
  body: [
    ...lanes(3, 2, 4, 5,
      [...get(6), ...get(0), ...get(3), ADD, ...vload,
        ...get(1), ...get(3), ADD, ...vload, ...vmul, ...vadd, ...set(6)],
      [...get(7), ...get(0), ...get(3), ADD, ...f32load,
        ...get(1), ...get(3), ADD, ...f32load, F32_MUL, F32_ADD, ...set(7)]),
    ...get(6), ...lane(0), ...get(6), ...lane(1), F32_ADD,
    ...get(6), ...lane(2), ...get(6), ...lane(3), F32_ADD, F32_ADD,
    ...get(7), F32_ADD,
  ],
};

// prettier-ignore
const FORWARD: WasmFunction = {
  // forward(x, rows, nIn, w, bias, nOut, out). Locals: 7 r, 8 i, 9 out row, 10 x[r][i].
  // Zero inputs (ReLU outputs, one-hot features) are skipped.
  params: [I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, I32, F32],
  body: forCount(7, 1, [
    ...address(6, get(7), [...get(5), MUL]), ...set(9),
    ...get(9), ...get(4), ...get(5), ...i32c(2), SHL, ...memcopy,
    ...forCount(8, 2, [
      ...address(0, [...get(7), ...get(2), MUL, ...get(8), ADD]), ...f32load, ...set(10),
      ...ifThen([...get(10), ...f32c(0), F32_NE],
        [...get(9), ...address(3, get(8), [...get(5), MUL]), ...get(10), ...get(5), ...call(0)]),
    ]),
  ]),
};

// prettier-ignore
const ACCUMULATE: WasmFunction = {
  // accumulate(x, rows, nIn, d, nOut, f, g, gb). Locals: 8 r, 9 i, 10 d row, 11 f[r], 12 f[r]·x[r][i].
  params: [I32, I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, I32, F32, F32],
  body: forCount(8, 1, [
    ...address(5, get(8)), ...f32load, ...set(11),
    ...address(3, get(8), [...get(4), MUL]), ...set(10),
    ...get(7), ...get(10), ...get(11), ...get(4), ...call(0),
    ...forCount(9, 2, [
      ...address(0, [...get(8), ...get(2), MUL, ...get(9), ADD]), ...f32load, ...get(11), F32_MUL, ...set(12),
      ...ifThen([...get(12), ...f32c(0), F32_NE],
        [...address(6, get(9), [...get(4), MUL]), ...get(10), ...get(12), ...get(4), ...call(0)]),
    ]),
  ]),
};

// prettier-ignore
const BACKWARD: WasmFunction = {
  // backward(d, rows, nOut, w, nIn, e, a, reluMask). Locals: 8 r, 9 i, 10 r·nIn + i.
  params: [I32, I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, I32],
  body: forCount(8, 1, forCount(9, 4, [
    ...get(8), ...get(4), MUL, ...get(9), ADD, ...set(10),
    ...address(5, get(10)),
    // e[k] = (!reluMask || a[k] > 0) ? d[r] · w[i] : 0
    ...get(7), I32_EQZ, ...address(6, get(10)), ...f32load, ...f32c(0), F32_GT, OR,
    ...IF_F32,
    ...address(0, get(8), [...get(2), MUL]), ...address(3, get(9), [...get(2), MUL]), ...get(2), ...call(1),
    ELSE,
    ...f32c(0),
    END,
    ...f32store,
  ])),
};

// prettier-ignore
const ADD_NOISE: WasmFunction = {
  // addNoise(g, noise, n, divisor). Locals: 4 off, 5 end4, 6 end, 7 divisor splatted.
  params: [I32, I32, I32, F32],
  results: [],
  locals: [I32, I32, I32, V128],
  body: [
    ...get(3), ...vsplat, ...set(7),
    ...lanes(4, 2, 5, 6,
      [...get(0), ...get(4), ADD, ...get(0), ...get(4), ADD, ...vload,
        ...get(1), ...get(4), ADD, ...vload, ...vadd, ...get(7), ...vdiv, ...vstore],
      [...get(0), ...get(4), ADD, ...get(0), ...get(4), ADD, ...f32load,
        ...get(1), ...get(4), ADD, ...f32load, F32_ADD, ...get(3), F32_DIV, ...f32store]),
  ],
};

const BETA1 = 0.9;
const BETA2 = 0.999;
/** TensorFlow.js's float32 epsilon, which its Adam uses. */
const ADAM_EPSILON = 1e-7;

interface Ops {
  load: number[];
  store: number[];
  add: number[];
  sub: number[];
  mul: number[];
  div: number[];
  sqrt: number[];
}

/**
 * Adam on four lanes or one float: m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
 * p −= lr·(m / c1) / (√(v / c2) + ε). `c(k)` pushes constant k (β1, 1 − β1, β2, 1 − β2, lr, c1,
 * c2, ε); `t` is the first of three temporaries (g, new m, new v); local 8 is the byte offset.
 */
// prettier-ignore
function adamBody(o: Ops, c: (k: number) => number[], t: number): number[] {
  const at = (base: number): number[] => [...get(base), ...get(8), ADD];
  return [
    ...at(1), ...o.load, ...set(t),
    ...at(2), ...o.load, ...c(0), ...o.mul, ...get(t), ...c(1), ...o.mul, ...o.add, ...set(t + 1),
    ...at(3), ...o.load, ...c(2), ...o.mul, ...get(t), ...get(t), ...o.mul, ...c(3), ...o.mul, ...o.add, ...set(t + 2),
    ...at(2), ...get(t + 1), ...o.store,
    ...at(3), ...get(t + 2), ...o.store,
    ...at(0),
    ...at(0), ...o.load,
    ...c(4), ...get(t + 1), ...c(5), ...o.div, ...o.mul,
    ...get(t + 2), ...c(6), ...o.div, ...o.sqrt, ...c(7), ...o.add, ...o.div,
    ...o.sub, ...o.store,
  ];
}

const adamConstant = (k: number): number[] =>
  [
    f32c(BETA1),
    f32c(1 - BETA1),
    f32c(BETA2),
    f32c(1 - BETA2),
    get(5),
    get(6),
    get(7),
    f32c(ADAM_EPSILON),
  ][k] as number[];
// prettier-ignore
const SCALAR: Ops = { load: f32load, store: f32store, add: [F32_ADD], sub: [F32_SUB], mul: [F32_MUL], div: [F32_DIV], sqrt: [F32_SQRT] };
// prettier-ignore
const VECTOR: Ops = { load: vload, store: vstore, add: vadd, sub: vsub, mul: vmul, div: vdiv, sqrt: vsqrt };

// prettier-ignore
const ADAM: WasmFunction = {
  // adam(p, g, m, v, n, lr, c1, c2). Locals: 8 off, 9 end4, 10 end, 11 unused, 12..14 scalar
  // temporaries, 15..17 vector temporaries, 18..25 the constants splatted.
  params: [I32, I32, I32, I32, I32, F32, F32, F32],
  results: [],
  locals: [I32, I32, I32, I32, F32, F32, F32, ...new Array<number>(11).fill(V128)],
  body: [
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...adamConstant(k), ...vsplat, ...set(18 + k)]),
    ...lanes(8, 4, 9, 10, adamBody(VECTOR, (k) => get(18 + k), 15), adamBody(SCALAR, adamConstant, 12)),
  ],
};

const FUNCTIONS = [AXPY, DOT, FORWARD, ACCUMULATE, BACKWARD, ADD_NOISE, ADAM];
const NAMES = ['axpy', 'dot', 'forward', 'accumulate', 'backward', 'addNoise', 'adam'];

let compiled: object | null | undefined;

/** Whether this runtime runs the kernels (WebAssembly with SIMD); compiles them once. */
export function denseKernelsAvailable(): boolean {
  if (compiled === undefined) compiled = compileModule(encodeModule(FUNCTIONS, NAMES)) ?? null;
  return compiled !== null;
}

/**
 * The kernels over a new memory of at least `bytes` bytes.
 * @throws {Error} where WebAssembly SIMD is missing (check {@link denseKernelsAvailable} first).
 */
export function newDenseKernels(bytes: number): { kernels: DenseKernels; memory: WasmMemory } {
  if (!denseKernelsAvailable()) throw new Error('This runtime lacks WebAssembly SIMD.');
  const memory = newMemory(bytes);
  return { kernels: instantiate(compiled as object, memory) as DenseKernels, memory };
}
