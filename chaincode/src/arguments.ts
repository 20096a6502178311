// Parsing and validation of transaction arguments; every refusal carries a stable code.
import {
  EXCLUSION_CODES,
  MAX_BLOB_BYTES,
  MAX_EXCLUSION_DETAIL_CHARS,
  MSP_ID_PATTERN,
  RUN_ID_PATTERN,
  STRATEGIES,
  exclusionKind,
  isExclusionCode,
  isSha256Hex,
} from '@fedledger/protocol';
import type {
  CloseRoundRequest,
  DpAccounting,
  ExcludedUpdate,
  RunConfig,
  StrategyName,
  UpdateSubmission,
} from '@fedledger/protocol';
import { ensure } from './rule-error';

const MAX_ROUNDS = 100_000;
/** Largest declared sample count: a billion records, far past any hospital, far below 2^53. */
const MAX_DECLARED_SAMPLES = 1_000_000_000;

type Json = Record<string, unknown>;

/** Parses a JSON object argument. */
export function parseObject(text: string, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    ensure(false, 'INVALID_ARGUMENT', `${what} is not valid JSON`);
  }
  ensure(
    typeof value === 'object' && value !== null && !Array.isArray(value),
    'INVALID_ARGUMENT',
    `${what} must be a JSON object`,
  );
  return value as Json;
}

export function runId(value: unknown): string {
  ensure(
    typeof value === 'string' && RUN_ID_PATTERN.test(value),
    'INVALID_ARGUMENT',
    `run ID ${JSON.stringify(value)} must be 1-64 characters of letters, digits, ".", "_" or "-"`,
  );
  return value;
}

export function mspId(value: unknown, what = 'MSP ID'): string {
  ensure(
    typeof value === 'string' && MSP_ID_PATTERN.test(value),
    'INVALID_ARGUMENT',
    `${what} ${JSON.stringify(value)} is not a valid MSP ID`,
  );
  return value;
}

export function sha256(value: unknown, what: string): string {
  ensure(isSha256Hex(value), 'INVALID_HASH', `${what} must be 64 lowercase hex characters`);
  return value;
}

/** Parses a round number given as a number or a decimal string. */
export function roundNumber(value: unknown): number {
  const n = typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : value;
  ensure(
    typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n < MAX_ROUNDS,
    'INVALID_ARGUMENT',
    `round ${JSON.stringify(value)} must be an integer from 0 to ${MAX_ROUNDS - 1}`,
  );
  return n;
}

function positiveInteger(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= max;
}

export function runConfig(json: Json): RunConfig {
  const participants = json.participants;
  ensure(
    Array.isArray(participants) && participants.length > 0,
    'INVALID_ARGUMENT',
    'participants must be a non-empty array of MSP IDs',
  );
  const msps = participants.map((p) => mspId(p, 'participant'));
  ensure(new Set(msps).size === msps.length, 'INVALID_ARGUMENT', 'participants must not repeat');
  ensure(
    positiveInteger(json.roundsPlanned, MAX_ROUNDS),
    'INVALID_ARGUMENT',
    `roundsPlanned must be an integer from 1 to ${MAX_ROUNDS}`,
  );
  ensure(
    positiveInteger(json.minUpdatesPerRound, msps.length),
    'INVALID_ARGUMENT',
    `minUpdatesPerRound must be an integer from 1 to the number of participants (${msps.length})`,
  );
  ensure(
    STRATEGIES.includes(json.strategy as StrategyName),
    'INVALID_ARGUMENT',
    `strategy must be one of ${STRATEGIES.join(', ')}`,
  );
  const settings = json.settings ?? {};
  ensure(
    typeof settings === 'object' && settings !== null && !Array.isArray(settings),
    'INVALID_ARGUMENT',
    'settings must be an object',
  );
  const counts = json.sampleCounts;
  ensure(
    typeof counts === 'object' && counts !== null && !Array.isArray(counts),
    'INVALID_SAMPLE_COUNT',
    'sampleCounts must map every participant to its declared sample count',
  );
  const declared = counts as Json;
  const sampleCounts: Record<string, number> = {};
  for (const msp of [...msps].sort()) {
    ensure(
      positiveInteger(declared[msp], MAX_DECLARED_SAMPLES),
      'INVALID_SAMPLE_COUNT',
      `sampleCounts.${msp} must be an integer from 1 to ${MAX_DECLARED_SAMPLES}`,
    );
    sampleCounts[msp] = declared[msp];
  }
  ensure(
    Object.keys(declared).length === msps.length,
    'INVALID_SAMPLE_COUNT',
    'sampleCounts must name the participants and no one else',
  );
  return {
    runId: runId(json.runId),
    modelSpecHash: sha256(json.modelSpecHash, 'modelSpecHash'),
    initialModelHash: sha256(json.initialModelHash, 'initialModelHash'),
    participants: [...msps].sort(),
    roundsPlanned: json.roundsPlanned,
    minUpdatesPerRound: json.minUpdatesPerRound,
    strategy: json.strategy as StrategyName,
    sampleCounts,
    settings: settings as Record<string, unknown>,
  };
}

