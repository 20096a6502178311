// A hospital's differential-privacy settings and their resolution into a noise multiplier: given
// directly, or calibrated so the planned rounds spend at most the target ε.
import { ConfigError } from '../errors';
import type { TrainingOptions } from '../training/trainer';
import type { PrivacyEvent } from './accountant';
import { calibrateNoiseMultiplier } from './calibrate';
import type { AccountantKind } from './privacy-accountant';
import { dpSgdSchedule } from './dp-sgd';
import type { RdpConversion } from './rdp';
import { UPDATE_SENSITIVITY_FACTOR } from './update-dp';

/** Which privacy mechanism protects the hospital's records. */
export type DpMode = 'none' | 'update' | 'dp-sgd';

/** Differential-privacy settings of a local round. */
export interface DpSettings {
  mode: DpMode;
  /** Clipping norm C (of the update, or of each example's gradient). Default 1. */
  clipNorm?: number;
  /** σ; when absent it is calibrated from `targetEpsilon`. */
  noiseMultiplier?: number;
  /** The ε the whole run may spend (all planned rounds); default 1. */
  targetEpsilon?: number;
  /** δ; default 1e-5. */
  delta?: number;
  /** Rounds the run plans, for calibration; default 10. */
  plannedRounds?: number;
  /** How ε is computed and σ calibrated: `pld` (default, tight) or `rdp`. */
  accountant?: AccountantKind;
  conversion?: RdpConversion;
  /**
   * Noise multiplier of the validation metrics shared each round (the run's shared-metrics
   * setting); their cost is part of the plan σ is calibrated for. Absent: metrics are not shared.
   */
  metricsNoiseMultiplier?: number;
}

/** Settings with every value decided. */
export interface ResolvedDp {
  mode: Exclude<DpMode, 'none'>;
  clipNorm: number;
  noiseMultiplier: number;
  delta: number;
  targetEpsilon?: number;
  plannedRounds: number;
  accountant: AccountantKind;
  conversion: RdpConversion;
  /** The events one round composes. */
  roundEvent: PrivacyEvent;
  /** The release of one round's noised metrics, when the run shares them. */
  metricsEvent?: PrivacyEvent;
}

/**
 * Decides σ for `settings` and a training set of `rows` examples.
 * @throws {ConfigError} for out-of-range settings; {PrivacyError} when ε cannot be met.
 */
export function resolveDp(
  settings: Readonly<DpSettings>,
  rows: number,
  training: Readonly<TrainingOptions>,
): ResolvedDp | undefined {
  if (settings.mode === 'none') return undefined;
  if (settings.mode !== 'update' && settings.mode !== 'dp-sgd') {
    throw new ConfigError(
      `The DP mode must be none, update or dp-sgd, not "${String(settings.mode)}".`,
    );
  }
  const clipNorm = settings.clipNorm ?? 1;
  const delta = settings.delta ?? 1e-5;
  const plannedRounds = settings.plannedRounds ?? 10;
  const conversion = settings.conversion ?? 'improved';
  const accountant = settings.accountant ?? 'pld';
  if (accountant !== 'pld' && accountant !== 'rdp') {
    throw new ConfigError(`The accountant must be pld or rdp, not "${String(accountant)}".`);
  }
  const metricsSigma = settings.metricsNoiseMultiplier;
  if (metricsSigma !== undefined && !(metricsSigma > 0 && Number.isFinite(metricsSigma))) {
    throw new ConfigError(`The metrics noise multiplier must be positive, not ${metricsSigma}.`);
  }
  const metricsEvent: PrivacyEvent | undefined =
    metricsSigma === undefined
      ? undefined
      : { mechanism: 'gaussian', samplingRate: 1, noiseMultiplier: metricsSigma, count: 1 };
  if (!(clipNorm > 0))
    throw new ConfigError(`The clipping norm must be positive, not ${clipNorm}.`);
  if (!(delta > 0 && delta < 1)) throw new ConfigError(`δ must lie in (0, 1), not ${delta}.`);
  if (!Number.isSafeInteger(plannedRounds) || plannedRounds < 1) {
    throw new ConfigError(`The planned rounds must be a positive integer, not ${plannedRounds}.`);
  }
  const schedule =
    settings.mode === 'dp-sgd' ? dpSgdSchedule(rows, training) : { samplingRate: 1, steps: 1 };
  const plan = [
    {
      mechanism:
        settings.mode === 'dp-sgd' ? ('subsampled-gaussian' as const) : ('gaussian' as const),
      samplingRate: schedule.samplingRate,
      count: schedule.steps * plannedRounds,
    },
  ];
  const sensitivityScale = settings.mode === 'update' ? 1 / UPDATE_SENSITIVITY_FACTOR : 1;
  let noiseMultiplier = settings.noiseMultiplier;
  if (noiseMultiplier === undefined) {
    const targetEpsilon = settings.targetEpsilon ?? 1;
    noiseMultiplier = calibrateNoiseMultiplier({
      targetEpsilon,
      delta,
      plan,
      ...(metricsEvent ? { fixed: [{ ...metricsEvent, count: plannedRounds }] } : {}),
      sensitivityScale,
      accountant,
      conversion,
    });
  } else if (!(noiseMultiplier >= 0)) {
    throw new ConfigError(`The noise multiplier must be ≥ 0, not ${noiseMultiplier}.`);
  }
  return {
    mode: settings.mode,
    clipNorm,
    noiseMultiplier,
    delta,
    ...(settings.targetEpsilon !== undefined || settings.noiseMultiplier === undefined
      ? { targetEpsilon: settings.targetEpsilon ?? 1 }
      : {}),
    plannedRounds,
    accountant,
    conversion,
    ...(metricsEvent ? { metricsEvent } : {}),
    roundEvent: {
      mechanism: plan[0]!.mechanism,
      samplingRate: schedule.samplingRate,
      noiseMultiplier: noiseMultiplier * sensitivityScale,
      count: schedule.steps,
    },
  };
}

/** A number as a plain decimal string (never exponent notation), 6 significant digits. */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Number(value.toPrecision(6));
  if (rounded === 0 || Math.abs(rounded) >= 1e-6) return String(rounded);
  return rounded.toFixed(20).replace(/0+$/, '');
}
