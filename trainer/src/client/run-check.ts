// The run a hospital trains in, as its own peer records it. The gateway serves the run record
// too, but a hospital takes its rules (model, participants, rounds, sample counts, settings such
// as shared metrics, DP and the norm bound) only from the ledger: a gateway that served others
// could make it train, spend privacy or share metrics by rules nobody agreed to.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord } from '@fedledger/protocol';
import { canonicalJson } from '@fedledger/protocol';
import { RunRecordMismatchError } from './errors';
import type { OwnLedgerView } from './own-ledger';
import { GATEWAY_SOURCE } from './own-ledger';

/** What a hospital trains by: the fields of a run record that never change after CreateRun. */
export const RUN_TERMS = [
  'runId',
  'modelSpecHash',
  'initialModelHash',
  'participants',
  'roundsPlanned',
  'minUpdatesPerRound',
  'strategy',
  'sampleCounts',
  'settings',
  'coordinator',
] as const satisfies readonly (keyof RunRecord)[];

/**
 * The run as `own` records it, after checking that the gateway's copy says the same in every
 * {@link RUN_TERMS} field; without a peer of its own, the gateway's copy, and the source says so.
 * Waits up to `timeoutMs` for a run the own peer has not received yet.
 * @throws {RunRecordMismatchError} naming the fields that differ, or when the own peer never
 * shows the run.
 */
export async function verifiedRunRecord(
  own: OwnLedgerView | undefined,
  timeoutMs: number,
  fromGateway: RunRecord,
): Promise<{ run: RunRecord; source: string }> {
  if (!own) return { run: fromGateway, source: GATEWAY_SOURCE };
  const deadline = Date.now() + timeoutMs;
  let wait = 100;
  let recorded = await own.getRun(fromGateway.runId);
  while (!recorded && Date.now() < deadline) {
    await sleep(wait);
    wait = Math.min(2_000, wait * 2);
    recorded = await own.getRun(fromGateway.runId);
  }
  if (!recorded) {
    throw new RunRecordMismatchError(
      `the gateway serves run ${fromGateway.runId}, but ${own.source} has no such run after ${timeoutMs} ms; refusing to train for it.`,
    );
  }
  const ledger = recorded;
  const differing = RUN_TERMS.filter(
    (field) => canonicalJson(ledger[field] ?? null) !== canonicalJson(fromGateway[field] ?? null),
  );
  if (differing.length > 0) {
    throw new RunRecordMismatchError(
      `the gateway's record of run ${fromGateway.runId} differs from ${own.source} in ${differing.join(', ')}; refusing to train by rules the ledger does not hold.`,
    );
  }
  return { run: ledger, source: own.source };
}
