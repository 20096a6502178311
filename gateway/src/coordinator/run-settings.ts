// What a run is created from: the body of POST /v1/runs checked field by field and turned into the
// ledger's RunConfig, whose settings (RunSettings, from @fedledger/rules) every round obeys.
import type { ModelSpec, RunConfig, SharedMetrics } from '@fedledger/protocol';
import {
  DEFAULT_METRICS_NOISE_MULTIPLIER,
  MIN_METRICS_NOISE_MULTIPLIER,
  MSP_ID_PATTERN,
  RUN_ID_PATTERN,
  STRATEGIES,
  isSha256Hex,
  modelSpecHash,
  validateModelSpec,
} from '@fedledger/protocol';
import { checkParams } from '@fedledger/protocol/ckks';
import type { SecAggSettings } from '@fedledger/protocol/secagg';
import {
  SecAggError,
  checkRunSecAggSettings,
  defaultSecAggSettings,
} from '@fedledger/protocol/secagg';
import type { RunRequestBody } from '@fedledger/protocol/schema';
import {
  MAX_ROUND_DEADLINE_SECONDS,
  RunRequestSchema,
  checkAgainst,
} from '@fedledger/protocol/schema';
import { BadRequestError } from '../errors';
import type { RunSettings } from '@fedledger/rules';
import { defaultUpdateNormBound } from '@fedledger/rules';

/** Body of `POST /v1/runs`: the type of its JSON Schema (`RunRequestSchema`, in the OpenAPI document). */
export type RunRequest = RunRequestBody;

export { MAX_ROUND_DEADLINE_SECONDS };

