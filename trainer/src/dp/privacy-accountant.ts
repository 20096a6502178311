// The privacy accountant a hospital keeps for a run: the history of its releases (DP-SGD steps,
// noised updates, noised metrics) and ε over all of it, by privacy loss distributions (the
// default, ./pld-accountant.ts) or Rényi DP (./rdp.ts); the other one is always at hand as a
// cross-check. The history is the state: it is saved after every round, so ε keeps adding up
// across rounds run in separate processes.
import { PrivacyError } from '../errors';
import type { PrivacyEvent } from './accountant';
import { newRdpAccountant } from './accountant';
import { pldEpsilon } from './pld-accountant';
import type { RdpConversion } from './rdp';

/** How ε is computed from the history. */
export type AccountantKind = 'pld' | 'rdp';

/** The accountants a hospital may choose. */
export const ACCOUNTANT_KINDS: readonly AccountantKind[] = ['pld', 'rdp'];

/** Serialised state: the history of releases. */
export interface PrivacyAccountantState {
  format: 'fedledger-privacy/1';
  accountant: AccountantKind;
  conversion: RdpConversion;
  events: PrivacyEvent[];
}

/** Options of {@link newPrivacyAccountant}. */
export interface PrivacyAccountantOptions {
  /** Default `pld`. */
  kind?: AccountantKind;
  /** RDP's conversion to (ε, δ); default `improved`. */
  conversion?: RdpConversion;
  events?: readonly PrivacyEvent[];
}

/** Composes releases and reports ε over all of them. */
export interface PrivacyAccountant {
  readonly kind: AccountantKind;
  /** Adds `event` to the history. @throws {RangeError} for out-of-range parameters. */
  compose(event: PrivacyEvent): void;
  /** ε for δ over the whole history, by this accountant's method. */
  epsilon(delta: number): number;
  /** ε for δ by both methods (PLD is the tighter; RDP the cross-check). */
  epsilons(delta: number): { pld: number; rdp: number };
  /** A copy of the history. */
  events(): PrivacyEvent[];
  state(): PrivacyAccountantState;
}

/** The ε of `events` at δ by the chosen method. */
export function historyEpsilon(
  events: readonly PrivacyEvent[],
  delta: number,
  kind: AccountantKind = 'pld',
  conversion: RdpConversion = 'improved',
): number {
  if (kind === 'pld') return pldEpsilon(events, delta);
  return newRdpAccountant({ conversion, events }).epsilon(delta).epsilon;
}

/** Creates an accountant, empty or resumed from a saved history. */
export function newPrivacyAccountant(
  options: Readonly<PrivacyAccountantOptions> = {},
): PrivacyAccountant {
  const kind = options.kind ?? 'pld';
  const conversion = options.conversion ?? 'improved';
  const history: PrivacyEvent[] = [];
  // Only the RDP check validates events the same way for both methods.
  const check = newRdpAccountant({ conversion });
  const accountant: PrivacyAccountant = {
    kind,
    compose(event) {
      check.compose(event);
      history.push({ ...event });
    },
    epsilon: (delta) => historyEpsilon(history, delta, kind, conversion),
    epsilons: (delta) => ({
      pld: historyEpsilon(history, delta, 'pld'),
      rdp: historyEpsilon(history, delta, 'rdp', conversion),
    }),
    events: () => history.map((e) => ({ ...e })),
    state: () => ({
      format: 'fedledger-privacy/1',
      accountant: kind,
      conversion,
      events: history.map((e) => ({ ...e })),
    }),
  };
  for (const event of options.events ?? []) accountant.compose(event);
  return accountant;
}

/**
 * Restores an accountant from its saved state (or from the RDP-only `fedledger-rdp/1` state of
 * earlier versions: its events are the same). `kind` overrides the saved method.
 * @throws {PrivacyError} when the state is not one this version wrote.
 */
export function restorePrivacyAccountant(value: unknown, kind?: AccountantKind): PrivacyAccountant {
  const s = (value ?? {}) as Omit<Partial<PrivacyAccountantState>, 'format'> & { format?: unknown };
  const known = s.format === 'fedledger-privacy/1' || s.format === 'fedledger-rdp/1';
  if (!known || !Array.isArray(s.events)) {
    throw new PrivacyError('The privacy accountant state is not a fedledger-privacy/1 document.');
  }
  const saved = s.format === 'fedledger-rdp/1' ? 'rdp' : s.accountant;
  return newPrivacyAccountant({
    kind: kind ?? (saved === 'rdp' ? 'rdp' : 'pld'),
    conversion: s.conversion === 'classic' ? 'classic' : 'improved',
    events: s.events,
  });
}
