// connection.json as the network writes it: the optional organisations known by their CA only
// (an organisation's own profile with --hosts), read and checked with the rest.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { NetworkProfileError, loadNetworkProfile } from '../src/fabric';

function profileFile(extra: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fedledger-profile-')), 'connection.json');
  writeFileSync(
    file,
    JSON.stringify({
      channel: 'fedledger',
      chaincode: 'fedledger',
      peers: {
        'peer0.hospital1': {
          mspId: 'Hospital1MSP',
          endpoint: '10.77.0.11:27080',
          hostAlias: 'peer0.hospital1.fedledger.test',
          tlsRootCertPath: '/x/ca.crt',
        },
      },
      identities: {
        coordinator: {
          mspId: 'CoordinatorMSP',
          certPath: '/x/cert.pem',
          keyPath: '/x/priv_sk',
          peer: 'peer0.hospital1',
          caCertPath: '/x/ca.pem',
        },
      },
      orderers: {
        orderer1: {
          endpoint: '10.77.0.2:27050',
          adminEndpoint: '10.77.0.2:27060',
          operationsEndpoint: '10.77.0.2:27070',
        },
      },
      ...extra,
    }),
  );
  return file;
}

describe('connection.json: organisations known by their CA only', () => {
  it('reads them beside the identities, and leaves them out when absent', () => {
    const profile = loadNetworkProfile(
      profileFile({
        organisations: { hospital1: { mspId: 'Hospital1MSP', caCertPath: '/x/h1-ca.pem' } },
      }),
    );
    expect(profile.organisations).to.deep.equal({
      hospital1: { mspId: 'Hospital1MSP', caCertPath: '/x/h1-ca.pem' },
    });
    expect(loadNetworkProfile(profileFile({})).organisations).to.equal(undefined);
  });

  it('refuses an organisation without its CA, naming the field', () => {
    expect(() =>
      loadNetworkProfile(profileFile({ organisations: { hospital1: { mspId: 'Hospital1MSP' } } })),
    ).to.throw(
      NetworkProfileError,
      /organisations\.hospital1\.caCertPath must be a non-empty string/,
    );
  });
});
