#!/usr/bin/env node
// fedledger-gateway: runs the REST gateway on a Fabric network (connection.json written by
// scripts/network.sh) or on the in-process SIMULATED ledger.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SimulatedLedger } from '@fedledger/chaincode';
import { FabricLedgerClient } from '../ledger/fabric-ledger-client';
import type { LedgerClient } from '../ledger/ledger-client';
import {
  NetworkProfileError,
  defaultNetworkDir,
  loadIdentity,
  loadNetworkProfile,
  newGrpcClient,
} from '../ledger/network-profile';
import type { NetworkProfile } from '../ledger/network-profile';
import { SimulatedLedgerClient } from '../ledger/simulated-ledger-client';
import type { IdentityFiles } from '../pki/dev-pki';
import { ensureDevIdentities, ensureServerTls } from '../pki/dev-pki';
import type { Organisation } from '../pki/organisations';
import { organisationsOf } from '../pki/organisations';
import type { LogFn } from '../server';
import { startGateway } from '../server';
import { ckksAggregator } from '@fedledger/rules';
import { describeParseArgsError } from '../parse-args-error';

const USAGE = `Usage: fedledger-gateway serve [options]

Options:
  --ledger fabric|simulated   the ledger (default fabric)
  --network-dir DIR           Fabric network folder with connection.json
                              (default $FEDLEDGER_NETWORK_DIR or .fedledger/network)
  --identity NAME             the coordinator identity in connection.json (default coordinator)
  --peer NAME[,NAME...]       the peers to connect through, in order: the next is used while one
                              cannot be reached (default: the identity's peer, then its
                              fallbackPeers in connection.json)
  --state-dir DIR             blobs, notes and the gateway's TLS files (default .fedledger/gateway)
  --pki-dir DIR               simulated ledger only: where dev identities are created
                              (default <state-dir>/pki)
  --hospitals N               simulated ledger only: hospital identities hospital1 … hospitalN
                              in the dev PKI (default 3; a Fabric network's come from its
                              connection.json)
  --host ADDR                 the address to listen on (default 127.0.0.1), e.g. this host's
                              address on the consortium's network; the gateway's TLS
                              certificate names it (made again, with its CA, if it does not)
  --port N                    HTTPS port on the --host address (default 8443; 0 picks a free one)
  --dashboard-port N          read-only dashboard on https://<host>:N (default off), for
                              browsers with a consortium client certificate, as the API
  --dashboard-public          serve the dashboard on plain http:// to anyone instead: ledger
                              records and hashes only (runs, rounds, trail, key histories,
                              events), never models, updates, metrics or verify

Writes <state-dir>/gateway.json with the URL, the CA file clients trust and the dashboard URL.
Exit codes: 0 stopped by a signal, 1 could not start (or stopped on a bug: an unhandled
rejection, logged), 2 usage error.`;

/** The organisations of the simulated ledger's dev PKI: `hospitals` hospitals, the auditor and the coordinator. */
export function devOrgs(hospitals: number): { name: string; mspId: string }[] {
  return [
    ...Array.from({ length: hospitals }, (_, i) => ({
      name: `hospital${i + 1}`,
      mspId: `Hospital${i + 1}MSP`,
    })),
    { name: 'auditor', mspId: 'AuditorMSP' },
    { name: 'coordinator', mspId: 'CoordinatorMSP' },
  ];
}

/** The most hospitals the simulated ledger's dev PKI creates identities for. */
export const MAX_DEV_HOSPITALS = 1000;

/**
 * A Fabric ledger client for `identityName` through its peer and then its fallback peers, or
 * through `peerNames` (comma-separated, in order of preference).
 */
export function fabricLedgerFor(
  profile: NetworkProfile,
  identityName: string,
  peerNames?: string,
  eventCheckpointPath?: string,
  onFailover?: (from: string, to: string, err: unknown) => void,
): FabricLedgerClient {
  const loaded = loadIdentity(profile, identityName);
  const identity = profile.identities[identityName];
  const names =
    peerNames !== undefined
      ? peerNames.split(',').map((n) => n.trim())
      : [identity?.peer ?? '', ...(identity?.fallbackPeers ?? [])];
  const peers = names.map((name) => {
    const peerProfile = profile.peers[name];
    if (!peerProfile) {
      throw new NetworkProfileError(`no peer named '${name}' in the network profile`);
    }
    return { name, client: newGrpcClient(peerProfile) };
  });
  const [first, ...fallbacks] = peers;
  if (!first) throw new NetworkProfileError('no peer to connect through');
  return new FabricLedgerClient({
    client: first.client,
    peerName: first.name,
    fallbacks,
    ...(onFailover ? { onFailover } : {}),
    channel: profile.channel,
    chaincode: profile.chaincode,
    identity: loaded.identity,
    signer: loaded.signer,
    ...(eventCheckpointPath ? { eventCheckpointPath } : {}),
  });
}

