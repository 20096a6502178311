// Shared test fixtures: one backend selection per process, and small synthetic hospitals on disk.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container, ModelSpec } from '@fedledger/protocol';
import { encodeContainer, modelSpecHash } from '@fedledger/protocol';
import type { BackendChoice } from '../src/model/backend';
import { initialModelTensors } from '../src/model/mlp';
import { selectBackend } from '../src/model/backend';
import type { GeneratedHospitals } from '../src/synthetic/generate';
import { generateHospitals } from '../src/synthetic/generate';

let backend: Promise<BackendChoice> | undefined;

/** Activates the fastest backend that loads (wasm here), once. */
export function useFastestBackend(): Promise<BackendChoice> {
  backend ??= selectBackend('auto');
  return backend;
}

const generated = new Map<string, GeneratedHospitals>();

/** Synthetic hospitals with `patients` rows each, generated once per size and seed. */
export function smallHospitals(patients: number, seed = 11): GeneratedHospitals {
  const key = `${patients}/${seed}`;
  let result = generated.get(key);
  if (!result) {
    result = generateHospitals({
      outDir: mkdtempSync(join(tmpdir(), 'fedledger-trainer-')),
      patientsPerHospital: patients,
      seed,
    });
    generated.set(key, result);
  }
  return result;
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fedledger-trainer-'));
}

/** The initial model of a run (kind model, round 0, seeded weights), encoded. */
export function initialModelBytes(runId: string, spec: ModelSpec): Uint8Array {
  return encodeContainer(initialModelContainer(runId, spec));
}

/** The initial model of a run as a container. */
export function initialModelContainer(runId: string, spec: ModelSpec): Container {
  return {
    metadata: {
      kind: 'model',
      runId,
      round: 0,
      mspId: '',
      sampleCount: 0,
      modelSpecHash: modelSpecHash(spec),
      encoding: 'float32',
    },
    extra: {},
    tensors: initialModelTensors(spec, 1),
  };
}
