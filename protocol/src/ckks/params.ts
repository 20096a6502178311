// The CKKS parameter set of fedledger runs, as recorded in a run's config, and its hash.
import { canonicalJson } from '../canonical-json';
import { CkksParamsMismatchError } from '../errors';
import { sha256Hex } from '../hash';

/** CKKS encryption parameters as written into a run's config (JSON). */
export interface CkksParams {
  scheme: 'ckks';
  /** Ring dimension N; a ciphertext holds N/2 values. */
  polyModulusDegree: number;
  /** Bit sizes of the coefficient modulus primes; the last one is the special (key-switching) prime. */
  coeffModulusBits: number[];
  /** log2 of the encoding scale. */
  scaleBits: number;
  /** Security level the parameters must reach, by the homomorphic encryption standard's tables. */
  security: 'tc128';
}

/**
 * The one parameter set fedledger accepts: N = 8192, primes of 60, 40, 40 and 60 bits, scale 2^40,
 * 128-bit security. One 40-bit level is consumed by the weighting in the aggregate.
 */
export const CKKS_PARAMS: Readonly<CkksParams> = Object.freeze({
  scheme: 'ckks',
  polyModulusDegree: 8192,
  coeffModulusBits: Object.freeze([60, 40, 40, 60]) as number[],
  scaleBits: 40,
  security: 'tc128',
});

/** Values packed into one ciphertext (N/2 slots). */
export function slotCount(params: Readonly<CkksParams>): number {
  return params.polyModulusDegree / 2;
}

/** SHA-256 of the parameters' canonical JSON: written into every encrypted container. */
export function ckksParamsHash(params: Readonly<CkksParams>): string {
  return sha256Hex(Buffer.from(canonicalJson(params), 'utf8'));
}

/** The hash of {@link CKKS_PARAMS}. */
export const CKKS_PARAMS_HASH = ckksParamsHash(CKKS_PARAMS);

/**
 * Checks that `value` is exactly the accepted parameter set and returns it typed.
 * @throws {CkksParamsMismatchError} naming the parameters received.
 */
export function checkParams(value: unknown): CkksParams {
  let hash: string | undefined;
  try {
    hash = ckksParamsHash(value as CkksParams);
  } catch {
    hash = undefined;
  }
  if (hash !== CKKS_PARAMS_HASH || !isParamsShape(value)) {
    throw new CkksParamsMismatchError(
      `CKKS parameters ${safeJson(value)} are not supported; use ${canonicalJson(CKKS_PARAMS)}.`,
    );
  }
  return value;
}

function isParamsShape(value: unknown): value is CkksParams {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return String(value);
  }
}
