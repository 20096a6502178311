// bench:secagg's arithmetic of a whole round, per hospital, from measured parts: what secure
// aggregation adds to a hospital's round (its local training, the same either way, plus its own
// client steps and its share of the gateway's work), the ratio the "≤ 2× plaintext" target
// is about, and beside it the computation-only ratio, which compares the cryptography with the
// sub-millisecond plaintext encode-and-sum step and says nothing about a round on its own.
// The ledger side is a count of transactions per round, derived from n, not timed.
import type { SecAggRoundFigures } from './secagg-round';

/** The round-overhead target of the issue: a secure round takes at most this many plaintext ones. */
export const ROUND_OVERHEAD_TARGET = 2;

export interface RoundOverhead {
  hospitals: number;
  /** One hospital's local round (training and its evaluations), the same in both rounds. */
  trainingMs: number;
  /** training + encode the float32 container + (plaintext FedAvg sum) / n. */
  plainRoundMs: number;
  /**
   * training + quantise, deal and mask + encode the masked container + open the shares and reveal
   * + (gateway unmask, everyone surviving) / n.
   */
  secaggRoundMs: number;
  /** secaggRoundMs / plainRoundMs. */
  ratio: number;
  meetsTarget: boolean;
  /** (client mask + gateway unmask) / (encode f32 + FedAvg sum): the cryptography alone. */
  computeRatio: number;
}

/**
 * Per-hospital round times from one simulated secure round's figures and one local round's time.
 * @throws {RangeError} for a training time that is not a non-negative finite number.
 */
export function roundOverhead(f: Readonly<SecAggRoundFigures>, trainingMs: number): RoundOverhead {
  if (!(Number.isFinite(trainingMs) && trainingMs >= 0))
    throw new RangeError(
      `The training time must be a non-negative number of ms, not ${trainingMs}.`,
    );
  const n = f.hospitals;
  const plainRoundMs = trainingMs + f.plainClientMs + f.plainSumMs / n;
  const secaggRoundMs =
    trainingMs + f.clientMaskMs + f.maskedEncodeMs + f.clientOpenRevealMs + f.unmaskMs / n;
  const ratio = secaggRoundMs / plainRoundMs;
  return {
    hospitals: n,
    trainingMs,
    plainRoundMs,
    secaggRoundMs,
    ratio,
    meetsTarget: ratio <= ROUND_OVERHEAD_TARGET,
    computeRatio: (f.clientMaskMs + f.unmaskMs) / (f.plainClientMs + f.plainSumMs),
  };
}

export interface RoundTransactions {
  /** SubmitUpdate ×n, CloseRound, OpenRound (the next round's). */
  plaintext: number;
  /** AdvertiseKeys ×n, each signed by its hospital. */
  addedByHospitals: number;
  /** BeginMasking, BeginUnmasking, by the coordinator. */
  addedByCoordinator: number;
  secagg: number;
}

/**
 * Ledger transactions of one round of n hospitals; share bundles and reveals travel through the
 * gateway, not the ledger.
 * @throws {RangeError} for a hospital count that is not a positive integer.
 */
export function roundTransactions(n: number): RoundTransactions {
  if (!(Number.isSafeInteger(n) && n >= 1))
    throw new RangeError(`The hospital count must be a positive integer, not ${n}.`);
  const plaintext = n + 2;
  return { plaintext, addedByHospitals: n, addedByCoordinator: 2, secagg: plaintext + n + 2 };
}
