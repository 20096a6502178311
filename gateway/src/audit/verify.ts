// Re-verification of a run from the ledger and bytes the auditor gathers itself: every round is
// decided again with the same rules the coordinator uses (@fedledger/rules) and compared with the
// ledger's close record (included set, each exclusion's code, the aggregate hash), plus the chain
// of custody, each key's history (written once, never overwritten), the models a source serves
// and the stored aggregates. Used by the gateway's /v1/audit routes and by the fedledger-audit CLI
// (with the auditor's own peer and as many byte sources as the auditor has).
import type { AuditTrail, RoundRecord, RoundTrail, RunRecord } from '@fedledger/protocol';
import { roundKey, sha256Hex, updateKey } from '@fedledger/protocol';
import type { EncryptedAggregator, RoundInput } from '@fedledger/rules';
import {
  RoundDecisionError,
  compareWithDecision,
  decideRound,
  explainFedAvgMismatch,
} from '@fedledger/rules';
import type { LedgerClient } from '../ledger/ledger-client';

/**
 * Where the verifier gets bytes from: the gateway's blob store or API, a folder, a hospital's
 * export of what it submitted. None is trusted: the verifier re-hashes everything.
 */
export interface BlobSource {
  /** The bytes named `sha256`, as the source has them (not re-verified: that is our job). */
  get(sha256: string): Promise<Uint8Array | undefined>;
  /** The model the source serves as a round's input, when it serves models per round. */
  roundModel?(runId: string, round: number): Promise<Uint8Array | undefined>;
  /** What the source is, for messages ("the gateway's API", "folder ./h2-export"). */
  readonly name?: string;
}

export interface Problem {
  code: string;
  message: string;
  mspId?: string;
}

export interface RoundVerdict {
  round: number;
  ok: boolean;
  included: string[];
  problems: Problem[];
  /** What could not be re-checked (an exclusion whose bytes nobody supplied); does not fail. */
  unverifiable: Problem[];
}

export interface VerificationReport {
  runId: string;
  ok: boolean;
  ledger: string;
  rounds: RoundVerdict[];
  /** Problems that belong to the run rather than one round. */
  problems: Problem[];
  checkedAt: string;
}

/** Bytes found for a SHA-256: the first source's that hash to it, else the first source's at all. */
interface Found {
  bytes: Uint8Array;
  matches: boolean;
  source: string;
}

export class Verifier {
  private readonly sources: readonly BlobSource[];

  /**
   * @param blobs the byte sources, asked in order; for each SHA-256 the first bytes that hash to
   * it are used, so a source that withholds or alters bytes is overruled by one that has them.
   */
  constructor(
    private readonly ledger: Pick<LedgerClient, 'getAuditTrail' | 'getHistory' | 'label'>,
    blobs: BlobSource | readonly BlobSource[],
    private readonly encrypted?: EncryptedAggregator,
  ) {
    this.sources = Array.isArray(blobs) ? blobs : [blobs as BlobSource];
  }

  async verifyRun(runId: string): Promise<VerificationReport> {
    const trail = await this.ledger.getAuditTrail(runId);
    const report: VerificationReport = {
      runId,
      ok: false,
      ledger: this.ledger.label,
      rounds: [],
      problems: [],
      checkedAt: new Date().toISOString(),
    };
    if (!trail) {
      report.problems.push({ code: 'RUN_NOT_FOUND', message: `the ledger has no run ${runId}` });
      return report;
    }
    const found = new Map<string, Found | undefined>();
    let expectedInput = trail.run.initialModelHash;
    for (const round of trail.rounds) {
      report.rounds.push(await this.verifyRound(trail, round, expectedInput, found));
      expectedInput = round.aggregateHash ?? expectedInput;
    }
    const last = trail.rounds[trail.rounds.length - 1];
    if (trail.run.status === 'completed' && trail.run.finalModelHash !== last?.aggregateHash) {
      report.problems.push({
        code: 'FINAL_MODEL_MISMATCH',
        message: "the run's final model hash is not the last round's aggregate",
      });
    }
    report.ok = report.problems.length === 0 && report.rounds.every((r) => r.ok);
    return report;
  }

