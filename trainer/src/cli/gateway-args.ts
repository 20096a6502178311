// What the online commands (`run`, `check`) share: the gateway connection options and the client
// they make, authenticated with the hospital's organisation identity.
import { readFileSync } from 'node:fs';
import { IdentityFileError } from '../client/errors';
import type { GatewayClient, GatewayClientOptions } from '../client/gateway-client';
import { newGatewayClient } from '../client/gateway-client';
import type { HospitalIdentity } from '../client/identity';
import { loadHospitalIdentity } from '../client/identity';
import type { OwnLedgerView } from '../client/own-ledger';
import { connectOwnPeer } from '../client/own-ledger';
import type { ArgReader } from './args';
import { UsageError } from './args';

/** The options every online command takes. */
export const GATEWAY_OPTIONS = ['gateway', 'gateway-ca', 'identities', 'identity', 'run'] as const;

/** Help lines for {@link GATEWAY_OPTIONS}. */
export const GATEWAY_HELP = `  --gateway URL              the gateway, e.g. https://127.0.0.1:8443
  --gateway-ca FILE          the CA of the gateway's server certificate (PEM)
  --identities FILE          connection.json (Fabric) or identities.json (dev PKI)
  --identity NAME            this hospital's identity in it, e.g. hospital1
  --run ID                   the training run`;

/**
 * The hospital's identity, a client of the gateway as that identity and, on Fabric (a
 * connection.json), the hospital's own peer, where the client confirms commits and checks models.
 */
export function connectFromArgs(args: ArgReader): {
  identity: HospitalIdentity;
  client: GatewayClient;
  ownLedger?: OwnLedgerView;
  /** What the client was made with, for the secure-aggregation client (the same identity). */
  clientOptions: GatewayClientOptions;
} {
  const url = args.required('gateway');
  if (!/^https:\/\//.test(url))
    throw new UsageError(`--gateway must be an https:// URL, not "${url}".`);
  const identitiesFile = args.required('identities');
  const identity = loadHospitalIdentity(identitiesFile, args.required('identity'));
  const caFile = args.required('gateway-ca');
  let caCertPem: Buffer;
  try {
    caCertPem = readFileSync(caFile);
  } catch (err) {
    throw new IdentityFileError(`cannot read the gateway CA certificate ${caFile}.`, {
      cause: err,
    });
  }
  let ownLedger: OwnLedgerView | undefined;
  if (identity.ledger.format === 'fabric') {
    try {
      ownLedger = connectOwnPeer(identitiesFile, identity.name);
    } catch (err) {
      throw new IdentityFileError(
        `cannot connect to ${identity.name}'s own peer from ${identitiesFile}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  const clientOptions: GatewayClientOptions = {
    url,
    caCertPem,
    certPem: identity.certPem,
    keyPem: identity.keyPem,
    ledger: identity.ledger,
    ...(ownLedger ? { ownLedger } : {}),
  };
  const client = newGatewayClient(clientOptions);
  return { identity, client, clientOptions, ...(ownLedger ? { ownLedger } : {}) };
}
