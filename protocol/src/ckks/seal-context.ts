// The node-seal runtime: loads the WebAssembly library once, builds the SEAL context for a parameter
// set, and makes sure every SEAL object made on our behalf is released with `.delete()`.
//
// SEAL objects live in the WebAssembly heap, outside the JavaScript garbage collector's reach, so
// every function here creates its objects inside a `SealScope` and releases them in `finally`.
import SEAL from 'node-seal';
import type { CKKSEncoder } from 'node-seal/implementation/ckks-encoder';
import type { ComprModeType } from 'node-seal/implementation/compr-mode-type';
import type { Context } from 'node-seal/implementation/context';
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { MemoryPoolHandle } from 'node-seal/implementation/memory-pool-handle';
import type { SchemeType } from 'node-seal/implementation/scheme-type';
import type { SEALLibrary } from 'node-seal/implementation/seal';
import type { SecurityLevel } from 'node-seal/implementation/security-level';
import type { CkksParams } from './params';
import { checkParams, ckksParamsHash, slotCount } from './params';

/** Anything holding WebAssembly memory that must be freed explicitly. */
export interface Deletable {
  delete(): void;
}

/** Collects SEAL objects and deletes them all, newest first, when released. */
export class SealScope {
  private readonly owned: Deletable[] = [];

  /** Registers `object` for deletion at {@link release} and returns it. */
  own<T extends Deletable>(object: T): T {
    this.owned.push(object);
    return object;
  }

  /** Deletes every registered object; safe to call more than once. */
  release(): void {
    for (let object = this.owned.pop(); object !== undefined; object = this.owned.pop()) {
      object.delete();
    }
  }
}

/** Runs `work` with a fresh scope and releases the scope however `work` ends. */
export function withScope<T>(work: (scope: SealScope) => T): T {
  const scope = new SealScope();
  try {
    return work(scope);
  } finally {
    scope.release();
  }
}

/** The SEAL objects shared by every operation under one parameter set. */
export interface SealRuntime {
  readonly seal: SEALLibrary;
  readonly params: Readonly<CkksParams>;
  readonly context: Context;
  readonly encoder: CKKSEncoder;
  readonly evaluator: Evaluator;
  /**
   * The global memory pool, fetched once: node-seal's default arguments fetch a new handle on
   * every call and never free it, so every call here passes this one explicitly.
   */
  readonly pool: MemoryPoolHandle;
  /** SEAL's serialisation compression modes, typed (node-seal types its enum values as `any`). */
  readonly compression: { readonly none: ComprModeType; readonly zstd: ComprModeType };
  /** The encoding scale, 2^scaleBits. */
  readonly scale: number;
  /** Values per ciphertext (N/2). */
  readonly slots: number;
}

let library: Promise<SEALLibrary> | undefined;
let wasmMemory: WasmMemory | undefined;
const runtimes = new Map<string, Promise<SealRuntime>>();

/** Loads node-seal once per process. */
export function loadSeal(): Promise<SEALLibrary> {
  library ??= instantiateWatchingMemory();
  return library;
}

/**
 * The SEAL runtime for `params`, built on first use and then shared.
 * @throws {CkksParamsMismatchError} for parameters other than the accepted set.
 */
export function sealRuntime(params: Readonly<CkksParams>): Promise<SealRuntime> {
  checkParams(params);
  const key = ckksParamsHash(params);
  let runtime = runtimes.get(key);
  if (!runtime) {
    runtime = loadSeal().then((seal) => buildRuntime(seal, params));
    runtimes.set(key, runtime);
    // A failed build is not cached, so a later call can retry.
    runtime.catch(() => runtimes.delete(key));
  }
  return runtime;
}

/** Deletes every cached runtime's SEAL objects (for process shutdown and tests). */
export async function releaseSealRuntimes(): Promise<void> {
  const pending = [...runtimes.values()];
  runtimes.clear();
  for (const settled of await Promise.allSettled(pending)) {
    if (settled.status === 'fulfilled') disposeRuntime(settled.value);
  }
}

/**
 * Bytes of WebAssembly memory node-seal has reserved so far, or undefined when it could not be
 * observed. WebAssembly memory never shrinks, so a flat figure across many operations means no SEAL
 * object outlives its operation.
 */
export function sealHeapBytes(): number | undefined {
  return wasmMemory?.buffer.byteLength;
}

function buildRuntime(seal: SEALLibrary, params: Readonly<CkksParams>): SealRuntime {
  const scope = new SealScope();
  const kept = new SealScope();
  try {
    const parms = scope.own(seal.EncryptionParameters(seal.SchemeType.ckks as SchemeType));
    parms.setPolyModulusDegree(params.polyModulusDegree);
    const moduli = scope.own(
      seal.CoeffModulus.Create(params.polyModulusDegree, Int32Array.from(params.coeffModulusBits)),
    );
    parms.setCoeffModulus(moduli);
    const context = kept.own(seal.Context(parms, true, seal.SecurityLevel.tc128 as SecurityLevel));
    if (!context.parametersSet()) {
      throw new Error(
        `SEAL rejected the CKKS parameters ${JSON.stringify(params)}; they are not secure or valid.`,
      );
    }
    const encoder = kept.own(seal.CKKSEncoder(context));
    const evaluator = kept.own(seal.Evaluator(context));
    // node-seal types pool arguments as its factory object; the value is the handle itself.
    const pool = seal.MemoryPoolHandle.global as MemoryPoolHandle;
    kept.own(pool as unknown as Deletable);
    return {
      seal,
      params,
      context,
      encoder,
      evaluator,
      pool,
      compression: {
        none: seal.ComprModeType.none as ComprModeType,
        zstd: seal.ComprModeType.zstd as ComprModeType,
      },
      scale: 2 ** params.scaleBits,
      slots: slotCount(params),
    };
  } catch (error) {
    kept.release();
    throw error;
  } finally {
    scope.release();
  }
}

function disposeRuntime(runtime: SealRuntime): void {
  runtime.evaluator.delete();
  runtime.encoder.delete();
  runtime.context.delete();
  (runtime.pool as unknown as Deletable).delete();
}

// node-seal does not expose its WebAssembly memory; watch the one instantiation its loader makes so
// tests and the benchmark can check that the heap stays flat. Only a load that makes exactly one
// instantiation is trusted, so a concurrent WebAssembly load elsewhere cannot be mistaken for ours.
async function instantiateWatchingMemory(): Promise<SEALLibrary> {
  const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
  const original = wasm.instantiate;
  const seen: WasmMemory[] = [];
  let calls = 0;
  wasm.instantiate = async (...args: unknown[]): Promise<unknown> => {
    calls += 1;
    const result = await original.apply(wasm, args);
    const instance =
      result instanceof wasm.Instance ? result : (result as { instance: WasmInstance }).instance;
    for (const value of Object.values(instance.exports)) {
      if (value instanceof wasm.Memory) seen.push(value);
    }
    return result;
  };
  try {
    const seal = await SEAL();
    if (calls === 1 && seen.length === 1) wasmMemory = seen[0];
    return seal;
  } finally {
    wasm.instantiate = original;
  }
}

// The slice of the WebAssembly global used above (the Node typings here do not declare it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmGlobal {
  instantiate: (...args: unknown[]) => Promise<unknown>;
  readonly Instance: new (...args: never[]) => WasmInstance;
  readonly Memory: new (...args: never[]) => WasmMemory;
}
