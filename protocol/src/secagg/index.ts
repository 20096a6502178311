// Public API of @fedledger/protocol/secagg: pairwise-masked secure aggregation with double masking,
// after Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning"
// (CCS 2017). Its successor SecAgg+ (Bell et al., "Secure Single-Server Aggregation with
// (Poly)Logarithmic Overhead", CCS 2020) masks along a sparse random graph to scale to thousands of
// clients; a consortium of hospitals is small, so every pair shares a mask here (the complete
// graph), which SecAgg+ reduces to. Every key and mask derivation binds the run, round and parties.
export type * from './types';
export { SecAggError } from '../errors';
export {
  advertise,
  checkAdvertisement,
  newRoundSecrets,
  parseSecrets,
  serializeSecrets,
} from './keys';
export {
  MAX_BUNDLE_BYTES,
  MAX_PARTIES,
  checkShareBundle,
  dealShares,
  decodeShareBundle,
  encodeShareBundle,
  openShare,
} from './shares';
export { dequantise, maskUpdate, quantise } from './masking';
export {
  DEFAULT_FRACTION_BITS,
  DEFAULT_PHASE_SECONDS,
  DEFAULT_RANGE,
  checkRunSecAggSettings,
  checkSettings,
  defaultSecAggSettings,
} from './settings';
export { MAX_REVEAL_BYTES, checkReveal, decodeReveal, encodeReveal, revealShares } from './reveal';
export { MAX_RECOVERY_ATTEMPTS } from './recover';
export { unmaskSum } from './unmask';
