// A hospital's organisation identity (certificate, key and a Fabric signer over the key), read from
// the identities file the network writes (connection.json) or the dev PKI writes (identities.json).
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { signers } from '@hyperledger/fabric-gateway';
import { IdentityFileError } from './errors';
import type { LedgerExpectation } from './signing-check';
import { SIMULATED_LEDGER } from './signing-check';

/** Signs a digest (already a SHA-256) with ECDSA P-256; returns a DER signature. */
export type DigestSigner = (digest: Uint8Array) => Promise<Uint8Array>;

/** An organisation identity, loaded and ready to authenticate and sign. */
export interface HospitalIdentity {
  /** The identity's name in the file (`hospital1`). */
  name: string;
  mspId: string;
  certPem: string;
  keyPem: string;
  /** The organisation CA's certificate, when the file names one. */
  caCertPem?: string;
  signer: DigestSigner;
  /**
   * The ledger this identity signs for: a Fabric connection.json names its channel and
   * chaincode; a dev identities.json is for the simulated ledger.
   */
  ledger: LedgerExpectation;
}

interface IdentityEntry {
  mspId?: unknown;
  certPath?: unknown;
  keyPath?: unknown;
  caCertPath?: unknown;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new IdentityFileError(`cannot read ${what} ${path}.`, { cause: err });
  }
}

/**
 * Reads identity `name` from an identities file: either a Fabric `connection.json` or the dev
 * PKI's `identities.json` (both have `identities: { name: { mspId, certPath, keyPath, … } }`).
 * Relative paths are taken from the file's folder.
 * @throws {IdentityFileError} when the file, the name or a PEM file is missing or unusable.
 */
export function loadHospitalIdentity(file: string, name: string): HospitalIdentity {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IdentityFileError(`${file}: not a readable JSON identities file.`, { cause: err });
  }
  const identities = (parsed as { identities?: unknown } | null)?.identities;
  const profile = parsed as { channel?: unknown; chaincode?: unknown };
  if (typeof identities !== 'object' || identities === null) {
    throw new IdentityFileError(`${file}: has no "identities" object.`);
  }
  const entry = (identities as Record<string, IdentityEntry | undefined>)[name];
  if (!entry) {
    const known = Object.keys(identities).join(', ');
    throw new IdentityFileError(`${file}: no identity named "${name}" (known: ${known}).`);
  }
  const text = (key: keyof IdentityEntry): string => {
    const value = entry[key];
    if (typeof value !== 'string' || value === '') {
      throw new IdentityFileError(`${file}: identities.${name}.${key} must be a non-empty string.`);
    }
    return value;
  };
  const base = dirname(resolve(file));
  const mspId = text('mspId');
  const certPem = readPem(resolve(base, text('certPath')), `the certificate of ${name}`);
  const keyPath = resolve(base, text('keyPath'));
  const keyPem = readPem(keyPath, `the private key of ${name}`);
  let signer: DigestSigner;
  try {
    signer = signers.newPrivateKeySigner(createPrivateKey(keyPem));
  } catch (err) {
    throw new IdentityFileError(`${keyPath} is not a usable private key for ${name}.`, {
      cause: err,
    });
  }
  const caPath = entry.caCertPath;
  return {
    name,
    mspId,
    certPem,
    keyPem,
    ...(typeof caPath === 'string' && caPath !== ''
      ? { caCertPem: readPem(resolve(base, caPath), `the CA certificate of ${name}`) }
      : {}),
    signer,
    ledger:
      typeof profile.channel === 'string' && typeof profile.chaincode === 'string'
        ? { format: 'fabric', channel: profile.channel, chaincode: profile.chaincode }
        : SIMULATED_LEDGER,
  };
}
