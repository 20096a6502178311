// Reads the connection profile that scripts/network.sh writes (connection.json) and opens Fabric
// Gateway connections from it: gRPC over TLS to a peer, an identity and its signer, the contract.
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, signers } from '@hyperledger/fabric-gateway';
import type { Contract, Gateway, Identity, Network, Signer } from '@hyperledger/fabric-gateway';

/** One peer of the network, as a client dials it. */
export interface NetworkPeerProfile {
  mspId: string;
  /** `host:port` of the peer's gRPC listener. */
  endpoint: string;
  /** Name in the peer's TLS certificate; sent as the TLS server name. */
  hostAlias: string;
  /** CA that issued the peer's TLS certificate (absolute path). */
  tlsRootCertPath: string;
}

/** One client identity (an enrolled user of an organisation). */
export interface NetworkIdentityProfile {
  mspId: string;
  /** PEM certificate (absolute path). */
  certPath: string;
  /** PEM private key (absolute path). */
  keyPath: string;
  /** Name of the peer (a key of `peers`) this identity connects to by default. */
  peer: string;
  /** Peers to go through, in order, when `peer` cannot be reached (the gateway's failover). */
  fallbackPeers?: string[];
  /** The organisation's CA certificate (absolute path). */
  caCertPath: string;
}

/** One orderer's endpoints, all `host:port`. */
export interface NetworkOrdererProfile {
  endpoint: string;
  adminEndpoint: string;
  operationsEndpoint: string;
}

/** An organisation known by its CA only: its clients are recognised, no key of its is held. */
export interface NetworkOrganisationProfile {
  mspId: string;
  /** The organisation's CA certificate (absolute path). */
  caCertPath: string;
}

/** The whole of connection.json. */
export interface NetworkProfile {
  channel: string;
  chaincode: string;
  peers: Record<string, NetworkPeerProfile>;
  identities: Record<string, NetworkIdentityProfile>;
  /**
   * Other organisations, by the same names as identities (`hospital2`, `auditor`), known by
   * their CA only: an organisation's own connection.json on a host of its own (`network.sh up
   * --hosts`) holds its own identity and, for the gateway, the others' CAs.
   */
  organisations?: Record<string, NetworkOrganisationProfile>;
  orderers: Record<string, NetworkOrdererProfile>;
}

/** An identity loaded from its files, ready for the Fabric Gateway client. */
export interface LoadedNetworkIdentity {
  identity: Identity;
  signer: Signer;
  certificatePem: string;
}

/** An open Gateway connection; `close()` closes the gateway and its gRPC client. */
export interface NetworkGatewayConnection {
  gateway: Gateway;
  client: grpc.Client;
  network: Network;
  contract: Contract;
  /** Name of the peer the connection goes through. */
  peerName: string;
  close(): void;
}

/** Deadlines, in milliseconds, of each kind of Gateway call made through `connectGateway`. */
export const NETWORK_DEADLINES = Object.freeze({
  evaluateMs: 5_000,
  endorseMs: 15_000,
  submitMs: 5_000,
  commitStatusMs: 60_000,
});

/** The connection profile is missing, unreadable, or does not say what it must. */
export class NetworkProfileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

const UP_HINT = 'run scripts/network.sh up (npm run network:up) to create the network';

/**
 * The folder of the local Fabric network: `FEDLEDGER_NETWORK_DIR` if set, otherwise
 * `<repo>/.fedledger/network`, where `<repo>` is the npm workspaces root above this module.
 */
export function defaultNetworkDir(): string {
  const fromEnv = process.env['FEDLEDGER_NETWORK_DIR'];
  if (fromEnv) return resolve(fromEnv);
  return join(findRepoRoot(__dirname), '.fedledger', 'network');
}

function findRepoRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
        if (parsed.workspaces !== undefined) return dir;
      } catch {
        // An unreadable package.json is not the root; keep walking up.
      }
    }
    if (dirname(dir) === dir) {
      throw new NetworkProfileError(
        `cannot find the repository root (a package.json with "workspaces") above ${start}; ` +
          'set FEDLEDGER_NETWORK_DIR',
      );
    }
  }
}

/**
 * Reads and checks connection.json.
 * @param path the file; defaults to `connection.json` in {@link defaultNetworkDir}.
 * @throws NetworkProfileError when the file is missing, is not JSON, or lacks a field.
 */
