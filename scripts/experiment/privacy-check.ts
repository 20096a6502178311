// An independent check of the ε each DP run reports: the accountant's own RDP formulas, but only
// at the orders whose values are plausible — positive, and not below a lower order's (RDP never
// decreases with the order). Where the accountant's low fractional orders go numerically wrong
// (negative RDP at σ ≈ 3, which its conversion turns into ε = 0), the two disagree and the
// experiment says so instead of printing a privacy level that was not achieved.
import type { PrivacyEvent } from '@fedledger/trainer';
import { DEFAULT_RDP_ORDERS, epsilonFromRdp, eventRdp } from '@fedledger/trainer';

/** ε at `delta` after `rounds` repetitions of `roundEvent`, from the plausible orders only. */
export function checkedEpsilon(
  roundEvent: Readonly<PrivacyEvent>,
  rounds: number,
  delta: number,
): number {
  const orders = [...DEFAULT_RDP_ORDERS].sort((a, b) => a - b);
  const perStep = eventRdp(roundEvent, orders);
  const kept: { order: number; rdp: number }[] = [];
  orders.forEach((order, k) => {
    const rdp = perStep[k] as number;
    const previous = kept[kept.length - 1]?.rdp ?? 0;
    if (Number.isFinite(rdp) && rdp > 0 && rdp >= previous) kept.push({ order, rdp });
  });
  return epsilonFromRdp(
    kept.map((k) => k.order),
    kept.map((k) => k.rdp * roundEvent.count * rounds),
    delta,
    'improved',
  ).epsilon;
}

/** True when the accountant reports over 1 % less ε than the check. */
export function epsilonUnderstated(reported: number, check: number): boolean {
  return check - reported > 0.01 * check + 1e-6;
}
