// Arguments of the secure-aggregation transactions: a hospital's key advertisement and the
// coordinator's mask set. Hex keys are checked for shape only; the hospitals check the curve.
import type { AbandonRoundRequest, BeginMaskingRequest, KeysSubmission } from '@fedledger/protocol';
import { hashedByMsp, mspId, roundNumber, runId } from './arguments';
import { ensure } from './rule-error';

type Json = Record<string, unknown>;

const HEX32 = /^[0-9a-f]{64}$/;

function hex32(value: unknown, what: string): string {
  ensure(
    typeof value === 'string' && HEX32.test(value),
    'INVALID_ARGUMENT',
    `${what} must be 32 bytes as 64 lowercase hexadecimal characters`,
  );
  return value;
}

/** The AdvertiseKeys argument: exactly run, round, MSP and the three 32-byte values. */
export function keysSubmission(json: Json): KeysSubmission {
  const fields = ['encryptionKey', 'maskKey', 'mspId', 'round', 'runId', 'selfMaskCommitment'];
  ensure(
    Object.keys(json).sort().join(',') === fields.join(','),
    'INVALID_ARGUMENT',
    `a key advertisement holds exactly ${fields.join(', ')}`,
  );
  return {
    runId: runId(json.runId),
    round: roundNumber(json.round),
    mspId: mspId(json.mspId),
    encryptionKey: hex32(json.encryptionKey, 'encryptionKey'),
    maskKey: hex32(json.maskKey, 'maskKey'),
    selfMaskCommitment: hex32(json.selfMaskCommitment, 'selfMaskCommitment'),
  };
}

/** The BeginMasking argument: the round and its mask set (each MSP once, sorted). */
export function beginMaskingRequest(json: Json): BeginMaskingRequest {
  return {
    runId: runId(json.runId),
    round: roundNumber(json.round),
    maskSet: hashedByMsp(json.maskSet, 'maskSet', 'sharesSha256'),
  };
}

/** The AbandonRound argument: the round and the reveals its sum could not be recovered from. */
export function abandonRoundRequest(json: Json): AbandonRoundRequest {
  return {
    runId: runId(json.runId),
    round: roundNumber(json.round),
    recovery: hashedByMsp(json.recovery ?? [], 'recovery', 'sha256'),
  };
}
