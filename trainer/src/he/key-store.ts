// The run's CKKS secret key on the hospital's disk: a passphrase-protected key file, written with
// owner-only permissions, and the passphrase taken from a file or the environment, never argv.
import { readFileSync, writeFileSync } from 'node:fs';
import type { CkksParams, OpenedKeyFile } from '@fedledger/protocol/ckks';
import {
  CKKS_PARAMS,
  generateSecretKey,
  readKeyFile,
  secretKeyFingerprint,
  writeKeyFile,
} from '@fedledger/protocol/ckks';
import { KeyStoreError } from '../errors';

/** The environment variable holding the local key file's passphrase. */
export const PASSPHRASE_ENV = 'FEDLEDGER_KEY_PASSPHRASE';

/**
 * The passphrase from `file` (first line), else from the environment variable `envName`.
 * @throws {KeyStoreError} when neither gives one.
 */
export function resolvePassphrase(
  file: string | undefined,
  envName: string = PASSPHRASE_ENV,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new KeyStoreError(`The passphrase file ${file} cannot be read.`, { cause: error });
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line.length === 0) throw new KeyStoreError(`The passphrase file ${file} is empty.`);
    return line;
  }
  const value = env[envName];
  if (value === undefined || value.length === 0) {
    throw new KeyStoreError(`No passphrase: set ${envName} or pass a passphrase file.`);
  }
  return value;
}

/**
 * Opens a key file from disk.
 * @throws {KeyStoreError} when it cannot be read; {CkksError} when it does not open.
 */
export async function openKeyFile(
  file: string,
  passphrase: string,
  params: Readonly<CkksParams> = CKKS_PARAMS,
): Promise<OpenedKeyFile> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyStoreError(`The key file ${file} cannot be read.`, { cause: error });
  }
  return readKeyFile(text, passphrase, params);
}

/** Writes a key file readable by its owner only; refuses to overwrite unless `overwrite`. */
export async function saveKeyFile(
  file: string,
  content: { runId: string; secretKey: Uint8Array; passphrase: string },
  overwrite = false,
  params: Readonly<CkksParams> = CKKS_PARAMS,
): Promise<void> {
  const text = await writeKeyFile({ params, ...content });
  try {
    writeFileSync(file, text, { mode: 0o600, flag: overwrite ? 'w' : 'wx' });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new KeyStoreError(
      exists
        ? `${file} already exists; pass --force to replace it.`
        : `The key file ${file} cannot be written.`,
      { cause: error },
    );
  }
}

/** Generates a run's secret key and saves it; returns the key's public fingerprint. */
export async function createKeyFile(
  file: string,
  runId: string,
  passphrase: string,
  overwrite = false,
  params: Readonly<CkksParams> = CKKS_PARAMS,
): Promise<string> {
  const secretKey = await generateSecretKey(params);
  await saveKeyFile(file, { runId, secretKey, passphrase }, overwrite, params);
  return secretKeyFingerprint(params, secretKey);
}

/** What {@link checkRunKey} checks a key against: the run's ledger record. */
export interface RunKeyExpectation {
  runId: string;
  /** The key fingerprint the run records on the ledger. */
  keyFingerprint: string;
}

/**
 * The secret key for an encrypted run, from this hospital's opened key file, once it is checked
 * to be the key the run records.
 * @throws {KeyStoreError} when no key file was given, or it holds another key; the message says
 * what to pass instead.
 */
export function checkRunKey(
  key: { file: string; opened: OpenedKeyFile } | undefined,
  run: Readonly<RunKeyExpectation>,
): Uint8Array {
  if (key === undefined) {
    throw new KeyStoreError(
      `run ${run.runId} is encrypted (CKKS, key ${run.keyFingerprint} on the ledger): pass --key-file FILE, this hospital's copy of the run's key (fedledger-trainer keys init, or keys import of the copy another hospital exported), with its passphrase in --passphrase-file FILE or $${PASSPHRASE_ENV}.`,
    );
  }
  const { file, opened } = key;
  if (opened.fingerprint !== run.keyFingerprint) {
    throw new KeyStoreError(
      `the key file ${file} holds key ${opened.fingerprint} (made for run ${opened.runId}), but run ${run.runId} records key ${run.keyFingerprint} on the ledger: it is not this run's key. Pass --key-file with the run's key (keys import the copy its holder exported; keys fingerprint shows the key a file holds).`,
    );
  }
  return opened.secretKey;
}
