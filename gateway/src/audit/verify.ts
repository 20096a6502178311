// Re-verification of a run from the ledger alone: every blob's SHA-256, every aggregate recomputed
// from exactly the included updates with the run's strategy, the chain of custody, each record's
// creator, and each key's history (written once, never overwritten). Used by the gateway's
// /v1/audit routes and by the fedledger-audit CLI (with the auditor's own peer).
import type { AuditTrail, RoundTrail, UpdateRecord } from '@fedledger/protocol';
import { decodeContainer, roundKey, sha256Hex, updateKey } from '@fedledger/protocol';
import { flattenTensors } from '../aggregation';
import { aggregateModel } from '../coordinator/aggregate-model';
import type { EncryptedAggregator } from '../coordinator/encrypted';
import { runSettings } from '../coordinator/run-settings';
import type { LedgerClient } from '../ledger/ledger-client';

/** Where the verifier gets bytes from: the gateway's blob store, a copy, or the gateway's API. */
export interface BlobSource {
  /** The bytes named `sha256`, as the source has them (not re-verified: that is our job). */
  get(sha256: string): Promise<Uint8Array | undefined>;
  /** The model the source serves as a round's input, when it serves models per round. */
  roundModel?(runId: string, round: number): Promise<Uint8Array | undefined>;
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

export class Verifier {
  constructor(
    private readonly ledger: Pick<LedgerClient, 'getAuditTrail' | 'getHistory' | 'label'>,
    private readonly blobs: BlobSource,
    private readonly encrypted?: EncryptedAggregator,
  ) {}

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
    let expectedInput = trail.run.initialModelHash;
    for (const round of trail.rounds) {
      report.rounds.push(await this.verifyRound(trail, round, expectedInput));
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

  private async fetch(sha256: string): Promise<Uint8Array | undefined> {
    try {
      return await this.blobs.get(sha256);
    } catch {
      return undefined;
    }
  }

  private async verifyRound(
    trail: AuditTrail,
    round: RoundTrail,
    expectedInput: string,
  ): Promise<RoundVerdict> {
    const problems: Problem[] = [];
    const runId = trail.run.runId;
    const r = round.round;
    if (round.inputModelHash !== expectedInput) {
      problems.push({
        code: 'CHAIN_OF_CUSTODY',
        message: `round ${r}'s input model ${round.inputModelHash.slice(0, 12)}… is not ${r === 0 ? 'the initial model' : `round ${r - 1}'s aggregate`} ${expectedInput.slice(0, 12)}…`,
      });
    }
    const history = await this.ledger.getHistory(roundKey(runId, r));
    if (history.length > 2) {
      problems.push({
        code: 'KEY_REWRITTEN',
        message: `round ${r}'s record was written ${history.length} times (open and close are 2)`,
      });
    }
    // The model a source serves for this round must be the ledger's.
    if (this.blobs.roundModel) {
      const served = await this.blobs.roundModel(runId, r).catch(() => undefined);
      if (served !== undefined && sha256Hex(served) !== round.inputModelHash) {
        problems.push({
          code: 'SERVED_MODEL_MISMATCH',
          message: `the model served for round ${r} hashes to ${sha256Hex(served).slice(0, 12)}…, not the ledger's ${round.inputModelHash.slice(0, 12)}…`,
        });
      }
    }
    const byMsp = new Map(round.updates.map((u) => [u.mspId, u]));
    const goodBytes = new Map<string, Uint8Array>();
    for (const u of round.updates) {
      const where = `round ${r}, update ${u.mspId}`;
      if (u.creator.mspId !== u.mspId) {
        problems.push({
          code: 'CREATOR_MISMATCH',
          mspId: u.mspId,
          message: `${where}: created by ${u.creator.mspId}`,
        });
      }
      const writes = await this.ledger.getHistory(updateKey(runId, r, u.mspId));
      if (writes.length !== 1) {
        problems.push({
          code: 'KEY_REWRITTEN',
          mspId: u.mspId,
          message: `${where}: the key has ${writes.length} writes, not 1`,
        });
      }
      const bytes = await this.fetch(u.sha256);
      const included = round.included?.includes(u.mspId) ?? false;
      if (bytes === undefined) {
        if (included)
          problems.push({
            code: 'BLOB_MISSING',
            mspId: u.mspId,
            message: `${where}: the update's bytes are not available`,
          });
        continue;
      }
      const actual = sha256Hex(bytes);
      if (actual !== u.sha256) {
        if (included) {
          problems.push({
            code: 'HASH_MISMATCH',
            mspId: u.mspId,
            message: `${where}: the bytes hash to ${actual.slice(0, 12)}…, the ledger says ${u.sha256.slice(0, 12)}…`,
          });
        }
        continue;
      }
      goodBytes.set(u.mspId, bytes);
    }
    if (round.status === 'closed') {
      for (const msp of round.included ?? []) {
        if (!byMsp.has(msp)) {
          problems.push({
            code: 'UNKNOWN_UPDATE',
            mspId: msp,
            message: `round ${r}: ${msp} is included but has no ledger record`,
          });
        }
      }
      if (problems.length === 0 && round.aggregateHash) {
        problems.push(...(await this.checkAggregate(trail, round, byMsp, goodBytes)));
      }
    }
    return { round: r, ok: problems.length === 0, included: round.included ?? [], problems };
  }

  private async checkAggregate(
    trail: AuditTrail,
    round: RoundTrail,
    byMsp: Map<string, UpdateRecord>,
    goodBytes: Map<string, Uint8Array>,
  ): Promise<Problem[]> {
    const run = trail.run;
    const settings = runSettings(run);
    const included = [...(round.included ?? [])].sort();
    const stored = await this.fetch(round.aggregateHash as string);
    let recomputed: string;
    try {
      if (settings.encoding === 'ckks') {
        if (!this.encrypted)
          return [{ code: 'UNSUPPORTED', message: 'encrypted aggregates need the CKKS module' }];
        recomputed = (
          await this.encrypted.aggregate(
            run,
            round.round + 1,
            included.map((msp) => ({
              mspId: msp,
              sampleCount: (byMsp.get(msp) as UpdateRecord).sampleCount,
              bytes: goodBytes.get(msp) as Uint8Array,
            })),
          )
        ).sha256;
      } else {
        const inputBytes = await this.fetch(round.inputModelHash);
        if (!inputBytes || sha256Hex(inputBytes) !== round.inputModelHash) {
          return [
            {
              code: 'BLOB_MISSING',
              message: `round ${round.round}: the input model's bytes are missing or altered`,
            },
          ];
        }
        // Krum-style strategies choose among all valid updates: those included and those
        // excluded only because they were not selected.
        const pool = [...goodBytes.keys()]
          .filter(
            (msp) =>
              included.includes(msp) ||
              (round.excluded ?? []).some(
                (e) => e.mspId === msp && e.reason.startsWith('NOT_SELECTED'),
              ),
          )
          .sort()
          .map((msp) => ({
            mspId: msp,
            sampleCount: (byMsp.get(msp) as UpdateRecord).sampleCount,
            delta: flattenTensors(
              decodeContainer(goodBytes.get(msp) as Uint8Array).tensors,
              settings.modelSpec,
            ),
          }));
        recomputed = aggregateModel(run, round, inputBytes, pool).sha256;
      }
    } catch (err) {
      return [
        {
          code: 'AGGREGATE_UNVERIFIABLE',
          message: `round ${round.round}: ${(err as Error).message}`,
        },
      ];
    }
    const problems: Problem[] = [];
    if (recomputed !== round.aggregateHash) {
      problems.push({
        code: 'AGGREGATE_MISMATCH',
        message: `round ${round.round}: the aggregate of the included updates hashes to ${recomputed.slice(0, 12)}…, the ledger says ${(round.aggregateHash as string).slice(0, 12)}…`,
      });
    }
    if (!stored || sha256Hex(stored) !== round.aggregateHash) {
      problems.push({
        code: 'AGGREGATE_ALTERED',
        message: `round ${round.round}: the stored aggregate model is ${stored ? 'altered' : 'missing'}`,
      });
    }
    return problems;
  }
}
