// What the CLI commands share: exit codes, backend start-up, model files, progress lines.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Container, ModelSpec } from '@fedledger/protocol';
import {
  CkksError,
  ContainerError,
  checkTensorsMatchSpec,
  decodeContainer,
  modelSpecHash,
  referenceModelSpec,
  sealContainer,
  validateModelSpec,
} from '@fedledger/protocol';
import { GatewayClientError, HashMismatchError, RunRecordMismatchError } from '../client/errors';
import { UpdatesExcludedError } from '../client/inclusion';
import { ParticipationStoppedError } from '../client/participation';
import { ExportError } from '../client/submitted';
import type { Preprocessing } from '../data/preprocessing';
import {
  BackendError,
  ConfigError,
  DataError,
  KeyStoreError,
  ModelError,
  PrivacyError,
} from '../errors';
import type { BackendName } from '../model/backend';
import { BACKEND_PREFERENCE, selectBackend } from '../model/backend';
import type { ClassificationMetrics } from '../model/metrics';
import type { EpochProgress } from '../training/trainer';
import { UsageError } from './args';

/** Process exit codes of `fedledger-trainer`. */
export const EXIT = {
  /** The command did what it was asked. */
  OK: 0,
  /** `check` only: the ledger shows an update of this hospital excluded from an aggregate. */
  EXCLUDED: 1,
  /** An unexpected failure (a bug or an environment problem); the stack trace is printed. */
  INTERNAL: 1,
  /** Bad command line: unknown command or option, a missing, malformed or out-of-range value. */
  USAGE: 2,
  /** The data (CSV, schema, preprocessing) cannot be used, or export-updates finds nothing to export. */
  DATA: 3,
  /** A model file or model spec is malformed or does not fit the data. */
  MODEL: 4,
  /**
   * Valid privacy settings that cannot be met (no σ up to 10⁴ reaches the target ε), or a
   * privacy-state file that is not an accountant's state. Out-of-range values are USAGE.
   */
  PRIVACY: 5,
  /** A forced TensorFlow.js backend is not available. */
  BACKEND: 6,
  /** A CKKS key file or passphrase is missing or refused, or a ciphertext is (the message says which). */
  KEY: 7,
  /** The gateway refused a request, cannot be reached, or an identity file is unusable. */
  GATEWAY: 8,
  /** Bytes from the gateway do not hash to what the ledger records; nothing was trained on them. */
  INTEGRITY: 9,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM; undelivered updates stay in the outbox. */
  STOPPED: 130,
} as const;

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  // A ConfigError is an option out of range that a library check caught before any work.
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.USAGE;
  if (error instanceof DataError || error instanceof ExportError) return EXIT.DATA;
  if (error instanceof ModelError || error instanceof ContainerError) return EXIT.MODEL;
  if (error instanceof PrivacyError) return EXIT.PRIVACY;
  if (error instanceof BackendError) return EXIT.BACKEND;
  if (error instanceof CkksError || error instanceof KeyStoreError) return EXIT.KEY;
  if (error instanceof HashMismatchError || error instanceof RunRecordMismatchError) {
    return EXIT.INTEGRITY;
  }
  if (error instanceof GatewayClientError) return EXIT.GATEWAY;
  if (error instanceof ParticipationStoppedError) return EXIT.STOPPED;
  if (error instanceof UpdatesExcludedError) return EXIT.EXCLUDED;
  return EXIT.INTERNAL;
}

/** Help line of --engine, shared by the commands that train. */
export const ENGINE_HELP = `--engine auto|fused|tfjs   fused: WebAssembly SIMD for Dense softmax models; tfjs:
                             TensorFlow.js on the backend; auto (default): fused where it
                             applies and no GPU backend is active`;

/** Activates the backend named by `--backend` (default auto) and says which one is in use. */
export async function startBackend(wanted: string | undefined): Promise<BackendName> {
  const name = wanted ?? 'auto';
  if (name !== 'auto' && !(BACKEND_PREFERENCE as readonly string[]).includes(name)) {
    throw new UsageError(
      `--backend must be auto or one of ${BACKEND_PREFERENCE.join(', ')}, not "${name}".`,
    );
  }
  const choice = await selectBackend(name as BackendName | 'auto');
  const skipped = choice.skipped.length > 0 ? ` (skipped ${choice.skipped.join('; ')})` : '';
  console.error(`backend: ${choice.name}${skipped}`);
  return choice.name;
}

/** The model spec from `--spec`, or the reference MLP for the preprocessed data's width. */
export function resolveSpec(specFile: string | undefined, prep: Preprocessing): ModelSpec {
  if (specFile === undefined)
    return referenceModelSpec(prep.featureNames.length, prep.label.classes.length);
  try {
    return validateModelSpec(JSON.parse(readFileSync(specFile, 'utf8')));
  } catch (error) {
    throw new ModelError(`${specFile}: not a usable model spec (${String(error)}).`, {
      cause: error,
    });
  }
}

/** Where `fedledger-trainer run` writes the model spec of a final model file. */
export function specFileBeside(modelFile: string): string {
  return modelFile.replace(/(-final)?\.safetensors$/, '-model-spec.json');
}

/**
 * The model spec for a model file: `--spec` if given, else the `<run>-model-spec.json` that
 * `fedledger-trainer run` writes beside `<run>-final.safetensors`.
 * @throws {ModelError} when neither is a usable model spec.
 */
