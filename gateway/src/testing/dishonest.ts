// Test support: a DISHONEST coordinator, for tests that check that an auditor catches one. Each
// lie starts from the honest decision and bends it the way a gateway that wants to silence or
// favour one hospital would, keeping the rest consistent (a self-consistent aggregate for its
// story) so that only the auditor's re-decision can give it away. Never used outside tests.
import type { ExclusionCode } from '@fedledger/protocol';
import { decodeContainer } from '@fedledger/protocol';
import type { RoundDecision, RoundInput } from '@fedledger/rules';
import { aggregateModel, decideRound, flattenTensors, runSettings } from '@fedledger/rules';

/** The lies this coordinator can tell about one target hospital's update. */
export type CoordinatorLie =
  /** Exclude a valid update as HASH_MISMATCH (its bytes are fine). */
  | 'false-hash-mismatch'
  /** Exclude a valid update as NORM_EXCEEDED (its norm is within the bound). */
  | 'false-norm-exceeded'
  /** Exclude a valid update as BLOB_MISSING (the test then deletes the gateway's copy). */
  | 'withheld-blob'
  /** Weigh the update by 50× its ledger sample count in FedAvg. */
  | 'inflated-weight'
  /** Leave the update out of the arithmetic but list it as included. */
  | 'left-out-but-listed'
  /** Exclude a valid update as NOT_SELECTED under FedAvg, which selects every valid update. */
  | 'false-not-selected';

export const COORDINATOR_LIES: readonly CoordinatorLie[] = [
  'false-hash-mismatch',
  'false-norm-exceeded',
  'withheld-blob',
  'inflated-weight',
  'left-out-but-listed',
  'false-not-selected',
];

/** A coordinator's decide function that lies about the runs it is told to. */
export interface DishonestDecider {
  decide(input: RoundInput): Promise<RoundDecision>;
  /** From now on, lie about `target`'s update in every round of `runId`. */
  lieAbout(runId: string, lie: CoordinatorLie, target: string): void;
}

function relabel(decision: RoundDecision, target: string, code: ExclusionCode, detail: string) {
  for (const e of decision.excluded) {
    if (e.mspId === target) Object.assign(e, { code, detail });
  }
}

async function decideWithout(input: RoundInput, target: string): Promise<RoundDecision> {
  const record = input.records.find((r) => r.mspId === target);
  const bytes = new Map(input.bytes);
  if (record) bytes.delete(record.sha256);
  return decideRound({ ...input, bytes });
}

async function tell(input: RoundInput, lie: CoordinatorLie, target: string) {
  switch (lie) {
    case 'false-hash-mismatch': {
      const d = await decideWithout(input, target);
      relabel(d, target, 'HASH_MISMATCH', 'the stored bytes no longer hash to the ledger record');
      return d;
    }
    case 'false-norm-exceeded': {
      const d = await decideWithout(input, target);
      relabel(d, target, 'NORM_EXCEEDED', "the update's L2 norm is 14.2; the run's bound is 10");
      return d;
    }
    case 'withheld-blob':
      return decideWithout(input, target);
    case 'false-not-selected': {
      const d = await decideWithout(input, target);
      relabel(d, target, 'NOT_SELECTED', `${input.run.strategy} did not select this update`);
      return d;
    }
    case 'left-out-but-listed': {
      const d = await decideWithout(input, target);
      d.excluded = d.excluded.filter((e) => e.mspId !== target);
      d.included = [...d.included, target].sort();
      return d;
    }
    case 'inflated-weight': {
      const d = await decideRound(input);
      const spec = runSettings(input.run).modelSpec;
      const updates = input.records
        .filter((r) => d.included.includes(r.mspId))
        .map((r) => ({
          mspId: r.mspId,
          sampleCount: r.mspId === target ? r.sampleCount * 50 : r.sampleCount,
          delta: flattenTensors(
            decodeContainer(input.bytes.get(r.sha256) as Uint8Array).tensors,
            spec,
          ),
        }));
      const model = aggregateModel(input.run, input.round, input.inputModel as Uint8Array, updates);
      d.aggregate = { bytes: model.bytes, sha256: model.sha256 };
      return d;
    }
  }
}

/** A decide function that is honest except where told to lie. */
export function newDishonestDecider(): DishonestDecider {
  const plans = new Map<string, { lie: CoordinatorLie; target: string }>();
  return {
    async decide(input) {
      const plan = plans.get(input.run.runId);
      if (!plan || !input.records.some((r) => r.mspId === plan.target)) return decideRound(input);
      return tell(input, plan.lie, plan.target);
    },
    lieAbout(runId, lie, target) {
      plans.set(runId, { lie, target });
    },
  };
}
