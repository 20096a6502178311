// A hospital's differential-privacy settings and their resolution into a noise multiplier: given
// directly, or calibrated so the planned rounds spend at most the target ε.
import { ConfigError } from '../errors';
import type { TrainingOptions } from '../training/trainer';
import type { PrivacyEvent } from './accountant';
import { calibrateNoiseMultiplier } from './calibrate';
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
  conversion?: RdpConversion;
}

/** Settings with every value decided. */
export interface ResolvedDp {
  mode: Exclude<DpMode, 'none'>;
  clipNorm: number;
  noiseMultiplier: number;
  delta: number;
  targetEpsilon?: number;
  plannedRounds: number;
  conversion: RdpConversion;
  /** The events one round composes. */
  roundEvent: PrivacyEvent;
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
      sensitivityScale,
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
    conversion,
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
