// What a run is created from: the body of POST /v1/runs checked field by field and turned into the
// ledger's RunConfig, whose settings (RunSettings, from @fedledger/rules) every round obeys.
import type { ModelSpec, RunConfig, StrategyName } from '@fedledger/protocol';
import {
  MSP_ID_PATTERN,
  RUN_ID_PATTERN,
  STRATEGIES,
  isSha256Hex,
  modelSpecHash,
  validateModelSpec,
} from '@fedledger/protocol';
import { checkParams } from '@fedledger/protocol/ckks';
import { BadRequestError } from '../errors';
import type { RunSettings, StrategyParams } from '@fedledger/rules';

/** Body of `POST /v1/runs`. */
export interface RunRequest {
  runId: string;
  participants: string[];
  roundsPlanned: number;
  minUpdatesPerRound: number;
  strategy?: StrategyName;
  strategyParams?: StrategyParams;
  updateNormBound?: number | null;
  roundDeadlineSeconds?: number;
  modelSpec: unknown;
  /** SHA-256 of the initial model, uploaded before with `POST /v1/models`. */
  initialModelSha256: string;
  dp?: Record<string, unknown> | null;
  he?: Record<string, unknown> | null;
}

function bad(message: string): BadRequestError {
  return new BadRequestError('FL_ERR_BAD_REQUEST', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a run request field by field and turns it into the ledger's RunConfig.
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
  const bound = r.updateNormBound ?? null;
  if (bound !== null && !(typeof bound === 'number' && Number.isFinite(bound) && bound > 0)) {
    throw bad('updateNormBound must be a positive number or null');
  }
  const deadline = r.roundDeadlineSeconds ?? 600;
  if (!Number.isSafeInteger(deadline) || deadline < 1) {
    throw bad('roundDeadlineSeconds must be a positive integer');
  }
  if (r.dp !== undefined && r.dp !== null && !isRecord(r.dp)) throw bad('dp must be an object');
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
  const settings: RunSettings = {
    modelSpec,
    strategyParams: r.strategyParams ?? {},
    updateNormBound: he === null ? bound : null,
    roundDeadlineSeconds: deadline,
    encoding: he === null ? 'float32' : 'ckks',
    dp: r.dp ?? null,
    he,
  };
  return {
    runId: r.runId,
    modelSpecHash: modelSpecHash(modelSpec),
    initialModelHash: r.initialModelSha256,
    participants: [...r.participants].sort(),
    roundsPlanned: r.roundsPlanned as number,
    minUpdatesPerRound: min as number,
    strategy,
    settings: settings as unknown as Record<string, unknown>,
  };
}