export function resolveSpecFile(specFile: string | undefined, modelFile: string): ModelSpec {
  const file = specFile ?? specFileBeside(modelFile);
  if (file === modelFile) {
    throw new ModelError(`${modelFile}: name its model spec with --spec.`);
  }
  try {
    return validateModelSpec(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new ModelError(`${file}: not a usable model spec (${String(error)}); pass --spec.`, {
      cause: error,
    });
  }
}

/**
 * Reads a model container and checks it belongs to `spec`; `option` (e.g. `--global`) names where
 * the file was given, for the messages.
 * @throws {ModelError} for a missing file, a file that is not a container, bad bytes or a spec
 * mismatch.
 */
export function readModelFile(file: string, spec: ModelSpec, option?: string): Container {
  const where = option === undefined ? file : `${option} ${file}`;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new ModelError(`${where}: the model file cannot be read.`, { cause: error });
  }
  const notContainer = notAContainerReason(bytes);
  if (notContainer !== undefined) {
    throw new ModelError(
      `${where} is not a fedledger model/update container (safetensors): ${notContainer}.`,
    );
  }
  let container: Container;
  try {
    // A plain Uint8Array copy: protocol's reader takes `.slice()` to copy each tensor, but on a
    // Node Buffer `.slice()` is a view into the whole file, which would misplace every tensor.
    container = decodeContainer(new Uint8Array(bytes));
  } catch (error) {
    if (!(error instanceof ContainerError)) throw error;
    throw new ModelError(
      `${where} is not a usable fedledger model/update container: ${error.message}.`,
      { cause: error },
    );
  }
  if (container.metadata.encoding !== 'float32') {
    throw new ModelError(
      `${file}: encoding "${container.metadata.encoding}" cannot be trained on; float32 is needed.`,
    );
  }
  if (container.metadata.modelSpecHash !== modelSpecHash(spec)) {
    throw new ModelError(
      `${file}: the model was made for another architecture (spec hash ${container.metadata.modelSpecHash}, expected ${modelSpecHash(spec)}); pass its --spec.`,
    );
  }
  try {
    checkTensorsMatchSpec(container.tensors, spec);
  } catch (error) {
    throw new ModelError(`${file}: ${String(error)}`, { cause: error });
  }
  return container;
}

/**
 * Why `bytes` cannot be a safetensors file at all (its first 8 bytes must give the length of a
 * JSON header that follows them), in words; undefined when they could be one.
 */
export function notAContainerReason(bytes: Uint8Array): string | undefined {
  const start = Buffer.from(bytes.subarray(0, 48)).toString('latin1');
  // Printable text with line ends or tabs: what a CSV, JSON or PEM file starts with.
  const text = /^[\x20-\x7e\t\r\n]+$/.test(start);
  const looksLike = text
    ? `it is text, starting "${start.split(/\r?\n/)[0]?.slice(0, 40) ?? ''}"`
    : undefined;
  if (bytes.length < 9) return `it is only ${bytes.length} bytes long`;
  const announced = Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0);
  if (announced > BigInt(bytes.length - 8) || bytes[8] !== 0x7b) {
    return looksLike ?? 'its first 8 bytes do not give the length of a header that follows them';
  }
  return undefined;
}

/** Encodes and writes a container; returns its SHA-256 and size. */
export function writeContainer(
  file: string,
  container: Container,
): { sha256: string; bytes: number } {
  const sealed = sealContainer(container);
  writeFileSync(file, sealed.bytes);
  return { sha256: sealed.sha256, bytes: sealed.bytes.length };
}

/** Prints one progress line per epoch to stderr. */
export function printEpoch(p: EpochProgress): void {
  const v = p.validation
    ? `  val_loss ${p.validation.loss.toFixed(4)}  val_acc ${(p.validation.accuracy * 100).toFixed(2)} %`
    : '';
  console.error(
    `epoch ${p.epoch}/${p.epochs}  loss ${p.trainLoss.toFixed(4)}${v}  ${Math.round(p.samplesPerSecond)} samples/s${p.engine !== undefined ? ` (${p.engine})` : ''}`,
  );
}

/** Prints a dataset's warnings (imputed cells, per column, the first ones named) to stderr. */
export function printDataWarnings(data: { warnings: readonly string[] }): void {
  for (const w of data.warnings) console.error(`warning: ${w}`);
}

/** Prints the warnings a model's predictions call for (a single class, a recall of 0). */
export function printPredictionWarnings(where: string, warnings: readonly string[]): void {
  for (const w of warnings) console.error(`warning: ${where}: ${w}`);
}

/** Metrics with rounded figures, for printing and JSON output. */
export interface MetricsSummary {
  rows: number;
  loss: number;
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  confusion: number[][];
}

/** A metrics summary as a plain object with rounded figures, for JSON output. */
export function metricsSummary(m: ClassificationMetrics): MetricsSummary {
  const r = (x: number): number => Math.round(x * 1e4) / 1e4;
  return {
    rows: m.rows,
    loss: r(m.loss),
    accuracy: r(m.accuracy),
    macroPrecision: r(m.macroPrecision),
    macroRecall: r(m.macroRecall),
    macroF1: r(m.macroF1),
    confusion: m.confusion,
  };
}
