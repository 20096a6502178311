// The ledger the federated arms run on: the in-process SIMULATED ledger (the real contract, dev
// certificates, no Fabric) or a running Fabric network (connection.json from scripts/network.sh),
// with the hospitals' identities that sign their own update transactions.
import { join } from 'node:path';
import { SimulatedLedger } from '@fedledger/chaincode';
import type { LedgerClient, Organisation } from '@fedledger/gateway';
import {
  FabricLedgerClient,
  NetworkProfileError,
  SimulatedLedgerClient,
  defaultNetworkDir,
  ensureDevIdentities,
  loadIdentity,
  loadNetworkProfile,
  newGrpcClient,
  organisationsOf,
} from '@fedledger/gateway';
import type { HospitalIdentity } from '@fedledger/trainer';
import { loadHospitalIdentity } from '@fedledger/trainer';

export type LedgerKind = 'simulated' | 'fabric';

/** A ledger client for the coordinator and the hospitals that submit to it. */
export interface ExperimentLedger {
  kind: LedgerKind;
  /** Printed wherever ledger figures appear ("SIMULATED ledger (…)" on the simulated ledger). */
  label: string;
  client: LedgerClient;
  hospitals: HospitalIdentity[];
  /** The organisations a gateway for these identities knows (hospitals and the coordinator). */
  organisations: Organisation[];
  close(): Promise<void>;
}

/** The ledger cannot be opened (no network, missing identities); the message says what to do. */
export class ExperimentLedgerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

function hospitalNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `hospital${i + 1}`);
}

async function openSimulated(hospitals: number, pkiDir: string): Promise<ExperimentLedger> {
  const names = hospitalNames(hospitals);
  const identities = await ensureDevIdentities(pkiDir, [
    { name: 'coordinator', mspId: 'CoordinatorMSP' },
    ...names.map((name, i) => ({ name, mspId: `Hospital${i + 1}MSP` })),
  ]);
  const index = join(pkiDir, 'identities.json');
  const coordinator = loadHospitalIdentity(index, 'coordinator');
  const client = new SimulatedLedgerClient(new SimulatedLedger(), {
    mspId: identities['coordinator']?.mspId ?? 'CoordinatorMSP',
    certificatePem: coordinator.certPem,
  });
  return {
    kind: 'simulated',
    label: client.label,
    client,
    hospitals: names.map((name) => loadHospitalIdentity(index, name)),
    organisations: organisationsOf(identities),
    close: () => client.close(),
  };
}

async function openFabric(hospitals: number): Promise<ExperimentLedger> {
  const connectionJson = join(defaultNetworkDir(), 'connection.json');
  let client: FabricLedgerClient;
  let identities: HospitalIdentity[];
  let organisations: Organisation[];
  try {
    const profile = loadNetworkProfile(connectionJson);
    const coordinator = loadIdentity(profile, 'coordinator');
    const peer = profile.peers[profile.identities['coordinator']?.peer ?? ''];
    if (!peer)
      throw new NetworkProfileError("the coordinator identity's peer is not in the profile");
    identities = hospitalNames(hospitals).map((name) => loadHospitalIdentity(connectionJson, name));
    organisations = organisationsOf(profile.identities);
    client = new FabricLedgerClient({
      client: newGrpcClient(peer),
      channel: profile.channel,
      chaincode: profile.chaincode,
      identity: coordinator.identity,
      signer: coordinator.signer,
    });
  } catch (err) {
    throw new ExperimentLedgerError(
      `--ledger fabric needs the local Fabric network running (npm run network:up, i.e. scripts/network.sh up) with ${hospitals} hospital identities in ${connectionJson}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  await client.start();
  try {
    // A cheap read proves the peer answers before hours of training depend on it.
    await client.listRuns();
  } catch (err) {
    await client.close();
    throw new ExperimentLedgerError(
      `--ledger fabric: the Fabric network does not answer (is it up? npm run network:status): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    kind: 'fabric',
    label: client.label,
    client,
    hospitals: identities,
    organisations,
    close: () => client.close(),
  };
}

/**
 * Opens the ledger with `hospitals` hospital identities (hospital1…N). Simulated identities are
 * created under `pkiDir` on first use.
 * @throws {ExperimentLedgerError} when Fabric is asked for and its network or identities are missing.
 */
export function openExperimentLedger(
  kind: LedgerKind,
  hospitals: number,
  pkiDir: string,
): Promise<ExperimentLedger> {
  return kind === 'fabric' ? openFabric(hospitals) : openSimulated(hospitals, pkiDir);
}