function decimalString(value: unknown, what: string): string {
  ensure(
    typeof value === 'string' && /^-?(0|[1-9][0-9]*)(\.[0-9]+)?(e-?[0-9]+)?$/.test(value),
    'INVALID_ARGUMENT',
    `${what} must be a decimal number written as a string`,
  );
  return value;
}

function dpAccounting(value: unknown): DpAccounting | undefined {
  if (value === undefined) return undefined;
  ensure(typeof value === 'object' && value !== null, 'INVALID_ARGUMENT', 'dp must be an object');
  const dp = value as Json;
  ensure(
    typeof dp.mechanism === 'string' && dp.mechanism.length > 0 && dp.mechanism.length <= 64,
    'INVALID_ARGUMENT',
    'dp.mechanism must be a short string',
  );
  const out: DpAccounting = {
    mechanism: dp.mechanism,
    epsilonSpent: decimalString(dp.epsilonSpent, 'dp.epsilonSpent'),
    delta: decimalString(dp.delta, 'dp.delta'),
  };
  if (dp.noiseMultiplier !== undefined)
    out.noiseMultiplier = decimalString(dp.noiseMultiplier, 'dp.noiseMultiplier');
  if (dp.clipNorm !== undefined) out.clipNorm = decimalString(dp.clipNorm, 'dp.clipNorm');
  return out;
}

export function updateSubmission(json: Json): UpdateSubmission {
  const sampleCount = json.sampleCount;
  ensure(
    positiveInteger(sampleCount, Number.MAX_SAFE_INTEGER),
    'INVALID_SAMPLE_COUNT',
    `sampleCount ${JSON.stringify(sampleCount)} must be a positive safe integer`,
  );
  const byteLength = json.byteLength;
  ensure(
    positiveInteger(byteLength, MAX_BLOB_BYTES),
    'INVALID_BYTE_LENGTH',
    `byteLength ${JSON.stringify(byteLength)} must be from 1 to ${MAX_BLOB_BYTES}`,
  );
  ensure(
    json.encoding === 'float32' || json.encoding === 'ckks' || json.encoding === 'secagg',
    'INVALID_ARGUMENT',
    'encoding must be "float32", "ckks" or "secagg"',
  );
  const submission: UpdateSubmission = {
    runId: runId(json.runId),
    round: roundNumber(json.round),
    mspId: mspId(json.mspId),
    sha256: sha256(json.sha256, 'sha256'),
    sampleCount,
    byteLength,
    encoding: json.encoding,
  };
  const dp = dpAccounting(json.dp);
  if (dp) submission.dp = dp;
  return submission;
}

