// The one error type the contract throws: a stable code, then a sentence (`CODE: sentence`).
import type { LedgerErrorCode } from '@fedledger/protocol';

/** A refused transaction. The message starts with the code so clients can map it. */
export class LedgerRuleError extends Error {
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, sentence: string) {
    super(`${code}: ${sentence}`);
    this.name = 'LedgerRuleError';
    this.code = code;
  }
}

/** Throws a {@link LedgerRuleError} unless `condition` holds. */
export function ensure(
  condition: boolean,
  code: LedgerErrorCode,
  sentence: string,
): asserts condition {
  if (!condition) throw new LedgerRuleError(code, sentence);
}
