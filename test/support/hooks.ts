// Mocha global fixtures for the integration suite: the Fabric network is brought up once before
// every test file and taken down after them, unless FEDLEDGER_NETWORK=external says to use a
// network that is already running (and leave it running).
import {
  bringNetworkDown,
  bringNetworkUp,
  hasConnectionProfile,
  networkDir,
  networkHealthy,
} from './network';

let broughtUp = false;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env['FEDLEDGER_NETWORK'] === 'external') {
    const dir = networkDir();
    if (!hasConnectionProfile(dir)) {
      throw new Error(
        `FEDLEDGER_NETWORK=external but there is no network in ${dir}: run scripts/network.sh up`,
      );
    }
    console.log(`[integration] using the running Fabric network in ${dir}`);
    return;
  }
  // A network someone already started is left running afterwards.
  const alreadyUp = hasConnectionProfile(networkDir()) && (await networkHealthy());
  await bringNetworkUp();
  broughtUp = !alreadyUp;
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!broughtUp || process.env['FEDLEDGER_KEEP_NETWORK'] === '1') return;
  await bringNetworkDown();
}