function excludedUpdate(value: unknown, i: number): ExcludedUpdate {
  ensure(
    typeof value === 'object' && value !== null,
    'INVALID_ARGUMENT',
    `excluded[${i}] must be an object`,
  );
  const item = value as Json;
  ensure(
    isExclusionCode(item.code),
    'UNKNOWN_EXCLUSION_CODE',
    `excluded[${i}].code ${JSON.stringify(item.code)} is not one of ${Object.keys(EXCLUSION_CODES).join(', ')}`,
  );
  ensure(
    typeof item.detail === 'string' && item.detail.length <= MAX_EXCLUSION_DETAIL_CHARS,
    'INVALID_ARGUMENT',
    `excluded[${i}].detail must be a string of at most ${MAX_EXCLUSION_DETAIL_CHARS} characters`,
  );
  ensure(
    typeof item.onLedger === 'boolean',
    'INVALID_ARGUMENT',
    `excluded[${i}].onLedger must be a boolean`,
  );
  // Only an upload without a ledger record is off the ledger, and it is excluded for that reason.
  ensure(
    item.onLedger === (exclusionKind(item.code) !== 'off-ledger'),
    'INVALID_ARGUMENT',
    `excluded[${i}]: onLedger must be false exactly when the code is NOT_ON_LEDGER`,
  );
  return {
    mspId: mspId(item.mspId, `excluded[${i}].mspId`),
    sha256: sha256(item.sha256, `excluded[${i}].sha256`),
    code: item.code,
    detail: item.detail,
    onLedger: item.onLedger,
  };
}

export function closeRoundRequest(json: Json): CloseRoundRequest {
  ensure(Array.isArray(json.included), 'INVALID_ARGUMENT', 'included must be an array of MSP IDs');
  const included = json.included.map((m) => mspId(m, 'included MSP ID'));
  ensure(
    new Set(included).size === included.length,
    'INVALID_ARGUMENT',
    'included must not repeat',
  );
  const rawExcluded = json.excluded ?? [];
  ensure(Array.isArray(rawExcluded), 'INVALID_ARGUMENT', 'excluded must be an array');
  const request: CloseRoundRequest = {
    runId: runId(json.runId),
    round: roundNumber(json.round),
    aggregateHash: sha256(json.aggregateHash, 'aggregateHash'),
    included: [...included].sort(),
    excluded: rawExcluded
      .map(excludedUpdate)
      .sort((a, b) =>
        a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : a.sha256 < b.sha256 ? -1 : 1,
      ),
  };
  if (json.recovery !== undefined)
    request.recovery = hashedByMsp(json.recovery, 'recovery', 'sha256');
  return request;
}

/**
 * A list of `{ mspId, <hashField> }` entries: each MSP once, sorted by MSP ID (so every peer
 * writes the same bytes whatever order the caller sent).
 */
export function hashedByMsp<F extends string>(
  value: unknown,
  what: string,
  hashField: F,
): ({ mspId: string } & Record<F, string>)[] {
  ensure(Array.isArray(value), 'INVALID_ARGUMENT', `${what} must be an array`);
  const entries = value.map((item: unknown) => {
    ensure(
      typeof item === 'object' && item !== null && !Array.isArray(item),
      'INVALID_ARGUMENT',
      `each ${what} entry must be an object`,
    );
    const o = item as Json;
    ensure(
      Object.keys(o).sort().join(',') === ['mspId', hashField].sort().join(','),
      'INVALID_ARGUMENT',
      `a ${what} entry holds exactly mspId and ${hashField}`,
    );
    return { mspId: mspId(o.mspId), [hashField]: sha256(o[hashField], hashField) } as {
      mspId: string;
    } & Record<F, string>;
  });
  const names = entries.map((e) => e.mspId);
  ensure(
    new Set(names).size === names.length,
    'INVALID_ARGUMENT',
    `${what} must not repeat an MSP`,
  );
  return entries.sort((a, b) => (a.mspId < b.mspId ? -1 : 1));
}
