// One hospital's local round: from the received global model, train E epochs (plainly or with
// DP-SGD), form the update Δ = θ_local − θ_global, optionally privatise it, account the privacy
// spent, and package Δ as a protocol container. The offline `train` command and the online loop
// both call this.
import type {
  Container,
  DpAccounting,
  ModelSpec,
  SharedMetrics,
  Tensor,
} from '@fedledger/protocol';
import {
  CONTAINER_EXTRA,
  METRICS_NOISE_MULTIPLIER_KEY,
  dpToExtra,
  modelSpecHash,
} from '@fedledger/protocol';
import type { Dataset } from '../data/dataset';
import { dpSgdTrainer } from '../dp/dp-sgd';
import { noisedMetrics } from '../dp/metrics-dp';
import type { PrivacyAccountant } from '../dp/privacy-accountant';
import { newPrivacyAccountant } from '../dp/privacy-accountant';
import type { DpSettings, ResolvedDp } from '../dp/privacy-settings';
import { decimalString, resolveDp } from '../dp/privacy-settings';
import { privatiseUpdate } from '../dp/update-dp';
import type { RandomSource } from '../random';
import type { ClassificationMetrics } from '../model/metrics';
import { subtractTensors } from '../model/mlp';
import { evaluateTensors } from './evaluate';
import { trainPlain } from './plain-trainer';
import type { EpochProgress, TrainingOptions } from './trainer';

/** Inputs of {@link trainLocalRound}. */
export interface LocalRoundInput extends TrainingOptions {
  spec: ModelSpec;
  /** θ_global: the round's input model. */
  globalTensors: readonly Tensor[];
  data: {
    /** Training rows (oversampled); used by plain training. */
    train: Dataset;
    /** Training rows without oversampling; DP-SGD trains on these and they set the sample count. */
    trainOriginal: Dataset;
    validation: Dataset;
  };
  runId: string;
  round: number;
  mspId: string;
  dp?: DpSettings;
  /**
   * Privacy spent in earlier rounds; this round's events are composed into it. A fresh accountant
   * is used when absent (then ε covers this round only).
   */
  accountant?: PrivacyAccountant;
  /**
   * The run's shared-metrics setting. Default `none`: no validation metric leaves the hospital.
   * `noised`: the noised confusion-matrix metrics travel with the update, and their release is
   * composed into the accountant.
   */
  sharedMetrics?: SharedMetrics;
  /** Randomness for DP noise and sampling; default crypto. Seed it only in tests. */
  random?: RandomSource;
  onEpoch?: (progress: EpochProgress) => void;
}

/** What a local round produces. */
export interface LocalRoundResult {
  /** Δ as a container (kind `update`, encoding `float32`), DP accounting in `extra`. */
  update: Container;
  sampleCount: number;
  /** Validation metrics of θ_global (before) and of θ_global + Δ as submitted (after). Local only. */
  metrics: { before: ClassificationMetrics; after: ClassificationMetrics };
  /** ε spent over every round the accountant has seen, at the configured δ; undefined without DP. */
  epsilon?: number;
  /** The same ε by both accountants (the chosen one is `epsilon`; the other a cross-check). */
  epsilons?: { pld: number; rdp: number };
  /** The metrics that left the hospital with the update (noised), if the run shares them. */
  sharedMetrics?: Record<string, number>;
  /** The DP record for the ledger. */
  dpAccounting?: DpAccounting;
  dp?: ResolvedDp;
  samplesPerSecond: number;
}

/**
 * Runs one local round.
 * @throws {ModelError} when the model does not fit the data; {ConfigError} or {PrivacyError} for
 * unusable DP settings.
 */