export function loadNetworkProfile(path?: string): NetworkProfile {
  const file = path ?? join(defaultNetworkDir(), 'connection.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new NetworkProfileError(`cannot read the Fabric connection profile ${file}: ${UP_HINT}`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new NetworkProfileError(`${file} is not valid JSON; ${UP_HINT} again`, { cause: err });
  }
  return checkProfile(parsed, file);
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkProfile(value: unknown, file: string): NetworkProfile {
  const where = (path: string): string => `${file}: ${path}`;
  const object = (v: unknown, path: string): Json => {
    if (!isObject(v)) throw new NetworkProfileError(`${where(path)} must be an object`);
    return v;
  };
  const text = (o: Json, key: string, path: string): string => {
    const v = o[key];
    if (typeof v !== 'string' || v === '') {
      throw new NetworkProfileError(`${where(`${path}.${key}`)} must be a non-empty string`);
    }
    return v;
  };
  const names = (o: Json, key: string, path: string): string[] | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((n) => typeof n === 'string' && n !== '')) {
      throw new NetworkProfileError(`${where(`${path}.${key}`)} must be a list of peer names`);
    }
    return v as string[];
  };
  const entries = <T>(o: Json, key: string, read: (e: Json, path: string) => T) => {
    const section = object(o[key], key);
    const out: Record<string, T> = {};
    for (const [name, entry] of Object.entries(section)) {
      out[name] = read(object(entry, `${key}.${name}`), `${key}.${name}`);
    }
    return out;
  };

  const root = object(value, '(root)');
  const profile: NetworkProfile = {
    channel: text(root, 'channel', '(root)'),
    chaincode: text(root, 'chaincode', '(root)'),
    peers: entries(root, 'peers', (e, p) => ({
      mspId: text(e, 'mspId', p),
      endpoint: text(e, 'endpoint', p),
      hostAlias: text(e, 'hostAlias', p),
      tlsRootCertPath: text(e, 'tlsRootCertPath', p),
    })),
    identities: entries(root, 'identities', (e, p) => ({
      mspId: text(e, 'mspId', p),
      certPath: text(e, 'certPath', p),
      keyPath: text(e, 'keyPath', p),
      peer: text(e, 'peer', p),
      caCertPath: text(e, 'caCertPath', p),
      ...(names(e, 'fallbackPeers', p) ? { fallbackPeers: names(e, 'fallbackPeers', p) } : {}),
    })),
    ...(root['organisations'] !== undefined
      ? {
          organisations: entries(root, 'organisations', (e, p) => ({
            mspId: text(e, 'mspId', p),
            caCertPath: text(e, 'caCertPath', p),
          })),
        }
      : {}),
    orderers: entries(root, 'orderers', (e, p) => ({
      endpoint: text(e, 'endpoint', p),
      adminEndpoint: text(e, 'adminEndpoint', p),
      operationsEndpoint: text(e, 'operationsEndpoint', p),
    })),
  };
  for (const [name, identity] of Object.entries(profile.identities)) {
    for (const peer of [identity.peer, ...(identity.fallbackPeers ?? [])]) {
      if (!profile.peers[peer]) {
        throw new NetworkProfileError(
          `${where(`identities.${name}`)} names peer '${peer}', which is not in peers`,
        );
      }
    }
  }
  return profile;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new NetworkProfileError(`cannot read ${what} ${path}: ${UP_HINT}`, { cause: err });
  }
}

function peerOf(profile: NetworkProfile, peerName: string): NetworkPeerProfile {
  const peer = profile.peers[peerName];
  if (!peer) {
    const known = Object.keys(profile.peers).join(', ');
    throw new NetworkProfileError(`no peer named '${peerName}' in the profile (known: ${known})`);
  }
  return peer;
}

/**
 * A gRPC client for one peer, over TLS with the peer's TLS root, sending `hostAlias` as the
 * server name.
 * @throws NetworkProfileError when the TLS root certificate cannot be read.
 */
export function newGrpcClient(peer: NetworkPeerProfile): grpc.Client {
  const tlsRoot = readPem(peer.tlsRootCertPath, `the TLS root certificate of ${peer.hostAlias}`);
  return new grpc.Client(peer.endpoint, grpc.credentials.createSsl(tlsRoot), {
    'grpc.ssl_target_name_override': peer.hostAlias,
  });
}

/**
 * Loads a named identity (`hospital1`, `auditor`, `coordinator`, …) with a signer over its key.
 * @throws NetworkProfileError when the name is unknown or a file cannot be read or parsed.
 */
export function loadIdentity(profile: NetworkProfile, name: string): LoadedNetworkIdentity {
  const entry = profile.identities[name];
  if (!entry) {
    const known = Object.keys(profile.identities).join(', ');
    throw new NetworkProfileError(`no identity named '${name}' in the profile (known: ${known})`);
  }
  const certificate = readPem(entry.certPath, `the certificate of ${name}`);
  const keyPem = readPem(entry.keyPath, `the private key of ${name}`);
  let signer: Signer;
  try {
    signer = signers.newPrivateKeySigner(createPrivateKey(keyPem));
  } catch (err) {
    throw new NetworkProfileError(`${entry.keyPath} is not a usable private key for ${name}`, {
      cause: err,
    });
  }
  return {
    identity: { mspId: entry.mspId, credentials: certificate },
    signer,
    certificatePem: certificate.toString('utf8'),
  };
}

/**
 * Connects as a named identity through a peer (by default the identity's own) and returns the
 * profile's contract. Call `close()` when done.
 * @throws NetworkProfileError when the identity or the peer is unknown or its files unreadable.
 */
export function connectGateway(
  profile: NetworkProfile,
  identityName: string,
  peerName?: string,
): NetworkGatewayConnection {
  const { identity, signer } = loadIdentity(profile, identityName);
  const chosenPeer = peerName ?? profile.identities[identityName]?.peer ?? '';
  const client = newGrpcClient(peerOf(profile, chosenPeer));
  const deadline = (ms: number) => (): grpc.CallOptions => ({ deadline: Date.now() + ms });
  const gateway = connect({
    client,
    identity,
    signer,
    evaluateOptions: deadline(NETWORK_DEADLINES.evaluateMs),
    endorseOptions: deadline(NETWORK_DEADLINES.endorseMs),
    submitOptions: deadline(NETWORK_DEADLINES.submitMs),
    commitStatusOptions: deadline(NETWORK_DEADLINES.commitStatusMs),
  });
  const network = gateway.getNetwork(profile.channel);
  const contract = network.getContract(profile.chaincode);
  return {
    gateway,
    client,
    network,
    contract,
    peerName: chosenPeer,
    close() {
      gateway.close();
      client.close();
    },
  };
}
