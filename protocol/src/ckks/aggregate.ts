// Encrypted FedAvg: the sample-weighted mean of encrypted updates, computed without the secret key.
//
// For inputs k = 1..K with sample counts n_k and n = Σ n_k, ciphertext i of the aggregate is
//   rescale( Σ_k Enc(Δ_k,i) ⊙ encode(n_k / n) )
// summed in the order the inputs are given. Every step (seed expansion, encoding, multiply_plain,
// add, rescale, uncompressed serialisation) is deterministic, so anyone holding the same input
// containers recomputes byte-identical output and can check its hash against the ledger.
import { encodeContainer } from '../container';
import { CkksKeyMismatchError, CkksMalformedError } from '../errors';
import type { CkksHeader, EncryptedContainer } from './layout';
import { buildEncryptedContainer, readEncryptedContainer } from './layout';
import type { CkksParams } from './params';
import { ckksParamsHash } from './params';
import type { SealRuntime } from './seal-context';
import { sealRuntime, withScope } from './seal-context';
import { checkSealSerialization } from './serialization';

/** One encrypted update and the sample count the ledger records for it. */
export interface EncryptedInput {
  /** The update's container bytes (encoding "ckks", kind "update"). */
  bytes: Uint8Array;
  /** Training samples behind the update; must equal the container's own sample count. */
  sampleCount: number;
}

/** Metadata of the aggregate: the global model that is the input of `round`. */
export interface AggregateMetadata {
  runId: string;
  round: number;
  modelSpecHash: string;
  /** The run's recorded key fingerprint; when given, every input must carry it. */
  keyFingerprint?: string;
}

/** Coefficient moduli an update's ciphertexts carry (the level below the top). */
const UPDATE_MODULI = 2;

/**
 * Computes the sample-weighted mean of encrypted updates as container bytes (kind "model",
 * encoding "ckks", sample count Σ n_k). Needs no secret key. Inputs are combined in the order given;
 * callers fix it (the gateway sorts by MSP ID) so that the output bytes are reproducible.
 * @throws {RangeError} for no inputs or a sample count that is not a positive integer;
 * {CkksParamsMismatchError} when an input was made under other parameters;
 * {CkksKeyMismatchError} when inputs are under different keys;
 * {CkksMalformedError} for inputs that disagree in run, model or size, or hold bad ciphertexts.
 */
export async function aggregateEncrypted(
  params: Readonly<CkksParams>,
  inputs: readonly EncryptedInput[],
  metadata: Readonly<AggregateMetadata>,
): Promise<Uint8Array> {
  if (inputs.length === 0) throw new RangeError('An aggregate needs at least one update.');
  for (const [k, input] of inputs.entries()) {
    if (!Number.isSafeInteger(input.sampleCount) || input.sampleCount <= 0) {
      throw new RangeError(
        `Input ${k} has sample count ${input.sampleCount}; it must be positive.`,
      );
    }
  }
  const runtime = await sealRuntime(params);
  const containers = inputs.map((input, k) =>
    readEncryptedContainer(input.bytes, params, `input ${k}`),
  );
  checkCompatible(containers, inputs, metadata);
  const first = containers[0] as EncryptedContainer;
  const total = inputs.reduce((sum, input) => sum + input.sampleCount, 0);
  const weights = inputs.map((input) => input.sampleCount / total);
  const ciphertexts = weightedSum(runtime, containers, weights);
  return encodeContainer(
    buildEncryptedContainer(
      {
        kind: 'model',
        runId: metadata.runId,
        round: metadata.round,
        mspId: '',
        sampleCount: total,
        modelSpecHash: metadata.modelSpecHash,
      },
      {},
      {
        paramsHash: ckksParamsHash(params),
        keyFingerprint: first.header.keyFingerprint,
        parameterCount: first.header.parameterCount,
        ciphertextCount: first.header.ciphertextCount,
      },
      ciphertexts,
    ),
  );
}

/**
 * Checks one encrypted update as the gateway receives it, before it is stored: layout, parameters,
 * key and every ciphertext's shape, level and scale. Needs no secret key.
 * @returns the update's CKKS header.
 * @throws {CkksParamsMismatchError}, {CkksKeyMismatchError} (when `keyFingerprint` is given and
 * differs) or {CkksMalformedError}, as {@link aggregateEncrypted} would.
 */
