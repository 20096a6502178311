// The operator's run file (YAML or JSON): what a training run is, in the words an operator uses
// (participants with their declared sample counts, rounds, quorum, deadline, strategy, DP,
// protection), read field by field into the body of POST /v1/runs plus the initial model bytes.
// Every refusal names the file and the field and says what to write instead.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import type { ModelSpec, SharedPreprocessing } from '@fedledger/protocol';
import { STRATEGIES, preprocessingSha256, validateModelSpec } from '@fedledger/protocol';
import { CKKS_PARAMS, parseKeyFile } from '@fedledger/protocol/ckks';
import type { RunRequestBody } from '@fedledger/protocol/schema';
import {
  MAX_ROUND_DEADLINE_SECONDS,
  MAX_SAMPLE_COUNT,
  RunRequestSchema,
  checkAgainst,
} from '@fedledger/protocol/schema';
import { TrainerError } from '../errors';

/** A run file that cannot be used; the message names the file and the field. */
export class RunFileError extends TrainerError {
  /** The field, dotted (`participants.Hospital2MSP`); '' for the file as a whole. */
  readonly field: string;

  constructor(file: string, field: string, message: string, options?: ErrorOptions) {
    super('RUN_FILE', `${file}: ${field ? `${field}: ` : ''}${message}`, options);
    this.field = field;
  }
}

/** A run ready to create: the request body (less the model's hash) and the initial model. */
export interface RunPlan {
  /** The file it was read from. */
  file: string;
  request: Omit<RunRequestBody, 'initialModelSha256'>;
  initialModel: Uint8Array;
}

/** The fields of a run file, as the help and errors list them. */
export const RUN_FILE_FIELDS = [
  'runId',
  'model',
  'participants',
  'rounds',
  'quorum',
  'deadline',
  'strategy',
  'strategyParams',
  'updateNormBound',
  'dp',
  'protection',
  'preprocessing',
] as const;

/** An example run file (the help prints it; the README shows it). */
export const EXAMPLE_RUN_FILE = `runId: study-1
model:
  spec: model-spec.json          # fedledger-trainer init --save-spec
  initial: initial.safetensors   # fedledger-trainer init --out
participants:                    # MSP ID: declared sample count (public on the ledger)
  Hospital1MSP: 50000
  Hospital2MSP: 50000
  Hospital3MSP: 50000
rounds: 10
quorum: 2                        # updates a round needs to close
deadline: 1h                     # seconds, or 90s, 10m, 1h, 30d (at most 90d; default 10m)
strategy: fedavg                 # fedavg, median, trimmed-mean, krum, multi-krum
dp:                              # recorded for every organisation to read; optional
  mechanism: dp-sgd              # dp-sgd or update
  epsilon: 1
  delta: 1e-5
protection: none                 # or ckks: {keyFile: key.json} (or keyFingerprint: <hex>),
                                 # or secagg (or secagg: {threshold: 2, phaseSeconds: 60})
preprocessing: shared-preprocessing.json   # optional: fedledger-trainer preprocess combine --out
`;

/** Where each API field comes from in a run file (to name the run file's field in errors). */
const API_FIELD_TO_RUN_FILE: Readonly<Record<string, string>> = {
  runId: 'runId',
  participants: 'participants',
  sampleCounts: 'participants',
  roundsPlanned: 'rounds',
  minUpdatesPerRound: 'quorum',
  roundDeadlineSeconds: 'deadline',
  strategy: 'strategy',
  strategyParams: 'strategyParams',
  updateNormBound: 'updateNormBound',
  modelSpec: 'model.spec',
  initialModelSha256: 'model.initial',
  dp: 'dp',
  he: 'protection',
  secagg: 'protection.secagg',
  preprocessingSha256: 'preprocessing',
};

