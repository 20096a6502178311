// The records and messages of secure aggregation (SecAgg, double masking): what a hospital puts on
// the ledger, what it sends its peers through the gateway, and the run settings that bound them.
// The protocol follows Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
// Machine Learning" (CCS 2017), with the key advertisements read from the ledger instead of from
// the server, so a dishonest gateway cannot substitute a key.

/** Secure-aggregation settings a run records on the ledger (`settings.secagg`). */
export interface SecAggSettings {
  /** Shamir threshold t: shares needed to recover a secret; 2 ≤ t ≤ participants. */
  threshold: number;
  /** Each weighted coordinate is clamped to [-range, range] before it is quantised. */
  range: number;
  /** Fixed point: a coordinate x becomes round(x · 2^fractionBits) mod 2^32; range · 2^f < 2^31. */
  fractionBits: number;
  /**
   * S, the public divisor of the weights: a hospital with n samples masks (n / S) · Δ, so the sum
   * over any subset stays inside the range. The sum of the participants' declared sample counts.
   */
  weightScale: number;
  /** Seconds the coordinator waits for shares and for reveals before moving on. */
  phaseSeconds: number;
  /**
   * The fewest hospitals whose updates a round's aggregate may hold (2 ≤ m ≤ participants).
   * Hospitals refuse to mask in a smaller mask set and to reveal for fewer survivors: with two,
   * a gateway colluding with one of them learns the other's update from the sum.
   */
  minSurvivors: number;
}

/** Which run and round a message belongs to: every key derivation and AEAD binds it. */
export interface RoundContext {
  runId: string;
  round: number;
}

/** One hospital's secrets for one round; never leave the hospital except as Shamir shares. */
export interface RoundSecrets {
  /** X25519 secret whose agreements encrypt the Shamir shares exchanged with peers. */
  encryptionSecret: Uint8Array;
  /** X25519 secret whose agreements seed the pairwise masks. */
  maskSecret: Uint8Array;
  /** 32 random bytes seeding the self mask (the second of the double masks). */
  selfMaskSeed: Uint8Array;
}

/** A hospital's public keys for one round, as it records them on the ledger (hex strings). */
export interface KeyAdvertisement {
  mspId: string;
  /** X25519 public key (hex, 32 bytes) that peers encrypt this hospital's shares to. */
  encryptionKey: string;
  /** X25519 public key (hex, 32 bytes) whose agreements seed the pairwise masks. */
  maskKey: string;
  /** SHA-256 (hex) binding the self-mask seed to the round; checked when the seed is recovered. */
  selfMaskCommitment: string;
}

/** One encrypted Shamir share in a bundle: the dealer's shares of both secrets for one peer. */
export interface EncryptedShare {
  /** The recipient's MSP ID. */
  to: string;
  /** AES-256-GCM nonce (hex, 12 bytes). */
  nonce: string;
  /** AES-256-GCM ciphertext with its tag appended (hex). */
  ciphertext: string;
}

/** What a hospital deals in a round: a share of each secret for every recipient, encrypted. */
export interface ShareBundle {
  format: 'fedledger-secagg-shares/1';
  runId: string;
  round: number;
  /** The dealer. */
  from: string;
  threshold: number;
  /** Sorted MSP IDs the dealer dealt to (itself included). */
  recipients: string[];
  shares: EncryptedShare[];
}

/** A dealer's shares as one recipient holds them after decrypting its entry. */
export interface HeldShare {
  dealer: string;
  /** Shamir share of the dealer's mask secret. */
  maskSecretShare: Uint8Array;
  /** Shamir share of the dealer's self-mask seed. */
  selfMaskShare: Uint8Array;
}

/** One revealed share (hex) of a named hospital's secret. */
export interface RevealedShare {
  of: string;
  share: string;
}

/**
 * What a surviving hospital reveals after the update phase: shares of the self-mask seeds of the
 * hospitals whose updates are in, and shares of the mask secrets of those that dropped. Never
 * both for one hospital: that would unmask its update.
 */
export interface Reveal {
  format: 'fedledger-secagg-reveal/1';
  runId: string;
  round: number;
  from: string;
  selfMaskShares: RevealedShare[];
  maskSecretShares: RevealedShare[];
}

/** Why a secure-aggregation step failed. */
export type SecAggErrorCode =
  /** A share bundle or reveal is not well formed. */
  | 'SECAGG_MALFORMED'
  /** A share does not decrypt under the pairwise key: not from the dealer the ledger names. */
  | 'SECAGG_SHARE_UNAUTHENTIC'
  /** Too few valid shares to recover a secret, or the recovered secret fails its commitment. */
  | 'SECAGG_RECOVERY_FAILED'
  /** Settings out of bounds (threshold, range, fraction bits). */
  | 'SECAGG_SETTINGS';