export async function checkEncryptedUpdate(
  params: Readonly<CkksParams>,
  bytes: Uint8Array,
  keyFingerprint?: string,
): Promise<CkksHeader> {
  const runtime = await sealRuntime(params);
  const container = readEncryptedContainer(bytes, params, 'the update');
  if (container.metadata.kind !== 'update') {
    throw new CkksMalformedError(`The container is a "${container.metadata.kind}", not an update.`);
  }
  if (keyFingerprint !== undefined && container.header.keyFingerprint !== keyFingerprint) {
    throw new CkksKeyMismatchError(
      `The update is encrypted under key ${container.header.keyFingerprint}; the run's key is ${keyFingerprint}.`,
    );
  }
  withScope((scope) => {
    const cipher = scope.own(runtime.seal.CipherText({ pool: runtime.pool }));
    container.ciphertexts.forEach((data, i) => loadUpdateCiphertext(runtime, cipher, data, 0, i));
  });
  return container.header;
}

function checkCompatible(
  containers: readonly EncryptedContainer[],
  inputs: readonly EncryptedInput[],
  metadata: Readonly<AggregateMetadata>,
): void {
  const first = containers[0] as EncryptedContainer;
  const wanted = metadata.keyFingerprint ?? first.header.keyFingerprint;
  containers.forEach((c, k) => {
    if (c.header.keyFingerprint !== wanted) {
      throw new CkksKeyMismatchError(
        `Input ${k} is encrypted under key ${c.header.keyFingerprint}; the run's key is ${wanted}.`,
      );
    }
    const m = c.metadata;
    const problem =
      m.kind !== 'update'
        ? `is a "${m.kind}", not an update`
        : m.runId !== metadata.runId
          ? `belongs to run "${m.runId}", not "${metadata.runId}"`
          : m.modelSpecHash !== metadata.modelSpecHash
            ? `is for model spec ${m.modelSpecHash}, not ${metadata.modelSpecHash}`
            : m.sampleCount !== inputs[k]?.sampleCount
              ? `declares ${m.sampleCount} samples but the ledger records ${inputs[k]?.sampleCount}`
              : c.header.parameterCount !== first.header.parameterCount
                ? `holds ${c.header.parameterCount} parameters; input 0 holds ${first.header.parameterCount}`
                : undefined;
    if (problem !== undefined) throw new CkksMalformedError(`Input ${k} ${problem}.`);
  });
}

function weightedSum(
  runtime: SealRuntime,
  containers: readonly EncryptedContainer[],
  weights: readonly number[],
): Uint8Array[] {
  const { seal, encoder, evaluator, pool, scale, slots } = runtime;
  return withScope((scope) => {
    const weightPlains = weights.map((w) => {
      const plain = scope.own(seal.PlainText({ pool }));
      encoder.encode(new Float64Array(slots).fill(w), scale, plain, pool);
      evaluator.plainModSwitchToNext(plain, plain);
      return plain;
    });
    const sum = scope.own(seal.CipherText({ pool }));
    const term = scope.own(seal.CipherText({ pool }));
    const count = (containers[0] as EncryptedContainer).header.ciphertextCount;
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      containers.forEach((container, k) => {
        const target = k === 0 ? sum : term;
        loadUpdateCiphertext(runtime, target, container.ciphertexts[i] as Uint8Array, k, i);
        evaluator.multiplyPlain(
          target,
          weightPlains[k] as (typeof weightPlains)[number],
          target,
          pool,
        );
        if (k > 0) evaluator.add(sum, term, sum);
      });
      evaluator.rescaleToNext(sum, sum, pool);
      out.push(sum.saveArray(runtime.compression.none));
    }
    return out;
  });
}

function loadUpdateCiphertext(
  runtime: SealRuntime,
  target: ReturnType<SealRuntime['seal']['CipherText']>,
  bytes: Uint8Array,
  input: number,
  index: number,
): void {
  const what = `Input ${input}, ciphertext ${index}`;
  checkSealSerialization(bytes, what);
  try {
    target.loadArray(runtime.context, bytes);
  } catch (error) {
    throw new CkksMalformedError(
      `${what} is not a SEAL ciphertext for these parameters (${String(error)}).`,
      {
        cause: error,
      },
    );
  }
  // A fresh update is a two-part ciphertext in NTT form, one level down, at the encoding scale.
  if (
    target.size !== 2 ||
    target.coeffModulusSize !== UPDATE_MODULI ||
    !target.isNttForm ||
    target.scale !== runtime.scale
  ) {
    throw new CkksMalformedError(
      `${what} is not a fresh update ciphertext (size ${target.size}, ${target.coeffModulusSize} moduli, scale 2^${Math.log2(target.scale)}).`,
    );
  }
}
