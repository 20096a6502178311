// `fedledger-trainer check`: was this hospital's update included in each round's aggregate? Read
// from the ledger's audit trail through the gateway.
import { inclusionOf, UpdatesExcludedError } from '../client/inclusion';
import type { Command } from './command';
import { optionTable } from './command';
import { connectFromArgs, GATEWAY_HELP, GATEWAY_OPTIONS } from './gateway-args';

export const checkCommand: Command = {
  name: 'check',
  summary: "inclusion check: this hospital's update in each round, from the ledger's audit trail",
  help: `Usage: fedledger-trainer check --gateway URL --gateway-ca FILE --identities FILE --identity NAME --run ID [--json]

${GATEWAY_HELP}
  --json                     print the rounds as JSON

Prints, for each round, whether this hospital's update was included in the aggregate, excluded
(with the reason the coordinator recorded), pending (round still open) or missing (none recorded).

Exit codes: 0 none excluded, 1 an update recorded on the ledger was excluded, 2 usage, 8 gateway.`,
  options: optionTable([...GATEWAY_OPTIONS], ['json']),
  async run(args) {
    const { identity, client } = connectFromArgs(args);
    const runId = args.required('run');
    try {
      const trail = await client.getAuditTrail(runId);
      const rounds = inclusionOf(trail, identity.mspId);
      if (args.flag('json')) {
        console.log(JSON.stringify({ runId, mspId: identity.mspId, rounds }, null, 2));
      } else {
        console.log(
          `run ${runId} (${trail.run.status}, ${trail.rounds.length}/${trail.run.roundsPlanned} rounds) as ${identity.mspId}:`,
        );
        for (const r of rounds) {
          const tx = r.txId !== undefined ? `  tx ${r.txId}` : '';
          const detail =
            r.state === 'excluded'
              ? `excluded: ${[r.code, r.detail].filter(Boolean).join(': ')}${r.onLedger === false ? ' (upload not on the ledger)' : ''}`
              : r.state === 'pending'
                ? 'recorded, round still open'
                : r.state;
          console.log(`  round ${r.round}: ${detail}${tx}`);
        }
      }
      const excluded = rounds.filter((r) => r.state === 'excluded' && r.onLedger !== false);
      if (excluded.length > 0) {
        throw new UpdatesExcludedError(
          identity.mspId,
          excluded.map((r) => r.round),
        );
      }
    } finally {
      client.close();
    }
  },
};
