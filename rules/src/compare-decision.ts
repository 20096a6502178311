// An auditor's comparison of a closed round on the ledger with the decision the rules give on the
// auditor's own bytes: the included set, every exclusion's code, and the aggregate hash. Any
// difference is a finding that names the round, the organisation and the rule; an exclusion whose
// bytes nobody supplied cannot be re-checked and is reported as unverifiable, not as passing.
import type { ExcludedUpdate, RoundRecord, UpdateRecord } from '@fedledger/protocol';
import { exclusionKind } from '@fedledger/protocol';
import type { RoundDecision } from './decide-round';

/** What a comparison can find. */
export type FindingCode =
  /** Excluded on the ledger, yet the auditor's bytes pass every rule. */
  | 'FALSE_EXCLUSION'
  /** Excluded on the ledger for one rule; the auditor's bytes break another. */
  | 'EXCLUSION_CODE_MISMATCH'
  /** Included on the ledger, yet the auditor's bytes break a rule. */
  | 'INVALID_INCLUDED'
  /** Included on the ledger, but no bytes that hash to its record were at hand. */
  | 'BLOB_MISSING'
  | 'HASH_MISMATCH'
  /** The strategy selects other updates than the ledger says. */
  | 'SELECTION_MISMATCH'
  /** The close record names an update that is not recorded in the round. */
  | 'UNKNOWN_UPDATE'
  /** An update recorded in the round is neither included nor excluded. */
  | 'UNACCOUNTED_UPDATE'
  /** The aggregate of the included updates is not the ledger's aggregate. */
  | 'AGGREGATE_MISMATCH'
  /** The included updates do not reach the run's quorum by the rules. */
  | 'QUORUM_NOT_MET'
  /** An exclusion that cannot be re-checked: nobody supplied bytes that hash to its record. */
  | 'UNVERIFIABLE_EXCLUSION';

/** One difference between the ledger's close record and the rules' decision. */
export interface RoundFinding {
  code: FindingCode;
  /** `problem` fails verification; `unverifiable` is reported without failing it. */
  severity: 'problem' | 'unverifiable';
  mspId?: string;
  message: string;
}

/** Options of {@link compareWithDecision}. */
export interface CompareOptions {
  /** Names where the bytes of `sha256` came from, for messages ("Hospital2's export"). */
  sourceOf?: (sha256: string) => string | undefined;
}

const short = (sha256: string): string => `${sha256.slice(0, 12)}…`;

/**
 * Compares a closed round's ledger record with `decision` (from {@link decideRound} on the
 * auditor's bytes for the same records). Returns every finding; none means the round holds.
 */
