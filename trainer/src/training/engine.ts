// Which implementation trains a model: the fused Dense engine where it covers the spec and no GPU
// is active, TensorFlow.js otherwise (other architectures, GPUs); either can be forced.
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedledger/protocol';
import { ConfigError } from '../errors';
import { activeBackend } from '../model/backend';
import { fusedUnsupportedReason } from './dense-engine';
import type { TrainingEngineChoice } from './trainer';

/** The engines {@link chooseEngine} can pick. */
export type TrainingEngine = 'fused' | 'tfjs';

/** Accepted values of `engine` / `--engine`. */
export const ENGINE_CHOICES: readonly TrainingEngineChoice[] = ['auto', 'fused', 'tfjs'];

/**
 * The engine that trains `spec` under `wanted` (default auto).
 * @throws {ConfigError} when `fused` is forced for a spec it does not cover.
 */
export function chooseEngine(spec: ModelSpec, wanted?: TrainingEngineChoice): TrainingEngine {
  const unsupported = fusedUnsupportedReason(spec);
  if (wanted === 'tfjs') return 'tfjs';
  if (wanted === 'fused') {
    if (unsupported !== undefined) {
      throw new ConfigError(
        `The fused engine cannot train model "${spec.name}" (${unsupported}); use --engine tfjs or auto.`,
      );
    }
    return 'fused';
  }
  return unsupported === undefined && !gpuActive() ? 'fused' : 'tfjs';
}

/** How the TensorFlow.js engine is named in the log: `tfjs/<backend>`. */
export function tfjsEngineName(): string {
  return `tfjs/${activeBackend() ?? tf.getBackend()}`;
}

function gpuActive(): boolean {
  const id = tf.getBackend();
  return activeBackend() === 'tensorflow-gpu' || id === 'webgl' || id === 'webgpu';
}
