// Test support: a DISHONEST gateway, for tests that check that the honest side catches it. As a
// coordinator, each lie starts from the honest decision and bends it the way a gateway that wants
// to silence or favour one hospital would, keeping the rest consistent (a self-consistent
// aggregate for its story) so that only the auditor's re-decision can give it away. Towards a
// hospital, it asks for signatures on something other than the hospital's own SubmitUpdate, or
// reports a commit that never happened. Never used outside tests.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { common, gateway as fabricGateway, ledger, peer } from '@hyperledger/fabric-protos';
import type { ExclusionCode, SigningFormat, SimulatedTransaction } from '@fedledger/protocol';
import { canonicalJson, decodeContainer, updateStateKey } from '@fedledger/protocol';
import type { RoundDecision, RoundInput } from '@fedledger/rules';
import { aggregateModel, decideRound, flattenTensors, runSettings } from '@fedledger/rules';
import type { LedgerClient } from '../ledger/ledger-client';

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
  const bytes = {
    get: (sha256: string) => (sha256 === record?.sha256 ? undefined : input.bytes.get(sha256)),
  };
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
      const updates = [];
      for (const r of input.records.filter((r) => d.included.includes(r.mspId))) {
        updates.push({
          mspId: r.mspId,
          sampleCount: r.mspId === target ? r.sampleCount * 50 : r.sampleCount,
          delta: flattenTensors(
            decodeContainer((await input.bytes.get(r.sha256)) as Uint8Array).tensors,
            spec,
          ),
        });
      }
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

/** What a dishonest gateway can ask a hospital to sign instead of its own SubmitUpdate. */
export type SigningLie =
  /** A SubmitUpdate recording another SHA-256. */
  | 'other-hash'
  /** A SubmitUpdate for another round. */
  | 'other-round'
  /** Another function altogether: CreateRun, which would make the hospital a coordinator. */
  | 'create-run'
  /** The genuine proposal, then a transaction whose write set writes another key. */
  | 'other-write'
  /** Reports a commit that never happened (the transaction is never submitted). */
  | 'fake-commit';

export const SIGNING_LIES: readonly SigningLie[] = [
  'other-hash',
  'other-round',
  'create-run',
  'other-write',
  'fake-commit',
];

/** Rewrites the first write's key in an endorsed transaction (Fabric protobuf or simulated JSON). */
function rewriteWriteKey(format: SigningFormat, bytes: Uint8Array, key: string): Uint8Array {
  if (format === 'simulated') {
    const t = JSON.parse(Buffer.from(bytes).toString('utf8')) as SimulatedTransaction;
    const first = t.writes[0];
    if (first) first.key = key;
    return new Uint8Array(Buffer.from(canonicalJson(t), 'utf8'));
  }
  const prepared = fabricGateway.PreparedTransaction.deserializeBinary(bytes);
  const envelope = prepared.getEnvelope() as common.Envelope;
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = tx.getActionsList()[0] as peer.TransactionAction;
  const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const endorsed = cap.getAction() as peer.ChaincodeEndorsedAction;
  const prp = peer.ProposalResponsePayload.deserializeBinary(
    endorsed.getProposalResponsePayload_asU8(),
  );
  const ca = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
  const rwset = ledger.rwset.TxReadWriteSet.deserializeBinary(ca.getResults_asU8());
  for (const ns of rwset.getNsRwsetList()) {
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    const write = kv.getWritesList()[0];
    if (!write) continue;
    write.setKey(key);
    ns.setRwset(kv.serializeBinary());
    break;
  }
  ca.setResults(rwset.serializeBinary());
  prp.setExtension$(ca.serializeBinary());
  endorsed.setProposalResponsePayload(prp.serializeBinary());
  cap.setAction(endorsed);
  action.setPayload(cap.serializeBinary());
  payload.setData(tx.serializeBinary());
  envelope.setPayload(payload.serializeBinary());
  prepared.setEnvelope(envelope);
  return prepared.serializeBinary();
}

/** The digest a hospital signs for an endorsed transaction. */
function transactionDigest(format: SigningFormat, bytes: Uint8Array): Uint8Array {
  const signed =
    format === 'simulated'
      ? bytes
      : (fabricGateway.PreparedTransaction.deserializeBinary(bytes)
          .getEnvelope()
          ?.getPayload_asU8() ?? new Uint8Array());
  return new Uint8Array(createHash('sha256').update(signed).digest());
}

/**
 * A ledger client for a gateway that lies to hospitals about what they sign: its newSubmission
 * prepares something other than the hospital's SubmitUpdate while `lie()` names a lie. Tests only.
 */
export function withSigningLie(
  inner: LedgerClient,
  lie: () => SigningLie | undefined,
): LedgerClient {
  const other = '0'.repeat(64);
  const liar = Object.create(inner) as LedgerClient;
  liar.newSubmission = async (submitter, submission) => {
    switch (lie()) {
      case undefined:
        return inner.newSubmission(submitter, submission);
      case 'other-hash':
        return inner.newSubmission(submitter, { ...submission, sha256: other });
      case 'other-round':
        return inner.newSubmission(submitter, { ...submission, round: submission.round + 1 });
      case 'create-run':
        return inner.newOfflineTransaction(submitter, 'CreateRun', [
          canonicalJson({ runId: `${submission.runId}-mine`, participants: [submitter.mspId] }),
        ]);
      case 'other-write': {
        const genuine = await inner.newSubmission(submitter, submission);
        const key = updateStateKey(submission.runId, submission.round + 1, submission.mspId);
        return {
          ...genuine,
          async endorse(signature) {
            const endorsed = await genuine.endorse(signature);
            const bytes = rewriteWriteKey(genuine.format, endorsed.bytes, key);
            return { bytes, digest: transactionDigest(genuine.format, bytes) };
          },
        };
      }
      case 'fake-commit': {
        const genuine = await inner.newSubmission(submitter, submission);
        return {
          ...genuine,
          // The hospital's signed transaction is dropped; a commit is reported anyway.
          submit: () => Promise.resolve({ txId: genuine.txId, blockNumber: 9999, status: 'VALID' }),
        };
      }
    }
  };
  return liar;
}

/** The shape of a client transport (the trainer's GatewayTransport), as far as a liar needs it. */
export interface TransportLike<
  Req extends { path: string },
  Rep extends { headers: IncomingHttpHeaders; body: Uint8Array },
> {
  send(req: Req): Promise<Rep>;
  close(): void;
}

/**
 * A gateway that serves `forged` as a round's model, with an X-Model-SHA256 and an
 * X-Ledger-Record that agree with the forgery: only a ledger view of the hospital's own catches it.
 */
export function withForgedRoundModel<
  Req extends { path: string },
  Rep extends { headers: IncomingHttpHeaders; body: Uint8Array },
>(honest: TransportLike<Req, Rep>, round: number, forged: Uint8Array): TransportLike<Req, Rep> {
  const sha256 = createHash('sha256').update(forged).digest('hex');
  return {
    async send(req) {
      const reply = await honest.send(req);
      if (!req.path.endsWith(`/rounds/${round}/model`)) return reply;
      const record = JSON.parse(
        Buffer.from(String(reply.headers['x-ledger-record']), 'base64').toString('utf8'),
      ) as { inputModelHash: string };
      record.inputModelHash = sha256;
      return {
        ...reply,
        body: forged,
        headers: {
          ...reply.headers,
          'x-model-sha256': sha256,
          'x-ledger-record': Buffer.from(JSON.stringify(record)).toString('base64'),
        },
      };
    },
    close: () => honest.close(),
  };
}
