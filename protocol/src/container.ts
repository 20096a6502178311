// The fedledger update/model container: safetensors with typed fedledger metadata.
import { InvalidHeaderError, ShapeMismatchError } from './errors';
import { sha256Hex } from './hash';
import type { ModelSpec } from './model-spec';
import { modelTensorShapes } from './model-spec';
import type { ReadLimits, Tensor } from './safetensors';
import { readSafetensors, writeSafetensors } from './safetensors';

/** Version tag written into every container's metadata. */
export const CONTAINER_FORMAT = 'fedledger/1';

/** How the tensors encode the weights: raw float32, or CKKS ciphertexts as bytes. */
export type Encoding = 'float32' | 'ckks' | 'secagg';

/** What a container holds: one hospital's update or a global model. */
export type ContainerKind = 'update' | 'model';

/** Metadata every fedledger container carries. */
export interface ContainerMetadata {
  kind: ContainerKind;
  runId: string;
  /** For an update: the round it was trained in. For a model: the round it is the input of. */
  round: number;
  /** The submitting organisation (updates); the empty string for global models. */
  mspId: string;
  /** Training samples behind an update, or the total behind an aggregate (0 for an initial model). */
  sampleCount: number;
  modelSpecHash: string;
  encoding: Encoding;
}

/** A decoded container. `extra` holds any further metadata (DP accounting, CKKS parameters). */
export interface Container {
  metadata: ContainerMetadata;
  extra: Record<string, string>;
  tensors: Tensor[];
}

const PREFIX = 'fedledger.';
const KEYS = {
  format: `${PREFIX}format`,
  kind: `${PREFIX}kind`,
  runId: `${PREFIX}run_id`,
  round: `${PREFIX}round`,
  mspId: `${PREFIX}msp_id`,
  sampleCount: `${PREFIX}sample_count`,
  modelSpecHash: `${PREFIX}model_spec_hash`,
  encoding: `${PREFIX}encoding`,
} as const;

/**
 * Writes a container canonically: equal content gives equal bytes.
 * @throws {ContainerError} for malformed tensors; {InvalidHeaderError} for bad metadata.
 */
export function encodeContainer(container: Container): Uint8Array {
  const m = container.metadata;
  checkMetadata(m);
  const map: Record<string, string> = {};
  for (const [key, value] of Object.entries(container.extra)) {
    if (key.startsWith(PREFIX)) {
      throw new InvalidHeaderError(
        `extra metadata key "${key}" uses the reserved prefix "${PREFIX}"`,
      );
    }
    map[key] = value;
  }
  map[KEYS.format] = CONTAINER_FORMAT;
  map[KEYS.kind] = m.kind;
  map[KEYS.runId] = m.runId;
  map[KEYS.round] = String(m.round);
  map[KEYS.mspId] = m.mspId;
  map[KEYS.sampleCount] = String(m.sampleCount);
  map[KEYS.modelSpecHash] = m.modelSpecHash;
  map[KEYS.encoding] = m.encoding;
  return writeSafetensors(container.tensors, map);
}

/**
 * Reads a container strictly, including its fedledger metadata.
 * @throws {ContainerError} (a subclass naming the problem) for any malformed input.
 */
export function decodeContainer(bytes: Uint8Array, limits?: ReadLimits): Container {
  const { tensors, metadata: map } = readSafetensors(bytes, limits);
  if (map[KEYS.format] !== CONTAINER_FORMAT) {
    throw new InvalidHeaderError(
      `metadata "${KEYS.format}" is ${JSON.stringify(map[KEYS.format])}; expected "${CONTAINER_FORMAT}"`,
    );
  }
  const metadata: ContainerMetadata = {
    kind: requireString(map, KEYS.kind) as ContainerKind,
    runId: requireString(map, KEYS.runId),
    round: requireInteger(map, KEYS.round),
    mspId: map[KEYS.mspId] ?? '',
    sampleCount: requireInteger(map, KEYS.sampleCount),
    modelSpecHash: requireString(map, KEYS.modelSpecHash),
    encoding: requireString(map, KEYS.encoding) as Encoding,
  };
  checkMetadata(metadata);
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (!key.startsWith(PREFIX)) extra[key] = value;
  }
  return { metadata, extra, tensors };
}

/** Encodes a container and returns its bytes with their SHA-256. */
export function sealContainer(container: Container): { bytes: Uint8Array; sha256: string } {
  const bytes = encodeContainer(container);
  return { bytes, sha256: sha256Hex(bytes) };
}

/**
 * Checks that float32 tensors match a model spec exactly: same names, same shapes.
 * @throws {ShapeMismatchError} naming the first tensor that differs.
 */
export function checkTensorsMatchSpec(tensors: readonly Tensor[], spec: ModelSpec): void {
  const expected = modelTensorShapes(spec);
  if (tensors.length !== expected.length) {
    throw new ShapeMismatchError(
      `expected ${expected.length} tensors for model "${spec.name}" but found ${tensors.length}`,
    );
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const want of expected) {
    const got = byName.get(want.name);
    if (!got) throw new ShapeMismatchError(`tensor "${want.name}" is missing`);
    if (got.dtype !== 'F32') {
      throw new ShapeMismatchError(`tensor "${want.name}" is ${got.dtype}; expected F32`);
    }
    if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
      throw new ShapeMismatchError(
        `tensor "${want.name}" has shape [${got.shape.join(', ')}]; expected [${want.shape.join(', ')}]`,
      );
    }
  }
}

function checkMetadata(m: ContainerMetadata): void {
  if (m.kind !== 'update' && m.kind !== 'model') {
    throw new InvalidHeaderError(`metadata "${KEYS.kind}" must be "update" or "model"`);
  }
  if (m.encoding !== 'float32' && m.encoding !== 'ckks' && m.encoding !== 'secagg') {
    throw new InvalidHeaderError(
      `metadata "${KEYS.encoding}" must be "float32", "ckks" or "secagg"`,
    );
  }
  if (m.runId.length === 0) throw new InvalidHeaderError(`metadata "${KEYS.runId}" is empty`);
  if (!Number.isSafeInteger(m.round) || m.round < 0) {
    throw new InvalidHeaderError(`metadata "${KEYS.round}" must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(m.sampleCount) || m.sampleCount < 0) {
    throw new InvalidHeaderError(`metadata "${KEYS.sampleCount}" must be a non-negative integer`);
  }
  if (m.kind === 'update' && (m.mspId.length === 0 || m.sampleCount === 0)) {
    throw new InvalidHeaderError(
      `an update needs "${KEYS.mspId}" and a positive "${KEYS.sampleCount}"`,
    );
  }
}

function requireString(map: Record<string, string>, key: string): string {
  const value = map[key];
  if (value === undefined) throw new InvalidHeaderError(`metadata "${key}" is missing`);
  return value;
}

function requireInteger(map: Record<string, string>, key: string): number {
  const text = requireString(map, key);
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidHeaderError(`metadata "${key}" must be a non-negative integer, not "${text}"`);
  }
  return Number(text);
}
