// How the report states each federated arm's protection: the name of each mode (plaintext, secure
// aggregation, CKKS), what it means, and the modes an experiment's arms ran in.
import type { Protection } from './cells';
import { PROTECTION_MODES, armLabel, armProtection } from './cells';
import type { ArmSummary } from './results-report';

/** How each protection mode's hospitals send their updates, as the report names it. */
export const PROTECTION_NAMES: Readonly<Record<Protection, string>> = {
  plaintext: 'plaintext',
  secagg: 'secure aggregation (masked)',
  ckks: 'CKKS (encrypted)',
};

/** What each protection mode means, for results.md. */
const PROTECTION_NOTES: Readonly<Record<Protection, string>> = {
  plaintext:
    'the hospitals submit float32 updates (DP-noised in the DP arms); the gateway reads each one and aggregates it (FedAvg).',
  secagg:
    "(Bonawitz et al., CCS 2017) each hospital's update (DP-noised in the DP arms) is weighted, quantised and masked; the gateway holds only masked updates and recovers their weighted sum from the survivors' revealed shares. Keys are signed on the ledger.",
  ckks: '(node-seal) each update (DP-noised first in the DP arms) is encrypted under one key made for the cell, which the hospitals hold and the run records only by its fingerprint; the gateway sums ciphertexts it cannot read, and the models are decrypted to be evaluated.',
};

/** The protection modes among `summaries`' federated arms, in PROTECTION_MODES order. */
export function modesOf(summaries: readonly ArmSummary[]): Protection[] {
  const present = new Set(
    summaries.filter((s) => s.arm.kind !== 'centralised').map((s) => armProtection(s.arm)),
  );
  return PROTECTION_MODES.filter((m) => present.has(m));
}

/**
 * results.md's lines on how each federated arm's hospitals protected their updates: the mode of
 * each arm (its label names it unless plaintext) and what each mode present means.
 */
export function protectionSection(summaries: readonly ArmSummary[]): string[] {
  const modes = modesOf(summaries);
  if (modes.length === 0) return [];
  return [
    '## Protection of the updates',
    '',
    ...modes.map((mode) => {
      const arms = summaries
        .filter((s) => s.arm.kind !== 'centralised' && armProtection(s.arm) === mode)
        .map((s) => armLabel(s.arm));
      return `- **${PROTECTION_NAMES[mode]}** (${arms.join(', ')}): ${PROTECTION_NOTES[mode]}`;
    }),
    '',
    'Every federated run, in every mode, is verified round by round from the ledger; the ledger table says how many were.',
    '',
  ];
}
