// What makes an update's bytes acceptable for its run, checked before they are kept (upload) and
// again when a round is decided (close, audit). Each failure has a code from the closed set of
// exclusion codes: the same code is the HTTP problem (FL_ERR_<code>) at upload time and the
// exclusion code recorded on the ledger at close time.
import type { Container, ExclusionCode, RunRecord } from '@fedledger/protocol';
import type { ReadLimits } from '@fedledger/protocol';
import {
  ContainerError,
  checkTensorsMatchSpec,
  decodeContainer,
  modelTensorShapes,
  parameterCount,
  maskedWords,
  metricsViolation,
  sharedMetricsOf,
} from '@fedledger/protocol';
import { flattenTensors, l2Norm } from './strategies';
import type { EncryptedAggregator } from './encrypted';
import type { RunSettings } from './run-settings';
import { runSettings } from './run-settings';

/**
 * Largest header an update may announce: ample for any model's tensors and metadata (the
 * reference MLP's is under 2 KiB, an encrypted update of a million parameters' under 64 KiB),
 * and refused before its JSON is parsed, so a header of a million empty tensors costs nothing.
 */
export const MAX_UPDATE_HEADER_BYTES = 1024 * 1024;

/**
 * Largest byte length of a plaintext (float32) update of `run`: the length field, the largest
 * header it may announce, and 4 bytes per parameter of the model spec. Undefined for encrypted
 * runs, whose ciphertext sizes the CKKS checks bound.
 */
export function maxUpdateBytes(run: RunRecord): number | undefined {
  const settings = runSettings(run);
  // A CKKS update's size follows its parameters; float32 and masked words are 4 bytes each.
  if (settings.encoding === 'ckks') return undefined;
  return 8 + updateReadLimits(run).maxHeaderBytes + 4 * parameterCount(settings.modelSpec);
}

/** Slots of one CKKS ciphertext under the one accepted parameter set (8192 / 2). */
export const CKKS_SLOTS = 4096;

/** Header room for the container's metadata and extra keys (metrics, DP accounting, CKKS). */
const HEADER_BASE_BYTES = 64 * 1024;
/** Header room per tensor entry (name, dtype, shape, offsets: under 100 bytes in practice). */
const HEADER_BYTES_PER_TENSOR = 512;

/**
 * What an update of `run` may announce, from the run's model spec: the spec's tensors, or one CKKS
 * ciphertext per {@link CKKS_SLOTS} parameters, whichever is more, and a header sized for
 * them. Checked before the header's JSON is parsed (its size) and before any tensor is examined
 * (its count), so an update of a million empty tensors is refused without allocating them.
 */
export function updateReadLimits(run: RunRecord): Required<ReadLimits> {
  const settings = runSettings(run);
  // The larger of the two encodings' counts, so that an update in the other encoding is refused
  // for its encoding (UNSUPPORTED_ENCODING), not for its tensor count.
  const maxTensors = Math.max(
    Math.ceil(parameterCount(settings.modelSpec) / CKKS_SLOTS),
    modelTensorShapes(settings.modelSpec).length,
  );
  return {
    maxTensors,
    maxHeaderBytes: Math.min(
      MAX_UPDATE_HEADER_BYTES,
      HEADER_BASE_BYTES + HEADER_BYTES_PER_TENSOR * maxTensors,
    ),
  };
}
/** Why an update's bytes break a rule of its run (a "rule" exclusion code). */
export type RejectionCode = Extract<
  ExclusionCode,
  | 'MALFORMED_CONTAINER'
  | 'NON_FINITE'
  | 'SHAPE_MISMATCH'
  | 'NORM_EXCEEDED'
  | 'METADATA_MISMATCH'
  | 'IDENTITY_MISMATCH'
  | 'CKKS_PARAMS_MISMATCH'
  | 'CKKS_KEY_MISMATCH'
  | 'CKKS_MALFORMED'
  | 'UNSUPPORTED_ENCODING'
  | 'SAMPLE_COUNT_EXCEEDED'
  | 'METRICS_NOT_SHARED'
>;

/** An update that failed a check; `code` is its exclusion code. */
export class UpdateCheckError extends Error {
  readonly code: RejectionCode;

