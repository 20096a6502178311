// Turns whatever a ledger call threw into the gateway's typed errors: contract refusals keep
// their stable code (`UPDATE_EXISTS` → FL_ERR_UPDATE_EXISTS), transport failures become
// FL_ERR_LEDGER_UNAVAILABLE / FL_ERR_LEDGER_TIMEOUT.
import { ledgerErrorMessages, ledgerRefusalOf } from '@fedledger/protocol';
import { GatewayError, LedgerRuleError, LedgerUnavailableError } from '../errors';

/** gRPC status codes that mean "try again later" rather than "refused". */
const DEADLINE_EXCEEDED = 4;

/**
 * Maps a failed ledger call to a {@link GatewayError}. Contract refusals become
 * {@link LedgerRuleError} with the contract's code and sentence.
 */
export function toLedgerError(err: unknown, action: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const refusal = ledgerRefusalOf(err);
  if (refusal) return new LedgerRuleError(refusal.code, refusal.sentence, { cause: err });
  const all = ledgerErrorMessages(err);
  const grpcCode = (err as { code?: unknown } | undefined)?.code;
  if (grpcCode === DEADLINE_EXCEEDED) {
    return new LedgerUnavailableError(
      'FL_ERR_LEDGER_TIMEOUT',
      `${action}: the ledger did not answer in time`,
      {
        cause: err,
      },
    );
  }
  return new LedgerUnavailableError(
    'FL_ERR_LEDGER_UNAVAILABLE',
    `${action}: ${all[0] ?? String(err)}`,
    { cause: err },
  );
}

/** True when `err` is the contract saying the thing asked for does not exist. */
export function isNotFound(err: unknown): boolean {
  return (
    err instanceof LedgerRuleError &&
    (err.ledgerCode === 'RUN_NOT_FOUND' ||
      err.ledgerCode === 'ROUND_NOT_FOUND' ||
      err.ledgerCode === 'UPDATE_NOT_FOUND')
  );
}
