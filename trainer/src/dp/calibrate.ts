// Noise calibration: the smallest noise multiplier σ whose composed privacy loss meets a target
// (ε, δ) for a planned schedule of releases. ε falls monotonically as σ grows, so a bracketing
// search on σ finds the boundary; the upper end is returned, so the plan never overspends. PLD
// (the default) is the tight accountant; RDP's σ, an upper bound of PLD's, brackets the search.
import { PrivacyError } from '../errors';
import type { PrivacyEvent } from './accountant';
import { eventRdp } from './accountant';
import type { AccountantKind } from './privacy-accountant';
import { historyEpsilon } from './privacy-accountant';
import type { RdpConversion } from './rdp';
import { DEFAULT_RDP_ORDERS, epsilonFromRdp } from './rdp';

/** What a calibration must achieve and over what plan. */
export interface CalibrationTarget {
  targetEpsilon: number;
  delta: number;
  /** The planned releases; their `noiseMultiplier` is ignored and replaced by the candidate σ. */
  plan: readonly Omit<PrivacyEvent, 'noiseMultiplier'>[];
  /** Releases at a noise of their own (e.g. noised metrics), composed with the plan. */
  fixed?: readonly PrivacyEvent[];
  /** Scales σ into the multiplier the accountant sees (e.g. ½ when sensitivity is 2C). */
  sensitivityScale?: number;
  /** Default `pld`. */
  accountant?: AccountantKind;
  conversion?: RdpConversion;
  orders?: readonly number[];
  /** Relative precision of σ; default 1e-4 (RDP) or 1e-3 (PLD, whose ε is pessimistic to ~1e-6). */
  tolerance?: number;
}

/** The plan's events at noise multiplier σ, with the fixed ones. */
function planEvents(target: Readonly<CalibrationTarget>, sigma: number): PrivacyEvent[] {
  const scale = target.sensitivityScale ?? 1;
  return [
    ...target.plan.map((step) => ({ ...step, noiseMultiplier: sigma * scale })),
    ...(target.fixed ?? []),
  ];
}

/** ε reached by the plan with noise multiplier σ. */
export function planEpsilon(target: Readonly<CalibrationTarget>, sigma: number): number {
  const events = planEvents(target, sigma);
  if ((target.accountant ?? 'pld') === 'pld') return historyEpsilon(events, target.delta, 'pld');
  const orders = target.orders ?? DEFAULT_RDP_ORDERS;
  const total = orders.map(() => 0);
  for (const event of events) {
    const curve = eventRdp(event, orders);
    curve.forEach((v, i) => (total[i] = (total[i] as number) + v * event.count));
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
  const pld = (target.accountant ?? 'pld') === 'pld';
  const tolerance = target.tolerance ?? (pld ? 1e-3 : 1e-4);
  const meets = (sigma: number): boolean => planEpsilon(target, sigma) <= target.targetEpsilon;
  let hi = 1;
  let lo = 0;
  if (pld) {
    // RDP bounds PLD from above, so RDP's σ meets the target and brackets the search from above.
    hi = calibrateNoiseMultiplier({ ...target, accountant: 'rdp', tolerance: 1e-3 });
    // PLD's σ is rarely below 0.8 of RDP's (0.94 at the demo's settings).
    lo = meets(hi * 0.8) ? 0 : hi * 0.8;
    return bisect(target, lo, hi, tolerance);
  }
  while (!meets(hi)) {
    hi *= 2;
    if (hi > 1e4) {
      throw new PrivacyError(
        `No noise multiplier up to 10⁴ reaches ε = ${target.targetEpsilon} at δ = ${target.delta}.`,
      );
    }
  }
  lo = hi / 2;
  if (meets(lo)) lo = 0;
  return bisect(target, lo, hi, tolerance);
}

/**
 * Narrows [lo, hi] (lo fails or is 0) until it is `tolerance`·hi wide, and returns hi. ε(σ) is
 * smooth, so a secant step on log ε (then a probe just either side of its root) usually closes
 * the bracket in two or three evaluations of an accountant that takes a second each; a bisection
 * step follows any secant step that did not halve the bracket.
 */
function bisect(
  target: Readonly<CalibrationTarget>,
  lo: number,
  hi: number,
  tolerance: number,
): number {
  const gap = (sigma: number): number =>
    Math.log(planEpsilon(target, sigma) / target.targetEpsilon);
  let low = lo;
  let high = hi;
  let fHigh = gap(high);
  while (fHigh > 0) {
    low = high;
    high *= 2;
    if (high > 1e4) {
      throw new PrivacyError(
        `No noise multiplier up to 10⁴ reaches ε = ${target.targetEpsilon} at δ = ${target.delta}.`,
      );
    }
    fHigh = gap(high);
  }
  let fLow = low > 0 ? gap(low) : Infinity;
  while (high - low > tolerance * high) {
    const width = high - low;
    // ε(σ) is close to a power of σ: the secant runs on log σ.
    const secant =
      low > 0 && Number.isFinite(fLow) && fLow > fHigh
        ? Math.exp(Math.log(high) - (fHigh * Math.log(high / low)) / (fHigh - fLow))
        : (low + high) / 2;
    for (const probe of [secant * (1 + tolerance / 2), secant * (1 - tolerance / 2)]) {
      if (!(probe > low && probe < high)) continue;
      const f = gap(probe);
      if (f <= 0) [high, fHigh] = [probe, f];
      else [low, fLow] = [probe, f];
    }
    if (high - low > width / 2) {
      const mid = (low + high) / 2;
      const f = gap(mid);
      if (f <= 0) [high, fHigh] = [mid, f];
      else [low, fLow] = [mid, f];
    }
  }
  return high;
}
