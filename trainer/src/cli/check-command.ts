// `fedledger-trainer check`: was this hospital's update included in each round's aggregate? Read
// from the ledger's audit trail on the hospital's own peer (through the gateway only on the
// simulated ledger, which has no peers).
import { inclusionOf, UpdatesExcludedError } from '../client/inclusion';
import type { Command } from './command';
import { optionTable } from './command';
import { GATEWAY_SOURCE } from '../client/gateway-client';
import { UsageError } from './args';
import { connectFromArgs, GATEWAY_HELP, GATEWAY_OPTIONS } from './gateway-args';

export const checkCommand: Command = {
  name: 'check',
  summary: "inclusion check: this hospital's update in each round, from the ledger's audit trail",
  help: `Usage: fedledger-trainer check --gateway URL --gateway-ca FILE --identities FILE --identity NAME --run ID [--json]

${GATEWAY_HELP}
  --json                     print the rounds as JSON

Prints, for each round, whether this hospital's update was included in the aggregate, excluded
(with the exclusion code the coordinator recorded), pending (round still open) or missing (none
recorded). With a Fabric connection.json it reads the hospital's own peer, not the gateway; the
first line names the source.

Exit codes: 0 none excluded, 1 an update recorded on the ledger was excluded, 2 usage, 8 gateway.`,
  options: optionTable([...GATEWAY_OPTIONS], ['json']),
  async run(args) {
    const { identity, client, ownLedger } = connectFromArgs(args);
    const runId = args.required('run');
    try {
      // The hospital's own peer when it has one; the gateway only on the simulated ledger.
      const trail = ownLedger
        ? await ownLedger.getAuditTrail(runId)
        : await client.getAuditTrail(runId);
      const source = ownLedger?.source ?? GATEWAY_SOURCE;
      if (!trail) throw new UsageError(`run ${runId} is not on the ledger (read from ${source}).`);
      const rounds = inclusionOf(trail, identity.mspId);
      if (args.flag('json')) {
        console.log(JSON.stringify({ runId, mspId: identity.mspId, source, rounds }, null, 2));
      } else {
        console.log(
          `run ${runId} (${trail.run.status}, ${trail.rounds.length}/${trail.run.roundsPlanned} rounds) as ${identity.mspId}, read from ${source}:`,
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
      ownLedger?.close();
    }
  },
};
