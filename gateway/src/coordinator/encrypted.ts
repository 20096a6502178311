// Aggregation of CKKS-encrypted updates: the gateway computes Σ (n_k/n)·Enc(Δ_k) without any key.
import type { RunRecord } from '@fedledger/protocol';

/** One encrypted update, in the order the aggregate is computed (MSP ID order). */
export interface EncryptedInput {
  mspId: string;
  sampleCount: number;
  bytes: Uint8Array;
}

/** Computes the encrypted aggregate container of a round (the next round's input). */
export interface EncryptedAggregator {
  aggregate(
    run: RunRecord,
    nextRound: number,
    inputs: readonly EncryptedInput[],
  ): Promise<{ bytes: Uint8Array; sha256: string }>;
}
