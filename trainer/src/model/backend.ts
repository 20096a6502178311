// TensorFlow.js backend selection: the fastest backend that loads on this machine, or the one asked
// for. Native bindings (tfjs-node-gpu, tfjs-node) are optional dependencies whose install may have
// failed, so they are loaded with a guarded dynamic require.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors';

/** Backends the trainer knows, fastest first. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Auto-selection order. */
export const BACKEND_PREFERENCE: readonly BackendName[] = [
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
];

/** The backend in use and how it was chosen. */
export interface BackendChoice {
  name: BackendName;
  /** The TensorFlow.js backend id (`tensorflow` for both native bindings). */
  tfBackend: string;
  /** Why earlier candidates were skipped, for the log line. */
  skipped: string[];
}

const load = createRequire(__filename);

/** The npm packages behind the native backends. */
const NATIVE_PACKAGES: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/**
 * Activates `wanted`, or the first backend of {@link BACKEND_PREFERENCE} that initialises.
 * @throws {BackendError} when a forced backend cannot be loaded.
 */
export async function selectBackend(wanted?: BackendName | 'auto'): Promise<BackendChoice> {
  const candidates = wanted === undefined || wanted === 'auto' ? BACKEND_PREFERENCE : [wanted];
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await activate(name);
      return { name, tfBackend, skipped };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      skipped.push(`${name}: ${reason ?? 'failed'}`);
      if (candidates.length === 1) {
        throw new BackendError(`The backend "${name}" is not available here (${reason}).`, {
          cause: error,
        });
      }
    }
  }
  throw new BackendError(`No TensorFlow.js backend could be initialised: ${skipped.join('; ')}.`);
}

/** Names of the backends that initialise on this machine (activates each in turn). */
export async function availableBackends(): Promise<BackendName[]> {
  const found: BackendName[] = [];
  for (const name of BACKEND_PREFERENCE) {
    try {
      await activate(name);
      found.push(name);
    } catch {
      // Not installed or not usable here; that is what this function reports.
    }
  }
  return found;
}

/** The backend activated last (by {@link selectBackend} or {@link availableBackends}), if any. */
export function activeBackend(): BackendName | undefined {
  return active;
}

let active: BackendName | undefined;

async function activate(name: BackendName): Promise<string> {
  const id = await activateId(name);
  active = name;
  return id;
}

async function activateId(name: BackendName): Promise<string> {
  const pkg = NATIVE_PACKAGES[name];
  if (pkg !== undefined) {
    // Registers the 'tensorflow' backend with the shared tfjs-core; the GPU build fails to load
    // without its CUDA libraries, which is what makes it a distinct step in the preference order.
    load(pkg);
    return setOrThrow('tensorflow');
  }
  if (name === 'wasm') {
    const wasm = load('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
    const wasmFile = load.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    // On Node the binaries must be located explicitly: the package's dist folder, as a prefix.
    wasm.setWasmPaths(`${dirname(wasmFile)}/`);
  }
  return setOrThrow(name);
}

async function setOrThrow(id: string): Promise<string> {
  const ok = await tf.setBackend(id);
  await tf.ready();
  if (!ok || tf.getBackend() !== id) throw new Error(`tf.setBackend('${id}') failed`);
  return id;
}
