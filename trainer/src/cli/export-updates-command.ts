// `fedledger-trainer export-updates`: copies the updates this hospital put on the ledger for a run
// out of its working folder, for an auditor who needs bytes the gateway says it does not have.
import { exportSubmitted } from '../client/submitted';
import type { Command } from './command';
import { optionTable } from './command';

export const exportUpdatesCommand: Command = {
  name: 'export-updates',
  summary: "this hospital's submitted updates of a run, for an auditor (fedledger-audit --blobs)",
  help: `Usage: fedledger-trainer export-updates --workdir DIR --run ID --out DIR

  --workdir DIR              the folder fedledger-trainer run used (its submitted/ subfolder)
  --run ID                   the run whose updates to export
  --out DIR                  where to write them: one file per update named by its SHA-256,
                             and manifest.json (run, round, organisation, SHA-256, bytes)

fedledger-trainer run keeps a copy of every update once it is on the ledger. If the gateway
excluded one as missing or altered, give the exported folder to the auditor:
  fedledger-audit verify RUN --blobs https://gateway:8443 --blobs ./hospital2-export
verify then re-checks the exclusion on these bytes (each is re-hashed against the ledger).

Exit codes: 0 exported, 2 usage, 3 nothing recorded for the run in --workdir.`,
  options: optionTable(['workdir', 'run', 'out']),
  async run(args) {
    const workdir = args.required('workdir');
    const runId = args.required('run');
    const out = args.required('out');
    const copies = await exportSubmitted(workdir, runId, out, (file, why) =>
      console.error(`warning: left out ${file}: ${why}`),
    );
    for (const c of copies) {
      console.log(`round ${c.round}: ${c.mspId} ${c.sha256} (${c.byteLength} bytes)`);
    }
    console.log(`exported ${copies.length} update(s) of run ${runId} to ${out}`);
  },
};