function bad(message: string): BadRequestError {
  return new BadRequestError('FL_ERR_BAD_REQUEST', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shared-metrics setting of a run request, checked; absent means `none`. */
function sharedMetricsFromRequest(value: unknown): SharedMetrics {
  if (value === undefined || value === null) return { mode: 'none' };
  const help =
    'sharedMetrics must be {"mode": "none"} (metrics stay at the hospitals) or {"mode": "noised", "noiseMultiplier": σ} with σ ≥ 1';
  if (!isRecord(value)) throw bad(help);
  if (value['mode'] === 'none' && Object.keys(value).length === 1) return { mode: 'none' };
  if (value['mode'] !== 'noised') throw bad(help);
  const sigma = value['noiseMultiplier'] ?? DEFAULT_METRICS_NOISE_MULTIPLIER;
  if (
    typeof sigma !== 'number' ||
    !Number.isFinite(sigma) ||
    sigma < MIN_METRICS_NOISE_MULTIPLIER ||
    sigma > 1e6
  ) {
    throw bad(help);
  }
  return { mode: 'noised', noiseMultiplier: sigma };
}

/**
 * The secure-aggregation settings of a run request: the defaults for its participants (a
 * majority threshold, the weights divided by the sum of the declared sample counts) with the
 * request's fields over them.
 */
function secAggFromRequest(
  request: Record<string, unknown>,
  participants: readonly string[],
  counts: Record<string, unknown>,
): SecAggSettings {
  const sampleCounts = counts as Record<string, number>;
  const weightScale = participants.reduce((n, msp) => n + (sampleCounts[msp] ?? 0), 0);
  try {
    const defaults = defaultSecAggSettings(participants.length, weightScale);
    // The contract holds the run to the same checks (weights, threshold, survivors).
    return checkRunSecAggSettings(
      { ...defaults, ...request, weightScale },
      participants,
      sampleCounts,
    );
  } catch (err) {
    if (err instanceof SecAggError) {
      throw bad(err.message.replace('secure-aggregation settings', 'secagg'));
    }
    throw err;
  }
}

/**
 * Checks a run request field by field and turns it into the ledger's RunConfig: first the checks
 * with a sentence per field and those across fields (sample counts against participants), then
 * the request's JSON Schema (the one the OpenAPI document serves), which refuses anything else
 * it does not describe, such as a misspelt field.
 * @throws {BadRequestError} naming the first field to fix.
 */
export function runConfigFromRequest(body: unknown): RunConfig {
  if (!isRecord(body)) throw bad('the body must be a JSON object describing the run');
  const r = body as Partial<RunRequest>;
  if (typeof r.runId !== 'string' || !RUN_ID_PATTERN.test(r.runId)) {
    throw bad('runId must be 1-64 characters: letters, digits, ".", "_" or "-"');
  }
  if (
    !Array.isArray(r.participants) ||
    r.participants.length === 0 ||
    r.participants.some((p) => typeof p !== 'string' || !MSP_ID_PATTERN.test(p)) ||
    new Set(r.participants).size !== r.participants.length
  ) {
    throw bad('participants must be a non-empty list of distinct MSP IDs');
  }
  if (!Number.isSafeInteger(r.roundsPlanned) || (r.roundsPlanned as number) < 1) {
    throw bad('roundsPlanned must be a positive integer');
  }
  const min = r.minUpdatesPerRound;
  if (
    !Number.isSafeInteger(min) ||
    (min as number) < 1 ||
    (min as number) > r.participants.length
  ) {
    throw bad(`minUpdatesPerRound must be an integer from 1 to ${r.participants.length}`);
  }
  const strategy = r.strategy ?? 'fedavg';
  if (!STRATEGIES.includes(strategy)) throw bad(`strategy must be one of ${STRATEGIES.join(', ')}`);
  let modelSpec: ModelSpec;
  try {
    modelSpec = validateModelSpec(r.modelSpec);
  } catch (err) {
    throw bad(`modelSpec: ${(err as Error).message}`);
  }
  if (typeof r.initialModelSha256 !== 'string' || !isSha256Hex(r.initialModelSha256)) {
    throw bad('initialModelSha256 must be the SHA-256 (64 lowercase hex) of an uploaded model');
  }
  const bound: unknown =
    r.updateNormBound === undefined ? defaultUpdateNormBound(modelSpec) : r.updateNormBound;
  if (!(typeof bound === 'number' && Number.isFinite(bound) && bound > 0 && bound <= 1e12)) {
    throw bad(
      'updateNormBound must be a positive number up to 1e12 (every run bounds its updates; leave it out for the default of 10 √(number of parameters))',
    );
  }
  const deadline = r.roundDeadlineSeconds ?? 600;
  if (!Number.isSafeInteger(deadline) || deadline < 1 || deadline > MAX_ROUND_DEADLINE_SECONDS) {
    throw bad(
      `roundDeadlineSeconds must be an integer from 1 to ${MAX_ROUND_DEADLINE_SECONDS} (90 days)`,
    );
  }
  const counts = r.sampleCounts;
  if (!isRecord(counts)) {
    throw bad(
      'sampleCounts must declare each participant\'s sample count, e.g. {"Hospital1MSP": 40000, …}',
    );
  }
  for (const msp of r.participants) {
    const n = counts[msp];
    if (!(typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= 1_000_000_000)) {
      throw bad(`sampleCounts.${msp} must be an integer from 1 to 1000000000`);
    }
  }
  const unknown = Object.keys(counts).filter((k) => !r.participants?.includes(k));
  if (unknown.length > 0) throw bad(`sampleCounts names non-participants: ${unknown.join(', ')}`);
  if (r.dp !== undefined && r.dp !== null && !isRecord(r.dp)) throw bad('dp must be an object');
  if (
    r.preprocessingSha256 !== undefined &&
    r.preprocessingSha256 !== null &&
    !isSha256Hex(r.preprocessingSha256)
  ) {
    throw bad(
      'preprocessingSha256 must be the SHA-256 (64 lowercase hex) of the shared preprocessing (fedledger-trainer preprocess combine prints it)',
    );
  }
  if (r.he !== undefined && r.he !== null && !isRecord(r.he)) throw bad('he must be an object');
  if (r.strategyParams !== undefined && !isRecord(r.strategyParams)) {
    throw bad('strategyParams must be an object');
  }
  const he = r.he ?? null;
  if (he !== null) {
    try {
      checkParams(he['params']);
    } catch (err) {
      throw bad(`he.params: ${(err as Error).message}`);
    }
    if (typeof he['keyFingerprint'] !== 'string' || !isSha256Hex(he['keyFingerprint'])) {
      throw bad("he.keyFingerprint must be the key's fingerprint (64 lowercase hex)");
    }
  }
  if (he !== null && strategy !== 'fedavg') {
    throw bad('encrypted runs aggregate with fedavg only (the gateway cannot read the updates)');
  }
  const secagg = r.secagg ? secAggFromRequest(r.secagg, r.participants, counts) : null;
  if (secagg !== null && (he !== null || strategy !== 'fedavg')) {
    throw bad('a secure-aggregation run aggregates with fedavg and is not also encrypted (he)');
  }
  const sharedMetrics = sharedMetricsFromRequest(r.sharedMetrics);
  const violation = checkAgainst(RunRequestSchema, body);
  if (violation) throw bad(`${violation.field || 'the body'}: ${violation.message}`);
  const settings: RunSettings = {
    modelSpec,
    strategyParams: r.strategyParams ?? {},
    // Masked and encrypted updates cannot be measured by the gateway: no norm bound.
    updateNormBound: he === null && secagg === null ? bound : null,
    roundDeadlineSeconds: deadline,
    encoding: he !== null ? 'ckks' : secagg !== null ? 'secagg' : 'float32',
    protection: he !== null ? 'ckks' : secagg !== null ? 'secagg' : 'plaintext',
    dp: r.dp ?? null,
    he,
    ...(secagg !== null ? { secagg } : {}),
    sharedMetrics,
    ...(r.preprocessingSha256 ? { preprocessingSha256: r.preprocessingSha256 } : {}),
  };
  return {
    runId: r.runId,
    modelSpecHash: modelSpecHash(modelSpec),
    initialModelHash: r.initialModelSha256,
    participants: [...r.participants].sort(),
    roundsPlanned: r.roundsPlanned as number,
    minUpdatesPerRound: min as number,
    strategy,
    sampleCounts: Object.fromEntries(
      [...r.participants].sort().map((msp) => [msp, counts[msp] as number]),
    ),
    settings: settings as unknown as Record<string, unknown>,
  };
}
