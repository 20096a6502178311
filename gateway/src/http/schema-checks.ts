// Compile-time proof that the reply schemas of the gateway's own reply types (a closed round,
// a verification report) describe them exactly; see @fedledger/protocol/schema's type-checks.ts.
import type { Describes } from '@fedledger/protocol/schema';
import type { RoundClosedReplySchema, VerificationReportSchema } from '@fedledger/protocol/schema';
import type { VerificationReport } from '../audit/verify';
import type { RoundClosed } from '../coordinator/coordinator';

interface SchemaChecks {
  roundClosed: Describes<typeof RoundClosedReplySchema, RoundClosed>;
  verificationReport: Describes<typeof VerificationReportSchema, VerificationReport>;
}

/** Compiles only when every flag is true. */
export const REPLY_SCHEMAS_DESCRIBE_TYPES: {
  [K in keyof SchemaChecks]: SchemaChecks[K] extends true ? true : never;
} = { roundClosed: true, verificationReport: true };
