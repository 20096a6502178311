#!/usr/bin/env node
// fedledger-audit: reads a run from the ledger through the auditor's own peer and verifies it
// (commands, options and exit codes in src/audit/audit-cli.ts; `fedledger-audit --help`).
import { AUDIT_EXIT, runAudit } from '../audit/audit-cli';

/** Runs the command line with `argv` (without node and script) and returns the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runAudit(argv);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fedledger-audit: ${String(err)}\n`);
      process.exit(AUDIT_EXIT.FAILED);
    },
  );
}
