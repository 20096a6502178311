// The local Fabric network for the scripts that need one (the demo, the experiment's ledger
// figures): a network that is up and healthy is used as it is; otherwise Fabric is built (once)
// and the network brought up, and only then is it taken down again afterwards.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { quietly, run } from '../demo/processes';

const ROOT = resolve(__dirname, '..', '..', '..');
const NETWORK_SH = join(ROOT, 'scripts', 'network.sh');

/** The network a script uses. Create it first, so that a Ctrl-C during `ensureUp` can `stop`. */
export interface LocalNetwork {
  /** True once this process has begun bringing the network up. */
  readonly startedHere: boolean;
  /**
   * Uses the running network, or builds Fabric and brings one up with `hospitals` hospitals
   * (the script's default, 3, when not given), streaming the progress.
   * @throws {Error} naming the step (install or up) that failed, or when `hospitals` is given and
   * the running network has another number of hospitals.
   */
  ensureUp(hospitals?: number): Promise<void>;
  /** Takes the network down if this process started it (also half-way); a no-op otherwise. */
  stop(): Promise<void>;
}

/** A handle on the local network; `say` receives this module's own lines. */
export function localNetwork(say: (line: string) => void): LocalNetwork {
  let startedHere = false;
  let stopped = false;
  return {
    get startedHere() {
      return startedHere;
    },
    async ensureUp(hospitals?: number) {
      if ((await quietly(NETWORK_SH, ['status'])) === 0) {
        const running = hospitalsOfNetwork();
        if (hospitals !== undefined && running !== undefined && running !== hospitals) {
          throw new Error(
            `the running network has ${running} hospitals, not ${hospitals}: take it down first (scripts/network.sh down, which deletes its ledger) or pass --hospitals ${running}`,
          );
        }
        say('the network is already up and healthy; using it');
        return;
      }
      await run('install-fabric', join(ROOT, 'scripts', 'install-fabric.sh'), []);
      startedHere = true;
      await run('network', NETWORK_SH, [
        'up',
        ...(hospitals !== undefined ? ['--hospitals', String(hospitals)] : []),
      ]);
    },
    async stop() {
      if (!startedHere || stopped) return;
      stopped = true;
      say(
        'stopping the Fabric network it started (scripts/network.sh down, which deletes its data, the ledger included)',
      );
      await quietly(NETWORK_SH, ['down']);
    },
  };
}

/** The number of hospital identities in the network's connection.json, if it can be read. */
function hospitalsOfNetwork(): number | undefined {
  const dir = process.env['FEDLEDGER_NETWORK_DIR'] ?? join(ROOT, '.fedledger', 'network');
  const file = resolve(ROOT, dir, 'connection.json');
  if (!existsSync(file)) return undefined;
  try {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { identities?: object };
    return Object.keys(profile.identities ?? {}).filter((n) => /^hospital\d+$/.test(n)).length;
  } catch {
    return undefined;
  }
}