const log: LogFn = (level, message, context) => {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...context });
  (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
};

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ledger: { type: 'string', default: 'fabric' },
      'network-dir': { type: 'string' },
      identity: { type: 'string', default: 'coordinator' },
      peer: { type: 'string' },
      'state-dir': { type: 'string', default: join('.fedledger', 'gateway') },
      'pki-dir': { type: 'string' },
      hospitals: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8443' },
      'dashboard-port': { type: 'string' },
      'dashboard-public': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const stateDir = resolve(values['state-dir']);
  await mkdir(stateDir, { recursive: true });
  if (isIP(values.host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(values.host))
    throw new UsageError(`--host must be an IP address or a host name, not "${values.host}"`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError('--port must be 0-65535');
  const dashboardPort =
    values['dashboard-port'] === undefined ? undefined : Number(values['dashboard-port']);
  if (
    dashboardPort !== undefined &&
    (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65535)
  ) {
    throw new UsageError('--dashboard-port must be 0-65535');
  }
  const hospitals = values.hospitals === undefined ? 3 : Number(values.hospitals);
  if (!Number.isInteger(hospitals) || hospitals < 1 || hospitals > MAX_DEV_HOSPITALS)
    throw new UsageError(`--hospitals must be an integer from 1 to ${MAX_DEV_HOSPITALS}`);
  if (values.hospitals !== undefined && values.ledger !== 'simulated')
    throw new UsageError(
      "--hospitals is for the simulated ledger; a Fabric network's hospitals are those of its connection.json (scripts/network.sh up --hospitals N)",
    );
  let ledger: LedgerClient;
  let organisations: Organisation[];
  let identitiesFile: string;
  if (values.ledger === 'fabric') {
    const dir = values['network-dir'] ? resolve(values['network-dir']) : defaultNetworkDir();
    identitiesFile = join(dir, 'connection.json');
    const profile = loadNetworkProfile(identitiesFile);
    if (!profile.identities[values.identity]) {
      throw new UsageError(
        `--identity ${values.identity}: ${identitiesFile} has no identity of that name (known: ${Object.keys(profile.identities).join(', ')})`,
      );
    }
    for (const peer of values.peer?.split(',').map((p) => p.trim()) ?? []) {
      if (!profile.peers[peer]) {
        throw new UsageError(
          `--peer ${peer}: ${identitiesFile} has no peer of that name (known: ${Object.keys(profile.peers).join(', ')})`,
        );
      }
    }
    // Its own identity, and the organisations it knows by their CA only (a coordinator's
    // connection.json on a host of its own holds no other organisation's key).
    organisations = organisationsOf({ ...profile.organisations, ...profile.identities });
    const fabric = fabricLedgerFor(
      profile,
      values.identity,
      values.peer,
      join(stateDir, 'events.checkpoint'),
      (from, to, err) =>
        log('warn', `peer ${from} cannot be reached; going on through ${to}`, {
          error: String(err),
        }),
    );
    await fabric.start();
    ledger = fabric;
  } else if (values.ledger === 'simulated') {
    const pkiDir = resolve(values['pki-dir'] ?? join(stateDir, 'pki'));
    const ids = await ensureDevIdentities(pkiDir, devOrgs(hospitals));
    identitiesFile = join(pkiDir, 'identities.json');
    organisations = organisationsOf(ids);
    const coordinator = ids['coordinator'] as IdentityFiles;
    ledger = new SimulatedLedgerClient(new SimulatedLedger(), {
      mspId: coordinator.mspId,
      certificatePem: readFileSync(coordinator.certPath, 'utf8'),
    });
    log(
      'warn',
      'using the SIMULATED ledger: in-process, not Hyperledger Fabric; it ends with this process',
    );
  } else {
    throw new UsageError('--ledger must be fabric or simulated');
  }
  if (values['dashboard-public']) {
    if (dashboardPort === undefined)
      throw new UsageError('--dashboard-public needs --dashboard-port');
    log(
      'warn',
      'the dashboard is public: anyone who reaches it reads runs, rounds, update records and the audit trail (no model or update bytes, no metrics)',
    );
  }
  // A promise rejected with nobody to handle it is a bug: say so, and stop rather than go on in
  // an unknown state (a supervisor restarts the gateway, which resumes from the ledger).
  process.on('unhandledRejection', (reason) => {
    log('error', 'unhandled promise rejection: a bug in the gateway; stopping', {
      error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    });
    process.exit(1);
  });
  const tls = await ensureServerTls(join(stateDir, 'tls'), [values.host]);
  const gateway = await startGateway({
    host: values.host,
    encrypted: ckksAggregator(),
    ledger,
    stateDir,
    organisations,
    tls,
    port,
    ...(dashboardPort !== undefined ? { dashboardPort } : {}),
    ...(values['dashboard-public'] ? { dashboardPublic: true } : {}),
    log,
  });
  await gateway.ready;
  await writeFile(
    join(stateDir, 'gateway.json'),
    `${JSON.stringify(
      {
        url: gateway.url,
        caCertPath: tls.caCertPath,
        dashboardUrl: gateway.dashboardUrl ?? null,
        ledger: ledger.kind,
        ledgerLabel: ledger.label,
        identities: identitiesFile,
        pid: process.pid,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(
    `fedledger gateway ready at ${gateway.url} (ledger: ${ledger.label})${gateway.dashboardUrl ? `; dashboard ${gateway.dashboardUrl}` : ''}\n`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gateway.close();
  return 0;
}

class UsageError extends Error {}

/** Runs the command line with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve') {
    process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await serve(rest);
  } catch (err) {
    const usage = err instanceof UsageError ? err.message : describeParseArgsError(err);
    if (usage !== undefined) {
      process.stderr.write(`fedledger-gateway: ${usage}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`fedledger-gateway: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`fedledger-gateway: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
