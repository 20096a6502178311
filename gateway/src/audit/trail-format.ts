// The audit trail of a run as an auditor reads it: one row per ledger update record (who, which
// bytes, how many samples, ε spent, which transaction, when, and what became of it), rendered as
// a text table, CSV or JSON. Pure functions over the ledger's AuditTrail.
import type { AuditTrail, ExcludedUpdate, RoundTrail } from '@fedledger/protocol';

/** What became of an update: aggregated, left out with a reason, or not decided yet. */
export type UpdateFate = 'included' | 'excluded' | 'pending' | 'not included';

export interface TrailUpdateRow {
  mspId: string;
  sha256: string;
  sampleCount: number;
  /** ε the hospital reports having spent (decimal string), when it uses differential privacy. */
  epsilonSpent?: string;
  txId: string;
  /** The block that committed the record, as the auditor's peer reports it. */
  block?: number;
  timestamp: string;
  fate: UpdateFate;
  /** Why the update was excluded: its exclusion code, and the coordinator's sentence. */
  exclusion?: Pick<ExcludedUpdate, 'code' | 'detail'>;
}

export interface TrailRoundView {
  round: number;
  status: RoundTrail['status'];
  inputModelHash: string;
  aggregateHash?: string;
  openTxId: string;
  closeTxId?: string;
  updates: TrailUpdateRow[];
  /** Uploads the coordinator left out that have no ledger record of their own. */
  excludedOffLedger: ExcludedUpdate[];
}

export interface TrailView {
  runId: string;
  status: string;
  strategy: string;
  roundsPlanned: number;
  participants: string[];
  initialModelHash: string;
  finalModelHash?: string;
  /** Which ledger the trail was read from. */
  ledger: string;
  rounds: TrailRoundView[];
}

function fateOf(
  round: RoundTrail,
  mspId: string,
): { fate: UpdateFate; exclusion?: Pick<ExcludedUpdate, 'code' | 'detail'> } {
  if (round.included?.includes(mspId)) return { fate: 'included' };
  const excluded = round.excluded?.find((e) => e.mspId === mspId && e.onLedger);
  if (excluded) {
    return { fate: 'excluded', exclusion: { code: excluded.code, detail: excluded.detail } };
  }
  return { fate: round.status === 'open' ? 'pending' : 'not included' };
}

/**
 * The trail as rows, in round order, updates sorted by organisation; `blocks` maps transaction
 * IDs to the blocks that committed them, where the reader could look them up.
 */
export function trailView(
  trail: AuditTrail,
  ledger: string,
  blocks: ReadonlyMap<string, number> = new Map(),
): TrailView {
  const { run } = trail;
  return {
    runId: run.runId,
    status: run.status,
    strategy: run.strategy,
    roundsPlanned: run.roundsPlanned,
    participants: [...run.participants],
    initialModelHash: run.initialModelHash,
    ...(run.finalModelHash ? { finalModelHash: run.finalModelHash } : {}),
    ledger,
    rounds: [...trail.rounds]
      .sort((a, b) => a.round - b.round)
      .map((round) => ({
        round: round.round,
        status: round.status,
        inputModelHash: round.inputModelHash,
        ...(round.aggregateHash ? { aggregateHash: round.aggregateHash } : {}),
        openTxId: round.openTxId,
        ...(round.closeTxId ? { closeTxId: round.closeTxId } : {}),
        updates: [...round.updates]
          .sort((a, b) => a.mspId.localeCompare(b.mspId))
          .map((u) => ({
            mspId: u.mspId,
            sha256: u.sha256,
            sampleCount: u.sampleCount,
            ...(u.dp ? { epsilonSpent: u.dp.epsilonSpent } : {}),
            txId: u.txId,
            ...(blocks.has(u.txId) ? { block: blocks.get(u.txId) } : {}),
            timestamp: u.timestamp,
            ...fateOf(round, u.mspId),
          })),
        excludedOffLedger: (round.excluded ?? []).filter((e) => !e.onLedger),
      })),
  };
}

/** The first 12 hex digits, which is how hashes and transaction IDs are shown in tables. */
export function shortHash(hash: string | undefined): string {
  return hash ? hash.slice(0, 12) : '—';
}

function table(header: string[], rows: string[][], indent: string): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A text table per round, for a terminal. */
export function formatTrailTable(view: TrailView): string {
  const out: string[] = [
    `Run ${view.runId}: ${view.status}, strategy ${view.strategy}, ` +
      `${view.rounds.filter((r) => r.status === 'closed').length}/${view.roundsPlanned} rounds closed`,
    `Participants: ${view.participants.join(', ')}`,
    `Ledger: ${view.ledger}`,
    `Initial model: ${view.initialModelHash}`,
  ];
  if (view.finalModelHash) out.push(`Final model:   ${view.finalModelHash}`);
  for (const round of view.rounds) {
    out.push(
      '',
      `Round ${round.round} (${round.status})`,
      `  input model  ${round.inputModelHash}`,
      `  aggregate    ${round.aggregateHash ?? '— (not closed)'}`,
    );
    if (round.updates.length === 0) {
      out.push('  no updates on the ledger');
    } else {
      out.push(
        ...table(
          ['ORGANISATION', 'SHA-256', 'SAMPLES', 'ε SPENT', 'TX ID', 'BLOCK', 'TIME', 'FATE'],
          round.updates.map((u) => [
            u.mspId,
            shortHash(u.sha256),
            String(u.sampleCount),
            u.epsilonSpent ?? '—',
            shortHash(u.txId),
            u.block === undefined ? '—' : String(u.block),
            u.timestamp,
            u.exclusion ? `excluded: ${u.exclusion.code} (${u.exclusion.detail})` : u.fate,
          ]),
          '  ',
        ),
      );
    }
    for (const e of round.excludedOffLedger) {
      out.push(
        `  excluded without a ledger record: ${e.mspId} ${shortHash(e.sha256)}: ${e.code} (${e.detail})`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

export const TRAIL_CSV_COLUMNS = [
  'run_id',
  'round',
  'round_status',
  'input_model_sha256',
  'aggregate_sha256',
  'msp_id',
  'sha256',
  'sample_count',
  'epsilon_spent',
  'tx_id',
  'block',
  'timestamp',
  'on_ledger',
  'fate',
  'exclusion_code',
  'exclusion_detail',
] as const;

/** RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvField(value: string | number | boolean | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV row per update record, then one per excluded upload without a record; full hashes. */
export function formatTrailCsv(view: TrailView): string {
  const rows: (string | number | boolean | undefined)[][] = [[...TRAIL_CSV_COLUMNS]];
  for (const r of view.rounds) {
    const roundCells = [view.runId, r.round, r.status, r.inputModelHash, r.aggregateHash];
    for (const u of r.updates) {
      rows.push([
        ...roundCells,
        u.mspId,
        u.sha256,
        u.sampleCount,
        u.epsilonSpent,
        u.txId,
        u.block,
        u.timestamp,
        true,
        u.fate,
        u.exclusion?.code,
        u.exclusion?.detail,
      ]);
    }
    for (const e of r.excludedOffLedger) {
      rows.push([
        ...roundCells,
        e.mspId,
        e.sha256,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        false,
        'excluded',
        e.code,
        e.detail,
      ]);
    }
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