export function compareWithDecision(
  round: Pick<RoundRecord, 'round' | 'included' | 'excluded' | 'aggregateHash'>,
  records: readonly UpdateRecord[],
  decision: RoundDecision,
  options: CompareOptions = {},
): RoundFinding[] {
  const r = round.round;
  const findings: RoundFinding[] = [];
  const problem = (code: FindingCode, mspId: string | undefined, message: string): void => {
    findings.push({ code, severity: 'problem', ...(mspId ? { mspId } : {}), message });
  };
  const recorded = new Map(records.map((u) => [u.mspId, u]));
  const ledgerIncluded = new Set(round.included ?? []);
  const ledgerExcluded = new Map<string, ExcludedUpdate>();
  for (const e of round.excluded ?? []) if (e.onLedger) ledgerExcluded.set(e.mspId, e);
  const mine = new Map(decision.excluded.filter((e) => e.onLedger).map((e) => [e.mspId, e]));
  const from = (sha256: string): string => {
    const source = options.sourceOf?.(sha256);
    return source ? ` (bytes from ${source})` : '';
  };

  for (const msp of ledgerIncluded) {
    if (!recorded.has(msp)) {
      problem('UNKNOWN_UPDATE', msp, `round ${r}: ${msp} is included but has no ledger record`);
    }
  }
  for (const e of round.excluded ?? []) {
    if (!e.onLedger && recorded.has(e.mspId)) {
      problem(
        'UNKNOWN_UPDATE',
        e.mspId,
        `round ${r}: ${e.mspId} is listed as never recorded, yet its update is recorded in the round`,
      );
    }
  }
  for (const [msp, e] of ledgerExcluded) {
    if (recorded.get(msp)?.sha256 !== e.sha256) {
      problem(
        'UNKNOWN_UPDATE',
        msp,
        `round ${r}: the excluded update ${msp} ${short(e.sha256)} is not recorded in the round`,
      );
    }
  }

  for (const record of [...recorded.values()].sort((a, b) => (a.mspId < b.mspId ? -1 : 1))) {
    const msp = record.mspId;
    const where = `round ${r}, update ${msp}`;
    const theirs = ledgerExcluded.get(msp);
    const ours = mine.get(msp);
    if (ledgerIncluded.has(msp)) {
      if (!ours) continue;
      const kind = exclusionKind(ours.code);
      if (kind === 'availability') {
        const code = ours.code === 'HASH_MISMATCH' ? 'HASH_MISMATCH' : 'BLOB_MISSING';
        problem(
          code,
          msp,
          code === 'HASH_MISMATCH'
            ? `${where}: ${ours.detail} (the update is included)`
            : `${where}: the update's bytes are not available (the update is included)`,
        );
      } else if (kind === 'selection') {
        problem(
          'SELECTION_MISMATCH',
          msp,
          `${where}: included, but the run's strategy does not select it`,
        );
      } else {
        problem(
          'INVALID_INCLUDED',
          msp,
          `${where}: included, but it breaks rule ${ours.code}: ${ours.detail}${from(record.sha256)}`,
        );
      }
      continue;
    }
    if (!theirs) {
      problem('UNACCOUNTED_UPDATE', msp, `${where}: recorded but neither included nor excluded`);
      continue;
    }
    const theirKind = exclusionKind(theirs.code);
    if (!ours || exclusionKind(ours.code) === 'selection') {
      // The auditor's bytes pass every rule.
      if (theirKind === 'selection') {
        if (!ours) {
          problem(
            'SELECTION_MISMATCH',
            msp,
            `${where}: excluded as NOT_SELECTED, but the run's strategy selects it`,
          );
        }
        continue;
      }
      problem(
        'FALSE_EXCLUSION',
        msp,
        `${where}: excluded as ${theirs.code} ("${theirs.detail}"), but bytes that hash to its ledger record pass every rule of the run${from(record.sha256)}`,
      );
      continue;
    }
    const ourKind = exclusionKind(ours.code);
    if (ourKind === 'availability') {
      findings.push({
        code: 'UNVERIFIABLE_EXCLUSION',
        severity: 'unverifiable',
        mspId: msp,
        message: `${where}: excluded as ${theirs.code}; unverifiable: bytes withheld (no source supplied bytes that hash to its ledger record; the hospital can export its copy with fedledger-trainer export-updates)`,
      });
      continue;
    }
    if (theirKind === 'selection') {
      problem(
        'SELECTION_MISMATCH',
        msp,
        `${where}: excluded as NOT_SELECTED, but it breaks rule ${ours.code}: ${ours.detail}`,
      );
      continue;
    }
    // A claimed availability failure for bytes that turn out to break a rule anyway is still a
    // justified exclusion; two different rule codes are not.
    if (theirKind === 'rule' && theirs.code !== ours.code) {
      problem(
        'EXCLUSION_CODE_MISMATCH',
        msp,
        `${where}: excluded as ${theirs.code}, but by the rules it breaks ${ours.code}: ${ours.detail}`,
      );
    }
  }

  const sameSet =
    decision.included.length === ledgerIncluded.size &&
    decision.included.every((msp) => ledgerIncluded.has(msp));
  if (findings.some((f) => f.severity === 'problem')) return findings;
  if (!sameSet) {
    problem(
      'SELECTION_MISMATCH',
      undefined,
      `round ${r}: the ledger includes ${[...ledgerIncluded].sort().join(', ') || 'nothing'}; the rules include ${decision.included.join(', ') || 'nothing'}`,
    );
    return findings;
  }
  if (!decision.quorumMet || !decision.aggregate) {
    problem(
      'QUORUM_NOT_MET',
      undefined,
      `round ${r}: only ${decision.valid} updates pass the rules; the run's quorum is not met`,
    );
  } else if (decision.aggregate.sha256 !== round.aggregateHash) {
    problem(
      'AGGREGATE_MISMATCH',
      undefined,
      `round ${r}: the aggregate of the included updates hashes to ${short(decision.aggregate.sha256)}, the ledger says ${short(round.aggregateHash ?? '')}`,
    );
  }
  return findings;
}
