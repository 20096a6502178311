// What makes one ledger-recorded update count: the rules its record and bytes must pass, in
// order, shared by the in-memory and the streaming round decisions.
import type { ExclusionCode, RoundRecord, RunRecord, UpdateRecord } from '@fedledger/protocol';
import { sha256Hex } from '@fedledger/protocol';
import type { EncryptedAggregator } from './encrypted';
import type { CheckedUpdate } from './update-check';
import { UpdateCheckError, checkUpdateBytes } from './update-check';

/**
 * Where a round's update bytes come from, by SHA-256: a `Map` fits, and so does a blob store's
 * reader, called for one update at a time.
 */
export interface UpdateBytes {
  get(sha256: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
}

/** What judging an update needs from a round's input. */
export interface JudgeInput {
  run: RunRecord;
  round: Pick<RoundRecord, 'round'>;
  bytes: UpdateBytes;
  encrypted?: EncryptedAggregator;
}

/** An update that passed every rule, with its bytes and what the check decoded. */
export interface ValidUpdate {
  record: UpdateRecord;
  checked: CheckedUpdate;
  bytes: Uint8Array;
}

/** Orders by MSP ID (the order every decision takes updates in). */
export const byMsp = (a: { mspId: string }, b: { mspId: string }): number =>
  a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : 0;

/**
 * The rules one ledger record and its bytes must pass, in order; the first broken rule names the
 * exclusion. Returns the checked update, or the exclusion's code and detail.
 */
export async function judge(
  input: JudgeInput,
  record: UpdateRecord,
): Promise<ValidUpdate | { code: ExclusionCode; detail: string }> {
  const { run } = input;
  if (record.creator.mspId !== record.mspId) {
    return {
      code: 'CREATOR_MISMATCH',
      detail: `the record names ${record.mspId} but was created by ${record.creator.mspId}`,
    };
  }
  const bytes = await input.bytes.get(record.sha256);
  if (bytes === undefined) {
    return { code: 'BLOB_MISSING', detail: 'no bytes with the recorded SHA-256 were at hand' };
  }
  const actual = sha256Hex(bytes);
  if (actual !== record.sha256) {
    return {
      code: 'HASH_MISMATCH',
      detail: `the bytes hash to ${actual}; the ledger record says ${record.sha256}`,
    };
  }
  if (bytes.byteLength !== record.byteLength) {
    return {
      code: 'LENGTH_MISMATCH',
      detail: `the bytes are ${bytes.byteLength} long; the record says ${record.byteLength}`,
    };
  }
  try {
    const checked = await checkUpdateBytes(
      bytes,
      run,
      input.round.round,
      record.mspId,
      input.encrypted,
    );
    if (checked.container.metadata.sampleCount !== record.sampleCount) {
      return {
        code: 'METADATA_MISMATCH',
        detail: `the container says ${checked.container.metadata.sampleCount} samples; the ledger record says ${record.sampleCount}`,
      };
    }
    if (record.encoding !== checked.container.metadata.encoding) {
      return {
        code: 'METADATA_MISMATCH',
        detail: `the container is ${checked.container.metadata.encoding}; the ledger record says ${record.encoding}`,
      };
    }
    return { record, checked, bytes };
  } catch (err) {
    if (err instanceof UpdateCheckError) return { code: err.code, detail: err.message };
    throw err;
  }
}
