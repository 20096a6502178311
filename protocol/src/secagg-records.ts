// Ledger records of secure-aggregation runs: each hospital's key advertisement for a round (a
// transaction the hospital signs itself), and the phases the coordinator moves a round through
// (the mask set fixed, then the survivors fixed), so every party reads the same sets from its own
// peer and no honest hospital is ever led to reveal both secrets of one peer.
import type { CreatorRef } from './ledger';
import type { KeyAdvertisement } from './secagg/types';

/** What a hospital submits to advertise its keys for a round (the AdvertiseKeys argument). */
export interface KeysSubmission extends KeyAdvertisement {
  runId: string;
  round: number;
}

/** A key advertisement as the ledger holds it. */
export interface KeysRecord extends KeysSubmission {
  docType: 'secaggKeys';
  key: string;
  creator: CreatorRef;
  txId: string;
  timestamp: string;
}

/** A hospital in a round's mask set, with the SHA-256 of the share bundle it dealt. */
export interface MaskSetEntry {
  mspId: string;
  sharesSha256: string;
}

/** A surviving hospital's revealed shares, stored as a blob, named by the close record. */
export interface RecoveryEntry {
  mspId: string;
  sha256: string;
}

/** Where a secure-aggregation round stands (RoundRecord.secagg); absent while keys are collected. */
export interface SecAggRoundState {
  /** masking: the mask set is fixed, updates are accepted; unmasking: the survivors are fixed. */
  phase: 'masking' | 'unmasking';
  /** The hospitals that dealt shares to each other, sorted by MSP ID: U1 of the protocol. */
  maskSet: MaskSetEntry[];
  maskingAt: string;
  /** The hospitals with an update when the round left the masking phase, sorted: U2. */
  survivors?: string[];
  unmaskingAt?: string;
  /** The reveals the round's aggregate was recovered with (set when the round closes). */
  recovery?: RecoveryEntry[];
  /** True when the round was abandoned: its sum could not be recovered from `recovery`. */
  abandoned?: boolean;
}

/** The coordinator's AbandonRound argument: the reveals the sum could not be recovered from. */
export interface AbandonRoundRequest {
  runId: string;
  round: number;
  recovery: RecoveryEntry[];
}

/** The coordinator's BeginMasking argument. */
export interface BeginMaskingRequest {
  runId: string;
  round: number;
  maskSet: MaskSetEntry[];
}

/** Readable ledger key of a key advertisement: `secagg-keys/<runId>/<round>/<mspId>`. */
export function keysKey(runId: string, round: number, mspId: string): string {
  return `secagg-keys/${runId}/${round}/${mspId}`;
}

/** World-state key of a key advertisement (Fabric composite key, object type `fl.keys`). */
export function keysStateKey(runId: string, round: number, mspId: string): string {
  return `\u0000fl.keys\u0000${runId}\u0000${String(round).padStart(6, '0')}\u0000${mspId}\u0000`;
}
