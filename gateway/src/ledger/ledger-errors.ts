// Turns whatever a ledger call threw into the gateway's typed errors: contract refusals keep
// their stable code (`UPDATE_EXISTS` → FL_ERR_UPDATE_EXISTS), transport failures become
// FL_ERR_LEDGER_UNAVAILABLE / FL_ERR_LEDGER_TIMEOUT.
import { parseLedgerErrorCode } from '@fedledger/protocol';
import { GatewayError, LedgerRuleError, LedgerUnavailableError } from '../errors';

interface DetailedError {
  message?: unknown;
  code?: unknown;
  details?: unknown;
}

/** Every message carried by an error and its Fabric endorsement details. */
function messages(err: unknown): string[] {
  const out: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const e = current as DetailedError & { cause?: unknown };
    if (typeof e.message === 'string') out.push(e.message);
    if (Array.isArray(e.details)) {
      for (const d of e.details as DetailedError[]) {
        if (typeof d.message === 'string') out.push(d.message);
      }
    }
    current = e.cause;
  }
  return out;
}

/** gRPC status codes that mean "try again later" rather than "refused". */
const DEADLINE_EXCEEDED = 4;

/**
 * Maps a failed ledger call to a {@link GatewayError}. Contract refusals become
 * {@link LedgerRuleError} with the contract's code and sentence.
 */
export function toLedgerError(err: unknown, action: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const all = messages(err);
  for (const message of all) {
    const code = parseLedgerErrorCode(message);
    if (code !== undefined) {
      const sentence = message.slice(message.indexOf(`${code}:`));
      return new LedgerRuleError(code, sentence, { cause: err });
    }
  }
  const grpcCode = (err as DetailedError | undefined)?.code;
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
