// A verification report as an auditor reads it in a terminal: one ✓ or ✗ line per round, each
// problem underneath (the verifier's messages name the round and the update), what could not be
// re-checked (marked ?), and the verdict.
import type { VerificationReport } from './verify';

/** Exit status of a verification: 0 when every round verified, 1 otherwise. */
export function verificationExitCode(report: Pick<VerificationReport, 'ok'>): 0 | 1 {
  return report.ok ? 0 : 1;
}

/** The report as text: a header, a line per round, run-level problems and a verdict. */
export function formatVerificationReport(report: VerificationReport): string {
  const out: string[] = [`Run ${report.runId}, verified against ${report.ledger}`];
  for (const round of report.rounds) {
    const unsure = (round.unverifiable ?? []).length;
    if (round.ok && unsure > 0) {
      const included = round.included.length ? round.included.join(', ') : 'no updates';
      out.push(
        `? round ${round.round}: aggregate recomputed from ${included}; ${unsure} exclusion${unsure === 1 ? '' : 's'} could not be re-checked`,
      );
    } else if (round.ok) {
      const included = round.included.length ? round.included.join(', ') : 'no updates';
      out.push(`✓ round ${round.round}: aggregate recomputed from ${included}`);
    } else {
      out.push(`✗ round ${round.round}`);
      for (const p of round.problems) out.push(`    ${p.code}: ${p.message}`);
    }
    for (const p of round.unverifiable ?? []) out.push(`  ? ${p.code}: ${p.message}`);
  }
  for (const p of report.problems) out.push(`✗ run: ${p.code}: ${p.message}`);
  const failed = report.rounds.filter((r) => !r.ok).length;
  const unverifiable = report.rounds.reduce((n, r) => n + (r.unverifiable ?? []).length, 0);
  if (report.ok) {
    out.push(
      unverifiable > 0
        ? `Verified what could be: no round contradicts the ledger, but ${unverifiable} exclusion${unverifiable === 1 ? '' : 's'} unverifiable: bytes withheld (ask the hospital for fedledger-trainer export-updates)`
        : `Verified: all ${report.rounds.length} rounds ✓`,
    );
  } else if (failed > 0) {
    out.push(`NOT verified: ${failed} of ${report.rounds.length} rounds ✗`);
  } else {
    out.push('NOT verified');
  }
  return `${out.join('\n')}\n`;
}