  /** Asks every source in order; keeps the first bytes that hash to `sha256`. */
  private async find(
    sha256: string,
    cache: Map<string, Found | undefined>,
  ): Promise<Found | undefined> {
    if (cache.has(sha256)) return cache.get(sha256);
    let fallback: Found | undefined;
    let result: Found | undefined;
    for (const [i, source] of this.sources.entries()) {
      const bytes = await source.get(sha256).catch(() => undefined);
      if (bytes === undefined) continue;
      const name = source.name ?? `source ${i + 1}`;
      if (sha256Hex(bytes) === sha256) {
        result = { bytes, matches: true, source: name };
        break;
      }
      fallback ??= { bytes, matches: false, source: name };
    }
    result ??= fallback;
    cache.set(sha256, result);
    return result;
  }

  private async verifyRound(
    trail: AuditTrail,
    round: RoundTrail,
    expectedInput: string,
    cache: Map<string, Found | undefined>,
  ): Promise<RoundVerdict> {
    const problems: Problem[] = [];
    const unverifiable: Problem[] = [];
    const run = trail.run;
    const runId = run.runId;
    const r = round.round;
    if (round.inputModelHash !== expectedInput) {
      problems.push({
        code: 'CHAIN_OF_CUSTODY',
        message: `round ${r}'s input model ${round.inputModelHash.slice(0, 12)}… is not ${r === 0 ? 'the initial model' : `round ${r - 1}'s aggregate`} ${expectedInput.slice(0, 12)}…`,
      });
    }
    const history = await this.ledger.getHistory(roundKey(runId, r));
    // Open and close; a secure-aggregation round also fixes its mask set and its survivors.
    const allowed = round.secagg ? 4 : 2;
    if (history.length > allowed) {
      problems.push({
        code: 'KEY_REWRITTEN',
        message: `round ${r}'s record was written ${history.length} times (${round.secagg ? 'open, masking, unmasking and close are 4' : 'open and close are 2'})`,
      });
    }
    // The model a source serves for this round must be the ledger's.
    for (const source of this.sources) {
      if (!source.roundModel) continue;
      const served = await source.roundModel(runId, r).catch(() => undefined);
      if (served !== undefined && sha256Hex(served) !== round.inputModelHash) {
        problems.push({
          code: 'SERVED_MODEL_MISMATCH',
          message: `the model served for round ${r} hashes to ${sha256Hex(served).slice(0, 12)}…, not the ledger's ${round.inputModelHash.slice(0, 12)}…`,
        });
      }
    }
    for (const u of round.updates) {
      const writes = await this.ledger.getHistory(updateKey(runId, r, u.mspId));
      if (writes.length !== 1) {
        problems.push({
          code: 'KEY_REWRITTEN',
          mspId: u.mspId,
          message: `round ${r}, update ${u.mspId}: the key has ${writes.length} writes, not 1`,
        });
      }
    }
    if (round.status === 'closed' && round.aggregateHash) {
      const bytes = new Map<string, Uint8Array>();
      const origin = new Map<string, string>();
      for (const u of round.updates) {
        const found = await this.find(u.sha256, cache);
        if (!found) continue;
        bytes.set(u.sha256, found.bytes);
        if (found.matches) origin.set(u.sha256, found.source);
      }
      // Secure aggregation: the reveals the close record names, each found by its hash like
      // an update; the keys from the ledger's trail. Nothing else: the auditor recomputes the
      // unmasked aggregate from ledger-committed material alone.
      const recovery = round.secagg?.recovery ?? [];
      // A hospital that advertised keys but is not in the mask set was left out, by its own
      // lateness or by a gateway saying its bundle never came: reported, not judged.
      const members = new Set(round.secagg?.maskSet.map((e) => e.mspId) ?? []);
      for (const k of round.secagg ? (round.keys ?? []) : []) {
        if (members.has(k.mspId)) continue;
        unverifiable.push({
          code: 'LEFT_OUT_OF_MASK_SET',
          mspId: k.mspId,
          message: `round ${r}: ${k.mspId} advertised keys but is not in the mask set (its share bundle reached no mask set: late, or withheld by the gateway)`,
        });
      }
      for (const entry of recovery) {
        const found = await this.find(entry.sha256, cache);
        if (found?.matches) bytes.set(entry.sha256, found.bytes);
      }
      const input = await this.find(round.inputModelHash, cache);
      if (round.secagg?.abandoned) {
        // Abandoned without an aggregate: right only if the sum cannot be recovered from the
        // reveals the close names, and the round carries its input model over.
        await checkAbandoned(problems, {
          run,
          round,
          records: round.updates,
          bytes,
          ...(input?.matches ? { inputModel: input.bytes } : {}),
          secagg: { keys: round.keys ?? [], reveals: recovery },
        });
        return { round: r, ok: problems.length === 0, included: [], problems, unverifiable };
      }
      try {
        const decision = await decideRound({
          run,
          round,
          records: round.updates,
          bytes,
          ...(input?.matches ? { inputModel: input.bytes } : {}),
          ...(this.encrypted ? { encrypted: this.encrypted } : {}),
          ...(round.secagg ? { secagg: { keys: round.keys ?? [], reveals: recovery } } : {}),
        });
        for (const f of compareWithDecision(round, round.updates, decision, {
          sourceOf: (sha) => origin.get(sha),
        })) {
          const entry: Problem = {
            code: f.code,
            ...(f.mspId ? { mspId: f.mspId } : {}),
            message: f.message,
          };
          if (f.code === 'AGGREGATE_MISMATCH' && input?.matches) {
            const stored = await this.find(round.aggregateHash, cache);
            if (stored?.matches) {
              explainMismatch(entry, run, round, input.bytes, stored.bytes, bytes);
            }
          }
          (f.severity === 'problem' ? problems : unverifiable).push(entry);
        }
      } catch (err) {
        if (!(err instanceof RoundDecisionError)) throw err;
        problems.push(
          err.code === 'INPUT_MODEL_UNAVAILABLE'
            ? {
                code: 'BLOB_MISSING',
                message: `round ${r}: the input model's bytes are missing or altered`,
              }
            : err.code === 'ENCRYPTED_UNSUPPORTED'
              ? { code: 'UNSUPPORTED', message: 'encrypted aggregates need the CKKS module' }
              : { code: 'AGGREGATE_UNVERIFIABLE', message: err.message },
        );
      }
      const stored = await this.find(round.aggregateHash, cache);
      if (!stored?.matches) {
        problems.push({
          code: 'AGGREGATE_ALTERED',
          message: `round ${r}: the stored aggregate model is ${stored ? 'altered' : 'missing'}`,
        });
      }
    }
    return {
      round: r,
      ok: problems.length === 0,
      included: round.included ?? [],
      problems,
      unverifiable,
    };
  }
}