export async function trainLocalRound(input: Readonly<LocalRoundInput>): Promise<LocalRoundResult> {
  const { spec, globalTensors, data } = input;
  const sampleCount = data.trainOriginal.rows;
  const dp = resolveDp(input.dp ?? { mode: 'none' }, sampleCount, input);
  const before = evaluateTensors(spec, globalTensors, data.validation);
  const options: TrainingOptions = { ...input };
  // Oversampling duplicates records, which would give a patient more weight than DP-SGD's
  // accounting assumes; DP-SGD therefore trains on the original rows.
  const trained =
    dp?.mode === 'dp-sgd'
      ? await dpSgdTrainer({
          clipNorm: dp.clipNorm,
          noiseMultiplier: dp.noiseMultiplier,
          ...(input.random ? { random: input.random } : {}),
        })(spec, globalTensors, data.trainOriginal, options)
      : await trainPlain(spec, globalTensors, data.train, options);
  let delta = subtractTensors(trained.tensors, globalTensors);
  const accountant =
    input.accountant ??
    (dp ? newPrivacyAccountant({ kind: dp.accountant, conversion: dp.conversion }) : undefined);
  for (const event of trained.privacyEvents) accountant?.compose(event);
  if (dp?.mode === 'update') {
    const privatised = privatiseUpdate(delta, {
      clipNorm: dp.clipNorm,
      noiseMultiplier: dp.noiseMultiplier,
      ...(input.random ? { random: input.random } : {}),
    });
    delta = privatised.tensors;
    accountant?.compose(privatised.event);
  }
  const submitted = addTensors(globalTensors, delta);
  const after = evaluateTensors(spec, submitted, data.validation);
  const extra: Record<string, string> = {};
  // Validation metrics leave the hospital only noised, and only when the run asks for them.
  let shared: Record<string, number> | undefined;
  if (input.sharedMetrics?.mode === 'noised') {
    const sigma = input.sharedMetrics.noiseMultiplier;
    const noised = noisedMetrics(after.confusion, sigma, input.random);
    accountant?.compose(noised.event);
    shared = noised.metrics;
    for (const [name, value] of Object.entries(noised.metrics)) {
      extra[`${CONTAINER_EXTRA.METRICS_PREFIX}${name}`] = decimalString(value);
    }
    extra[METRICS_NOISE_MULTIPLIER_KEY] = decimalString(sigma);
  }
  const epsilons = dp && accountant ? accountant.epsilons(dp.delta) : undefined;
  const epsilon = epsilons && accountant ? epsilons[accountant.kind] : undefined;
  const dpAccounting: DpAccounting | undefined =
    dp && epsilon !== undefined && accountant
      ? {
          mechanism: `${dp.mode === 'dp-sgd' ? 'dp-sgd' : 'gaussian-update'}-${accountant.kind}`,
          epsilonSpent: decimalString(epsilon),
          delta: decimalString(dp.delta),
          noiseMultiplier: decimalString(dp.noiseMultiplier),
          clipNorm: decimalString(dp.clipNorm),
        }
      : undefined;
  if (dpAccounting && dp && accountant) {
    dpToExtra(dpAccounting, extra);
    extra[CONTAINER_EXTRA.DP_ACCOUNTANT] =
      accountant.kind === 'pld' ? 'pld/connect-the-dots' : `rdp/${dp.conversion}`;
  }
  const update: Container = {
    metadata: {
      kind: 'update',
      runId: input.runId,
      round: input.round,
      mspId: input.mspId,
      sampleCount,
      modelSpecHash: modelSpecHash(spec),
      encoding: 'float32',
    },
    extra,
    tensors: delta,
  };
  return {
    update,
    sampleCount,
    metrics: { before, after },
    ...(epsilon !== undefined ? { epsilon } : {}),
    ...(epsilons ? { epsilons } : {}),
    ...(shared ? { sharedMetrics: shared } : {}),
    ...(dpAccounting ? { dpAccounting } : {}),
    ...(dp ? { dp } : {}),
    samplesPerSecond: trained.samplesPerSecond,
  };
}

/** θ + Δ over matching tensors. */
export function addTensors(base: readonly Tensor[], delta: readonly Tensor[]): Tensor[] {
  const byName = new Map(delta.map((t) => [t.name, t]));
  return base.map((t) => {
    const d = byName.get(t.name);
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (t.data[i] as number) + (d?.data[i] ?? 0);
    return { name: t.name, dtype: 'F32', shape: [...t.shape], data };
  });
}