/** The run-file field an API field (dotted) comes from. */
export function runFileFieldOf(apiField: string): string {
  const [head = '', ...rest] = apiField.split('.');
  const mapped = API_FIELD_TO_RUN_FILE[head] ?? head;
  return [mapped, ...rest].join('.');
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds from `600`, `"90s"`, `"10m"`, `"1h"` or `"30d"`; undefined when it is none of them. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * (DURATION_UNITS[m[2] || 's'] as number);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads and checks a run file; paths in it are taken from the file's folder.
 * @throws {RunFileError} naming the field to fix.
 */
export function loadRunFile(file: string): RunPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RunFileError(file, '', `cannot be read (${(err as Error).message}).`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : loadYaml(text, { filename: file });
  } catch (err) {
    const what = /\.json$/i.test(file) ? 'JSON' : 'YAML';
    throw new RunFileError(file, '', `is not valid ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return runPlanFrom(parsed, file);
}

/**
 * Checks a parsed run file and turns it into a {@link RunPlan}.
 * @throws {RunFileError} naming the field to fix.
 */
export function runPlanFrom(value: unknown, file: string): RunPlan {
  const fail = (field: string, message: string, cause?: unknown): never => {
    throw new RunFileError(file, field, message, cause === undefined ? undefined : { cause });
  };
  if (!isRecord(value)) {
    return fail(
      '',
      `must be a mapping of run fields (${RUN_FILE_FIELDS.join(', ')}); see fedledger-run create --help.`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!(RUN_FILE_FIELDS as readonly string[]).includes(key)) {
      fail(key, `is not a run file field; the fields are ${RUN_FILE_FIELDS.join(', ')}.`);
    }
  }
  const base = dirname(resolve(file));
  const required = (key: string): unknown =>
    value[key] ?? fail(key, 'is missing; see fedledger-run create --help for an example.');

  const runId = required('runId');
  if (typeof runId !== 'string') fail('runId', 'must be text, e.g. study-1.');

  const model = required('model');
  if (!isRecord(model)) return fail('model', 'must have spec: FILE and initial: FILE.');
  for (const key of Object.keys(model)) {
    if (key !== 'spec' && key !== 'initial')
      fail(`model.${key}`, 'is not a field; use spec and initial.');
  }
  const specPath = model['spec'];
  if (typeof specPath !== 'string') {
    return fail(
      'model.spec',
      'must name the model spec JSON (fedledger-trainer init --save-spec writes it).',
    );
  }
  let modelSpec: ModelSpec;
  try {
    modelSpec = validateModelSpec(JSON.parse(readFileSync(resolve(base, specPath), 'utf8')));
  } catch (err) {
    return fail(
      'model.spec',
      `${specPath} is not a usable model spec: ${(err as Error).message}`,
      err,
    );
  }
  const initialPath = model['initial'];
  if (typeof initialPath !== 'string') {
    return fail(
      'model.initial',
      'must name the initial model file (fedledger-trainer init --out writes it).',
    );
  }
  let initialModel: Uint8Array;
  try {
    initialModel = new Uint8Array(readFileSync(resolve(base, initialPath)));
  } catch (err) {
    return fail('model.initial', `cannot read ${initialPath} (${(err as Error).message}).`, err);
  }

  const participants = required('participants');
  if (!isRecord(participants) || Object.keys(participants).length === 0) {
    return fail(
      'participants',
      'must map each hospital MSP ID to its declared sample count, e.g. "Hospital1MSP: 50000".',
    );
  }
  for (const [msp, count] of Object.entries(participants)) {
    if (!(
      typeof count === 'number' &&
      Number.isSafeInteger(count) &&
      count >= 1 &&
      count <= MAX_SAMPLE_COUNT
    )) {
      fail(
        `participants.${msp}`,
        `the declared sample count must be an integer from 1 to ${MAX_SAMPLE_COUNT}, not ${JSON.stringify(count)}.`,
      );
    }
  }
  const rounds = required('rounds');
  if (!(typeof rounds === 'number' && Number.isSafeInteger(rounds) && rounds >= 1)) {
    fail('rounds', `must be a positive integer, e.g. 10, not ${JSON.stringify(rounds)}.`);
  }
  const count = Object.keys(participants).length;
  const quorum = value['quorum'] ?? count;
  if (!(
    typeof quorum === 'number' &&
    Number.isSafeInteger(quorum) &&
    quorum >= 1 &&
    quorum <= count
  )) {
    fail(
      'quorum',
      `must be an integer from 1 to ${count} (the participants), not ${JSON.stringify(quorum)}.`,
    );
  }
  const deadline = value['deadline'] === undefined ? undefined : parseDuration(value['deadline']);
  if (
    value['deadline'] !== undefined &&
    (deadline === undefined || deadline < 1 || deadline > MAX_ROUND_DEADLINE_SECONDS)
  ) {
    fail(
      'deadline',
      `must be seconds (600) or a duration such as 90s, 10m, 1h or 30d, from 1 s to 90 days, not ${JSON.stringify(value['deadline'])}.`,
    );
  }
  const strategy = value['strategy'] ?? 'fedavg';
  if (!(STRATEGIES as readonly unknown[]).includes(strategy)) {
    fail('strategy', `must be one of ${STRATEGIES.join(', ')}, not ${JSON.stringify(strategy)}.`);
  }
  const strategyParams = value['strategyParams'];
  if (strategyParams !== undefined && !isRecord(strategyParams)) {
    fail('strategyParams', 'must be a mapping, e.g. {trim: 1}.');
  }
  const bound = value['updateNormBound'];
  if (bound !== undefined && !(typeof bound === 'number' && bound > 0 && bound <= 1e12)) {
    fail(
      'updateNormBound',
      'must be a positive number up to 1e12 (leave it out for 10 √(parameters)).',
    );
  }

  const request: RunPlan['request'] = {
    runId: runId as string,
    participants: Object.keys(participants),
    roundsPlanned: rounds as number,
    minUpdatesPerRound: quorum as number,
    strategy: strategy as RunRequestBody['strategy'] & string,
    sampleCounts: participants as Record<string, number>,
    modelSpec,
    ...(strategyParams !== undefined
      ? { strategyParams: strategyParams as Record<string, unknown> }
      : {}),
    ...(bound !== undefined ? { updateNormBound: bound as number } : {}),
    ...(deadline !== undefined ? { roundDeadlineSeconds: deadline } : {}),
    dp: dpFrom(value['dp'], fail),
    ...protectionFrom(value['protection'], base, fail),
    ...preprocessingFrom(value['preprocessing'], base, fail),
  };
  // The same schema the gateway checks the body with: what passes here, the gateway accepts.
  const violation = checkAgainst(RunRequestSchema, {
    ...request,
    initialModelSha256: '0'.repeat(64),
  });
  if (violation) fail(runFileFieldOf(violation.field), violation.message);
  return { file, request, initialModel };
}

type Fail = (field: string, message: string, cause?: unknown) => never;

/** The shared preprocessing's SHA-256, recorded with the run so hospitals can check their copy. */
function preprocessingFrom(
  value: unknown,
  base: string,
  fail: Fail,
): { preprocessingSha256?: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') {
    return fail('preprocessing', 'must name the shared preprocessing JSON (preprocess combine).');
  }
  let transform: SharedPreprocessing;
  try {
    transform = JSON.parse(readFileSync(resolve(base, value), 'utf8')) as SharedPreprocessing;
  } catch (err) {
    return fail('preprocessing', `cannot read ${value} (${(err as Error).message}).`, err);
  }
  if (transform.format !== 'fedledger-preprocessing/1' || !Array.isArray(transform.numeric)) {
    return fail('preprocessing', `${value} is not fedledger-preprocessing/1 JSON.`);
  }
  return { preprocessingSha256: preprocessingSha256(transform) };
}

function dpFrom(value: unknown, fail: Fail): Record<string, unknown> | null {
  if (value === undefined || value === null || value === 'none') return null;
  if (!isRecord(value)) return fail('dp', 'must be none, or have mechanism, epsilon and delta.');
  for (const key of Object.keys(value)) {
    if (!['mechanism', 'epsilon', 'delta'].includes(key)) {
      fail(`dp.${key}`, 'is not a field; use mechanism, epsilon and delta.');
    }
  }
  const { mechanism, epsilon, delta } = value;
  if (mechanism !== 'dp-sgd' && mechanism !== 'update') {
    fail('dp.mechanism', `must be dp-sgd or update, not ${JSON.stringify(mechanism)}.`);
  }
  if (!(typeof epsilon === 'number' && Number.isFinite(epsilon) && epsilon > 0)) {
    fail(
      'dp.epsilon',
      `must be a positive number (the whole run's ε, e.g. 1), not ${JSON.stringify(epsilon)}.`,
    );
  }
  const d = delta ?? 1e-5;
  if (!(typeof d === 'number' && d > 0 && d < 1)) {
    fail('dp.delta', `must be a number between 0 and 1 (e.g. 1e-5), not ${JSON.stringify(delta)}.`);
  }
  return { mechanism, targetEpsilon: String(epsilon), delta: String(d) };
}

/** The run's protection: none, CKKS (`he`) or secure aggregation (`secagg`). */
function protectionFrom(
  value: unknown,
  base: string,
  fail: Fail,
): Pick<RunRequestBody, 'he' | 'secagg'> {
  if (value === undefined || value === null || value === 'none') return { he: null };
  if (value === 'secagg') return { he: null, secagg: {} };
  if (isRecord(value) && Object.keys(value).length === 1 && value['secagg'] !== undefined) {
    const secagg = value['secagg'];
    if (secagg !== null && !isRecord(secagg)) {
      return fail(
        'protection.secagg',
        'must be a map of threshold, range, fractionBits, phaseSeconds (or empty).',
      );
    }
    return { he: null, secagg: secagg ?? {} };
  }
  const ckks = isRecord(value) ? value['ckks'] : undefined;
  if (!isRecord(value) || Object.keys(value).length !== 1 || !isRecord(ckks)) {
    return fail(
      'protection',
      'must be none, secagg (or secagg: {threshold: T, phaseSeconds: S}), or ckks: {keyFile: FILE} (or ckks: {keyFingerprint: HEX}).',
    );
  }
  let fingerprint = ckks['keyFingerprint'];
  const keyFile = ckks['keyFile'];
  if (typeof keyFile === 'string') {
    try {
      fingerprint = parseKeyFile(readFileSync(resolve(base, keyFile), 'utf8')).fingerprint;
    } catch (err) {
      return fail('protection.ckks.keyFile', `${keyFile}: ${(err as Error).message}`, err);
    }
  }
  if (typeof fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(fingerprint)) {
    return fail(
      'protection.ckks',
      'needs keyFile (a key from fedledger-trainer keys init) or keyFingerprint (64 lowercase hex).',
    );
  }
  return { he: { params: { ...CKKS_PARAMS }, keyFingerprint: fingerprint } };
}
