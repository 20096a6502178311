// What a hospital expects of a transaction before it signs it. A hospital signs exactly two kinds
// of ledger transaction, each its own: SubmitUpdate (its update's record) and AdvertiseKeys (its
// secure-aggregation keys for a round). Both call one function with one JSON argument and write
// one record under a key the hospital can compute; this module says, for each, which function,
// argument, key, state key and record type the checks in signing-check.ts must find.
import type { KeysSubmission, SigningFormat, UpdateSubmission } from '@fedledger/protocol';
import {
  SIMULATED_CHANNEL,
  canonicalJson,
  keysKey,
  keysStateKey,
  updateKey,
  updateStateKey,
} from '@fedledger/protocol';

/** The ledger the hospital takes part in, as its own configuration (connection.json) says. */
export interface LedgerExpectation {
  format: SigningFormat;
  channel: string;
  chaincode: string;
}

/** The simulated ledger's proposals (no channel; the contract is fedledger). */
export const SIMULATED_LEDGER: LedgerExpectation = Object.freeze({
  format: 'simulated',
  channel: SIMULATED_CHANNEL,
  chaincode: 'fedledger',
});

/** Who signs, and on which ledger. */
interface SigningParty {
  ledger: LedgerExpectation;
  /** The hospital's own certificate (PEM) and MSP ID. */
  certificatePem: string;
  mspId: string;
}

/** The hospital's own SubmitUpdate (the default when `call` is left out). */
export interface UpdateSigningExpectation extends SigningParty {
  call?: 'SubmitUpdate';
  /** The record its own update calls for: run, round, hash, length, samples, encoding, DP. */
  submission: UpdateSubmission;
}

/** The hospital's own AdvertiseKeys for one secure-aggregation round. */
export interface KeysSigningExpectation extends SigningParty {
  call: 'AdvertiseKeys';
  /** Its own public keys for the round, as it advertised them. */
  submission: KeysSubmission;
}

/** Everything a hospital expects of a transaction it is asked to sign. */
export type SigningExpectation = UpdateSigningExpectation | KeysSigningExpectation;

/** The shape of the one call a signing expectation allows. */
export interface SignedCall {
  fn: 'SubmitUpdate' | 'AdvertiseKeys';
  /** What the chaincode returns: the record's readable key. */
  key: string;
  /** The world-state key of the one record the call writes. */
  stateKey: string;
  /** The `docType` of that record. */
  docType: 'update' | 'secaggKeys';
  /**
   * The argument's exact text, where the hospital requires it byte for byte (its keys: nothing
   * but the canonical JSON of the advertisement it made); undefined: compared field by field.
   */
  argument?: string;
}

/** The call `expect` allows the hospital to sign. */
export function signedCallOf(expect: SigningExpectation): SignedCall {
  const { runId, round, mspId } = expect.submission;
  if (expect.call === 'AdvertiseKeys') {
    return {
      fn: 'AdvertiseKeys',
      key: keysKey(runId, round, mspId),
      stateKey: keysStateKey(runId, round, mspId),
      docType: 'secaggKeys',
      argument: canonicalJson(expect.submission),
    };
  }
  return {
    fn: 'SubmitUpdate',
    key: updateKey(runId, round, mspId),
    stateKey: updateStateKey(runId, round, mspId),
    docType: 'update',
  };
}