  constructor(code: RejectionCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A checked update: its container and, for plaintext runs, Δ flattened in spec order. */
export interface CheckedUpdate {
  container: Container;
  delta?: Float32Array;
  norm?: number;
}

/**
 * Decodes and checks one update for `run`, round `round`, from `mspId`.
 * @throws {UpdateCheckError} with the reason code and a sentence.
 */
export function checkUpdate(
  bytes: Uint8Array,
  run: RunRecord,
  round: number,
  mspId: string,
): CheckedUpdate {
  let container: Container;
  try {
    container = decodeContainer(bytes, updateReadLimits(run));
  } catch (err) {
    const code = err instanceof ContainerError ? err.code : undefined;
    if (code === 'CONTAINER_NON_FINITE')
      throw new UpdateCheckError('NON_FINITE', (err as Error).message);
    if (code === 'CONTAINER_SHAPE_MISMATCH')
      throw new UpdateCheckError('SHAPE_MISMATCH', (err as Error).message);
    throw new UpdateCheckError('MALFORMED_CONTAINER', (err as Error).message);
  }
  const m = container.metadata;
  const settings: RunSettings = runSettings(run);
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new UpdateCheckError('METADATA_MISMATCH', what);
  };
  expect(m.kind === 'update', `the container is a ${m.kind}, not an update`);
  expect(m.runId === run.runId, `the container is for run ${m.runId}, not ${run.runId}`);
  expect(m.round === round, `the container is for round ${m.round}, not ${round}`);
  if (m.mspId !== mspId) {
    throw new UpdateCheckError(
      'IDENTITY_MISMATCH',
      `the container names ${m.mspId}, but it comes from ${mspId}`,
    );
  }
  expect(m.modelSpecHash === run.modelSpecHash, "the container's model spec is not the run's");
  expect(m.sampleCount > 0, 'the sample count must be positive');
  const declared = run.sampleCounts?.[mspId];
  if (declared === undefined || m.sampleCount > declared) {
    throw new UpdateCheckError(
      'SAMPLE_COUNT_EXCEEDED',
      `the update claims ${m.sampleCount} samples; ${mspId} declared ${declared ?? 'none'} for the run`,
    );
  }
  // Validation metrics leave a hospital only as the run allows (default: never). Runs recorded
  // before the setting existed (no `sharedMetrics` in their settings) were made under rules that
  // carried metrics in every update: they are judged by those rules, so that re-deciding an old
  // round does not accuse its gateway of a rule it did not have.
  if (run.settings['sharedMetrics'] !== undefined) {
    const leak = metricsViolation(container.extra, sharedMetricsOf(run.settings));
    if (leak !== undefined) throw new UpdateCheckError('METRICS_NOT_SHARED', leak);
  }
  if (m.encoding !== settings.encoding) {
    throw new UpdateCheckError(
      'UNSUPPORTED_ENCODING',
      `the run expects ${settings.encoding} updates; this one is ${m.encoding}`,
    );
  }
  if (m.encoding === 'ckks') return { container };
  if (m.encoding === 'secagg') {
    // Masked words look random by design: neither norm nor finiteness can be read from them.
    try {
      maskedWords(container, parameterCount(settings.modelSpec));
    } catch (err) {
      throw new UpdateCheckError('SHAPE_MISMATCH', (err as Error).message);
    }
    return { container };
  }
  try {
    checkTensorsMatchSpec(container.tensors, settings.modelSpec);
  } catch (err) {
    throw new UpdateCheckError('SHAPE_MISMATCH', (err as Error).message);
  }
  const delta = flattenTensors(container.tensors, settings.modelSpec);
  const norm = l2Norm(delta);
  if (!Number.isFinite(norm))
    throw new UpdateCheckError('NON_FINITE', 'the update has a non-finite norm');
  const bound = settings.updateNormBound;
  // A tolerance of one part in 10^6 absorbs float32 rounding of an update clipped to exactly C.
  if (bound !== null && norm > bound * (1 + 1e-6)) {
    throw new UpdateCheckError(
      'NORM_EXCEEDED',
      `the update's L2 norm is ${norm.toPrecision(6)}; the run's bound is ${bound}`,
    );
  }
  return { container, delta, norm };
}

/**
 * {@link checkUpdate}, then for an encrypted update the CKKS checks (parameters, key fingerprint,
 * sizes) that `encrypted` performs.
 * @throws {UpdateCheckError} with the failing rule's code; UNSUPPORTED_ENCODING for an encrypted
 * update when no `encrypted` checker is given.
 */
export async function checkUpdateBytes(
  bytes: Uint8Array,
  run: RunRecord,
  round: number,
  mspId: string,
  encrypted: Pick<EncryptedAggregator, 'check'> | undefined,
): Promise<CheckedUpdate> {
  const checked = checkUpdate(bytes, run, round, mspId);
  if (checked.container.metadata.encoding === 'ckks') {
    if (!encrypted) {
      throw new UpdateCheckError('UNSUPPORTED_ENCODING', 'encrypted updates need CKKS support');
    }
    await encrypted.check(run, bytes);
  }
  return checked;
}
