// Noise calibration: the smallest noise multiplier σ whose composed RDP meets a target (ε, δ)
// for a planned schedule of releases. ε falls monotonically as σ grows, so a bisection on σ finds
// the boundary; the upper end is returned, so the plan never overspends.
import { PrivacyError } from '../errors';
import type { PrivacyEvent } from './accountant';
import { eventRdp } from './accountant';
import type { RdpConversion } from './rdp';
import { DEFAULT_RDP_ORDERS, epsilonFromRdp } from './rdp';

/** What a calibration must achieve and over what plan. */
export interface CalibrationTarget {
  targetEpsilon: number;
  delta: number;
  /** The planned releases; their `noiseMultiplier` is ignored and replaced by the candidate σ. */
  plan: readonly Omit<PrivacyEvent, 'noiseMultiplier'>[];
  /** Scales σ into the multiplier the accountant sees (e.g. ½ when sensitivity is 2C). */
  sensitivityScale?: number;
  conversion?: RdpConversion;
  orders?: readonly number[];
  /** Relative precision of σ; default 1e-4. */
  tolerance?: number;
}

/** ε reached by the plan with noise multiplier σ. */
export function planEpsilon(target: Readonly<CalibrationTarget>, sigma: number): number {
  const orders = target.orders ?? DEFAULT_RDP_ORDERS;
  const scale = target.sensitivityScale ?? 1;
  const total = orders.map(() => 0);
  for (const step of target.plan) {
    const curve = eventRdp({ ...step, noiseMultiplier: sigma * scale }, orders);
    curve.forEach((v, i) => (total[i] = (total[i] as number) + v * step.count));
  }
  return epsilonFromRdp(orders, total, target.delta, target.conversion ?? 'improved').epsilon;
}

/**
 * Finds the smallest σ (to `tolerance`) with ε(σ) ≤ targetEpsilon.
 * @throws {PrivacyError} when no σ up to 10⁴ is enough, or the target is not positive.
 */
export function calibrateNoiseMultiplier(target: Readonly<CalibrationTarget>): number {
  if (!(target.targetEpsilon > 0) || !Number.isFinite(target.targetEpsilon)) {
    throw new PrivacyError(`The target ε must be a positive number, not ${target.targetEpsilon}.`);
  }
  const tolerance = target.tolerance ?? 1e-4;
  let hi = 1;
  while (planEpsilon(target, hi) > target.targetEpsilon) {
    hi *= 2;
    if (hi > 1e4) {
      throw new PrivacyError(
        `No noise multiplier up to 10⁴ reaches ε = ${target.targetEpsilon} at δ = ${target.delta}.`,
      );
    }
  }
  let lo = hi / 2;
  if (planEpsilon(target, lo) <= target.targetEpsilon) {
    lo = 0;
  }
  while (hi - lo > tolerance * hi) {
    const mid = (lo + hi) / 2;
    if (planEpsilon(target, mid) <= target.targetEpsilon) hi = mid;
    else lo = mid;
  }
  return hi;
}
