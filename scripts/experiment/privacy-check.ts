// An independent check of the ε each DP run reports: the same RDP accountant formulas evaluated
// at integer orders only (2…256). The trainer's accountant also uses fractional orders (1.1,
// 1.2, …); where those go wrong, the two disagree and the experiment says so instead of printing
// a privacy level that was not achieved.
import type { PrivacyEvent } from '@fedledger/trainer';
import { DEFAULT_RDP_ORDERS, epsilonFromRdp, eventRdp } from '@fedledger/trainer';

const INTEGER_ORDERS = DEFAULT_RDP_ORDERS.filter((a) => Number.isInteger(a) && a >= 2);

/** ε at `delta` after `rounds` repetitions of `roundEvent`, from integer RDP orders only. */
export function integerOrderEpsilon(
  roundEvent: Readonly<PrivacyEvent>,
  rounds: number,
  delta: number,
): number {
  const perStep = eventRdp(roundEvent, INTEGER_ORDERS);
  const total = perStep.map((r) => r * roundEvent.count * rounds);
  return epsilonFromRdp(INTEGER_ORDERS, total, delta, 'improved').epsilon;
}

/** True when the accountant's ε and the integer-order check disagree by more than 1 %. */
export function epsilonDisagrees(reported: number, check: number): boolean {
  return Math.abs(reported - check) > 0.01 * Math.max(reported, check) + 1e-6;
}
