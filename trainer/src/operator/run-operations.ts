// What `fedledger-run` does over the gateway's API as the coordinator, and how it says it: create
// a run from a run plan (upload the initial model, check the hash the gateway stored it under,
// then POST /v1/runs), and the lines printed for a run list, a run's status and a closed round.
import type { CommitInfo, ExcludedUpdate, RunRecord, RunStatus } from '@fedledger/protocol';
import { CONTAINER_MEDIA_TYPE, sha256Hex } from '@fedledger/protocol';
import { HashMismatchError } from '../client/errors';
import type { GatewayTransport } from '../client/https-transport';
import type { RunPlan } from './run-file';

/** The reply of POST /v1/runs. */
export interface RunCreatedView {
  run: RunRecord;
  created: CommitInfo;
  opened: CommitInfo;
}

/** The reply of GET /v1/runs. */
export interface RunListView {
  ledger: string;
  runs: Pick<
    RunRecord,
    'runId' | 'status' | 'roundsPlanned' | 'participants' | 'strategy' | 'createdAt'
  >[];
}

/** The reply of POST /v1/runs/{run}/close. */
export interface RoundClosedView {
  runId: string;
  round: number;
  aggregateHash: string;
  included: string[];
  excluded: ExcludedUpdate[];
  close: CommitInfo;
  next?: CommitInfo;
}

function parse<T>(body: Uint8Array): T {
  return JSON.parse(Buffer.from(body).toString('utf8')) as T;
}

/**
 * Uploads the plan's initial model, checks that the gateway stored it under its SHA-256, and
 * creates the run (the gateway opens round 0).
 * @throws {GatewayRequestError} when the gateway refuses (its problem code says why).
 * @throws {HashMismatchError} when the gateway stored the model under another hash.
 */
export async function createRun(
  transport: GatewayTransport,
  plan: RunPlan,
): Promise<RunCreatedView> {
  const sha256 = sha256Hex(plan.initialModel);
  const stored = parse<{ sha256: string }>(
    (
      await transport.send({
        method: 'POST',
        path: '/v1/models',
        body: plan.initialModel,
        contentType: CONTAINER_MEDIA_TYPE,
      })
    ).body,
  );
  if (stored.sha256 !== sha256) {
    throw new HashMismatchError(
      `the gateway stored the initial model as ${stored.sha256}, but it hashes to ${sha256}.`,
      sha256,
      stored.sha256,
    );
  }
  const reply = await transport.send({
    method: 'POST',
    path: '/v1/runs',
    body: new TextEncoder().encode(JSON.stringify({ ...plan.request, initialModelSha256: sha256 })),
    contentType: 'application/json',
  });
  return parse<RunCreatedView>(reply.body);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const short = (hash: string | null | undefined): string => (hash ? `${hash.slice(0, 12)}…` : '—');

/** `fedledger-run list`. */
export function listLines(list: RunListView): string[] {
  if (list.runs.length === 0) return [`no runs on the ledger (${list.ledger})`];
  return [
    `ledger: ${list.ledger}`,
    ...table(
      ['run', 'status', 'rounds', 'strategy', 'participants', 'created'],
      list.runs.map((r) => [
        r.runId,
        r.status,
        String(r.roundsPlanned),
        r.strategy,
        r.participants.join(', '),
        r.createdAt,
      ]),
    ),
  ];
}

/** `fedledger-run status RUN`; rounds are numbered as the ledger numbers them (from 0). */
export function statusLines(status: RunStatus): string[] {
  const run = status.run;
  const settings = run.settings as {
    roundDeadlineSeconds?: number;
    updateNormBound?: number | null;
    encoding?: string;
    dp?: Record<string, unknown> | null;
  };
  const dp = settings.dp
    ? `${String(settings.dp['mechanism'])} ε=${String(settings.dp['targetEpsilon'])} δ=${String(settings.dp['delta'])}`
    : 'none recorded';
  const closed = status.rounds.filter((r) => r.status === 'closed').length;
  return [
    `run ${run.runId}: ${run.status}; ${closed} of ${run.roundsPlanned} rounds closed${status.currentRound !== null ? `; round ${status.currentRound} open` : ''}`,
    `strategy ${run.strategy}; quorum ${run.minUpdatesPerRound} of ${run.participants.length}; deadline ${settings.roundDeadlineSeconds ?? '?'} s; norm bound ${settings.updateNormBound ?? 'none (encrypted)'}; encoding ${settings.encoding ?? 'float32'}; DP ${dp}`,
    `participants (declared samples): ${run.participants.map((p) => `${p} ${run.sampleCounts[p] ?? '?'}`).join(', ')}`,
    `coordinator ${run.coordinator.mspId}; created ${run.createdAt} (tx ${run.txId})`,
    ...(run.finalModelHash ? [`final model ${run.finalModelHash}`] : []),
    '',
    ...table(
      ['round', 'status', 'updates', 'input model', 'aggregate'],
      status.rounds.map((r) => [
        String(r.round),
        r.status,
        `${r.submitted.length}/${run.participants.length}${r.submitted.length > 0 ? ` (${r.submitted.join(', ')})` : ''}`,
        short(r.inputModelHash),
        short(r.aggregateHash),
      ]),
    ),
  ];
}

/** `fedledger-run close RUN`. */
export function closedLines(closed: RoundClosedView): string[] {
  const excluded = closed.excluded.map((e) => `${e.mspId} ${e.code}`).join(', ');
  return [
    `round ${closed.round} of ${closed.runId} closed (tx ${closed.close.txId}, block ${closed.close.blockNumber}): ${closed.included.length} included (${closed.included.join(', ') || 'none'})${excluded ? `, excluded ${excluded}` : ''}; aggregate ${closed.aggregateHash}`,
    closed.next
      ? `round ${closed.round + 1} opened (tx ${closed.next.txId})`
      : `the run has completed: round ${closed.round} was its last`,
  ];
}
