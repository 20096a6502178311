// Test support: a ledger whose writes fail while an outage lasts, as Fabric's do when too many
// orderers are down for consensus (the peers still answer queries).
import { LedgerUnavailableError } from '../errors';
import type { LedgerClient } from '../ledger/ledger-client';

/** The writes an outage can stop. */
export type OutageStep = 'createRun' | 'openRound' | 'closeRound' | 'submitUpdate';

/** Which writes fail now; empty: the ledger works. */
export interface Outage {
  steps: Set<OutageStep>;
  /** How many writes the outage refused, per step. */
  refused: Map<OutageStep, number>;
}

export function newOutage(): Outage {
  return { steps: new Set(), refused: new Map() };
}

function refuse(outage: Outage, step: OutageStep): void {
  if (!outage.steps.has(step)) return;
  outage.refused.set(step, (outage.refused.get(step) ?? 0) + 1);
  throw new LedgerUnavailableError(
    'FL_ERR_LEDGER_UNAVAILABLE',
    `${step}: no ordering service quorum (test outage)`,
  );
}

/** `inner`, with the writes `outage.steps` names failing as an unreachable ordering service. */
export function withOutage(inner: LedgerClient, outage: Outage): LedgerClient {
  const faulty = Object.create(inner) as LedgerClient;
  faulty.createRun = (config) => {
    refuse(outage, 'createRun');
    return inner.createRun(config);
  };
  faulty.openRound = (runId, round, input) => {
    refuse(outage, 'openRound');
    return inner.openRound(runId, round, input);
  };
  faulty.closeRound = (request) => {
    refuse(outage, 'closeRound');
    return inner.closeRound(request);
  };
  faulty.newSubmission = async (submitter, submission) => {
    const genuine = await inner.newSubmission(submitter, submission);
    return {
      ...genuine,
      submit(signature: Uint8Array) {
        refuse(outage, 'submitUpdate');
        return genuine.submit(signature);
      },
    };
  };
  return faulty;
}
