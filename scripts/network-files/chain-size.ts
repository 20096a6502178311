// The size of a channel's chain as one peer stores it: its block files under the network folder
// that scripts/network.sh lays out (data/<peer>/ledger/ledgersData/chains/chains/<channel>/).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Total bytes of `peer`'s block files of `channel`, or undefined when the peer has none yet. */
export function chainBytes(
  networkDir: string,
  peer: string,
  channel = 'fedledger',
): number | undefined {
  const dir = join(networkDir, 'data', peer, 'ledger', 'ledgersData', 'chains', 'chains', channel);
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir)
    .filter((f) => f.startsWith('blockfile_'))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}