/**
 * Names the organisations a wrong FedAvg aggregate wronged: the weights the ledger's model gives
 * the included updates, where they are not the ledger's sample-count shares.
 */
function explainMismatch(
  entry: Problem,
  run: RunRecord,
  round: RoundTrail,
  inputModel: Uint8Array,
  aggregate: Uint8Array,
  bytes: ReadonlyMap<string, Uint8Array>,
): void {
  const included = round.updates.filter((u) => round.included?.includes(u.mspId));
  const updates = included.flatMap((u) => {
    const b = bytes.get(u.sha256);
    return b ? [{ mspId: u.mspId, sampleCount: u.sampleCount, bytes: b }] : [];
  });
  if (updates.length !== included.length) return;
  const findings = explainFedAvgMismatch(run, inputModel, aggregate, updates);
  if (!findings || findings.length === 0) return;
  const parts = findings.map((f) => {
    const n = included.find((u) => u.mspId === f.mspId)?.sampleCount ?? 0;
    const what = Math.abs(f.fitted) < 1e-3 ? ' (listed as included but left out)' : '';
    return `${f.mspId} at ${f.fitted.toFixed(3)} where its ledger sample count (${n}) gives ${f.expected.toFixed(3)}${what}`;
  });
  // The organisation the aggregate wrongs most is the one the finding names.
  const worst = [...findings].sort(
    (a, b) => Math.abs(b.fitted - b.expected) - Math.abs(a.fitted - a.expected),
  )[0];
  if (worst) entry.mspId = worst.mspId;
  entry.message += `; the ledger's aggregate weighs ${parts.join(', ')}`;
}

/** Checks an abandoned secure-aggregation round: unrecoverable, its input model carried over. */
async function checkAbandoned(problems: Problem[], input: RoundInput): Promise<void> {
  const r = input.round.round;
  const round = input.round as RoundRecord;
  if (round.aggregateHash !== round.inputModelHash || (round.included ?? []).length > 0) {
    problems.push({
      code: 'AGGREGATE_MISMATCH',
      message: `round ${r} is abandoned but does not carry its input model over unchanged`,
    });
  }
  try {
    await decideRound(input);
    problems.push({
      code: 'FALSE_ABANDON',
      message: `round ${r} was abandoned, but its masked sum is recovered from the reveals its close names`,
    });
  } catch (err) {
    if (!(err instanceof RoundDecisionError) || err.code !== 'SECAGG_UNRECOVERABLE') throw err;
  }
}
