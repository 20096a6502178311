// A Rényi-DP accountant: composes Gaussian and Poisson-subsampled Gaussian events over steps and
// rounds, reports (ε, δ) at any time, and serialises its history so ε keeps adding up across
// rounds run in separate processes. The math lives in ./rdp.ts (papers cited there).
import { PrivacyError } from '../errors';
import type { EpsilonAtOrder, RdpConversion } from './rdp';
import { DEFAULT_RDP_ORDERS, epsilonFromRdp, rdpGaussian, rdpSubsampledGaussian } from './rdp';

/** One privacy-relevant release, repeated `count` times. */
export interface PrivacyEvent {
  /** `gaussian`: a full-data Gaussian release; `subsampled-gaussian`: a Poisson-sampled one. */
  mechanism: 'gaussian' | 'subsampled-gaussian';
  /** Noise standard deviation divided by the L2 sensitivity. */
  noiseMultiplier: number;
  /** Poisson sampling rate (1 for `gaussian`). */
  samplingRate: number;
  /** How many times the release is composed (steps, rounds). */
  count: number;
}

/** Serialised accountant state, suitable for a JSON file beside a hospital's data. */
export interface AccountantState {
  format: 'fedledger-rdp/1';
  orders: number[];
  conversion: RdpConversion;
  events: PrivacyEvent[];
}

/** Options of {@link newRdpAccountant}. */
export interface RdpAccountantOptions {
  orders?: readonly number[];
  conversion?: RdpConversion;
  events?: readonly PrivacyEvent[];
}

/** Composes privacy events and converts the running total to (ε, δ). */
export interface RdpAccountant {
  /** Adds `event` to the history. @throws {RangeError} for out-of-range parameters. */
  compose(event: PrivacyEvent): void;
  /** The smallest ε (and the order achieving it) for δ over everything composed so far. */
  epsilon(delta: number): EpsilonAtOrder;
  /** The accumulated RDP curve, one value per order. */
  rdp(): number[];
  /** A copy of the history, for saving. */
  state(): AccountantState;
}

/** Creates an accountant, empty or resumed from saved events. */
export function newRdpAccountant(options: Readonly<RdpAccountantOptions> = {}): RdpAccountant {
  const orders = [...(options.orders ?? DEFAULT_RDP_ORDERS)];
  const conversion = options.conversion ?? 'improved';
  const events: PrivacyEvent[] = [];
  const total = orders.map(() => 0);
  const accountant: RdpAccountant = {
    compose(event) {
      checkEvent(event);
      const curve = eventRdp(event, orders);
      curve.forEach((value, i) => {
        total[i] = (total[i] as number) + value * event.count;
      });
      events.push({ ...event });
    },
    epsilon(delta) {
      return epsilonFromRdp(orders, total, delta, conversion);
    },
    rdp: () => [...total],
    state: () => ({
      format: 'fedledger-rdp/1',
      orders: [...orders],
      conversion,
      events: events.map((e) => ({ ...e })),
    }),
  };
  for (const event of options.events ?? []) accountant.compose(event);
  return accountant;
}

/**
 * Restores an accountant from {@link AccountantState} JSON.
 * @throws {PrivacyError} when the state is not one this version wrote.
 */
export function restoreRdpAccountant(value: unknown): RdpAccountant {
  const state = value as Partial<AccountantState> | null;
  if (
    !state ||
    state.format !== 'fedledger-rdp/1' ||
    !Array.isArray(state.orders) ||
    !Array.isArray(state.events) ||
    (state.conversion !== 'classic' && state.conversion !== 'improved')
  ) {
    throw new PrivacyError('The privacy accountant state is not a fedledger-rdp/1 document.');
  }
  return newRdpAccountant(state);
}

/** RDP of one occurrence of `event` at each order. */
export function eventRdp(event: PrivacyEvent, orders: readonly number[]): number[] {
  return event.mechanism === 'gaussian'
    ? rdpGaussian(event.noiseMultiplier, orders)
    : rdpSubsampledGaussian(event.samplingRate, event.noiseMultiplier, orders);
}

function checkEvent(event: PrivacyEvent): void {
  if (!Number.isSafeInteger(event.count) || event.count < 0) {
    throw new RangeError(
      `A privacy event's count must be a non-negative integer, not ${event.count}.`,
    );
  }
  if (event.mechanism === 'gaussian' && event.samplingRate !== 1) {
    throw new RangeError('A plain Gaussian event has sampling rate 1.');
  }
}
