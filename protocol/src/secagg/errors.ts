// The typed error of secure aggregation: one class, a stable code, and the hospital it concerns.
import type { SecAggErrorCode } from './types';

/** Every secure-aggregation refusal; `code` is stable and safe to show to callers. */
export class SecAggError extends Error {
  readonly code: SecAggErrorCode;
  /** The hospital (MSP ID) whose share, secret or message failed, where one is to blame. */
  readonly mspId: string | undefined;

  constructor(code: SecAggErrorCode, message: string, options?: ErrorOptions & { mspId?: string }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.mspId = options?.mspId;
  }
}
