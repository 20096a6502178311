// A dishonest gateway on the real Fabric network, refused by the hospital: the gateway (altered in
// this test only) hands Hospital1 Fabric proposals and endorsed transactions other than its own
// SubmitUpdate, reports a commit that never happened, and serves a model other than the ledger's.
// The trainer decodes Fabric's protobufs, refuses each with a typed error, never signs the bytes
// it refuses, and checks models and commits on its own peer (peer0.hospital1), which its output
// names; an honest submission is confirmed there.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  Harness,
  createRun,
  rejection,
  update,
  withForgedRoundModel,
} from '@fedledger/gateway/testing';
import type { SigningLie } from '@fedledger/gateway/testing';
import { sha256Hex } from '@fedledger/protocol';
import type { DigestSigner, GatewayTransport, OwnLedgerView } from '@fedledger/trainer';
import {
  CommitNotConfirmedError,
  HashMismatchError,
  SigningRefusedError,
  connectOwnPeer,
  loadHospitalIdentity,
  newGatewayClient,
  newHttpsTransport,
} from '@fedledger/trainer';
import { networkDir } from './support/network';
import { REPO_ROOT } from './support/paths';

describe('a dishonest gateway on Fabric is refused by the hospital, checking on its own peer', function () {
  this.timeout(300_000);
  const connectionJson = () => join(networkDir(), 'connection.json');
  const runId = `liar-fabric-${Date.now()}`;
  let h: Harness;
  let own: OwnLedgerView;
  let signed: Uint8Array[];

  before(async () => {
    h = await Harness.createOnFabric(connectionJson());
    own = connectOwnPeer(connectionJson(), 'hospital1');
    await createRun(h, runId, { roundsPlanned: 1, minUpdatesPerRound: 1 });
  });
  after(async () => {
    own?.close();
    await h?.dispose();
  });

  const identity = () => loadHospitalIdentity(connectionJson(), 'hospital1');
  const client = (transport?: GatewayTransport) => {
    const id = identity();
    return newGatewayClient({
      url: h.gateway.url,
      caCertPem: readFileSync(h.tls.caCertPath),
      certPem: id.certPem,
      keyPem: id.keyPem,
      ledger: id.ledger,
      ownLedger: own,
      confirmTimeoutMs: 5_000,
      ...(transport ? { transport } : {}),
    });
  };
  const countingSigner = (): DigestSigner => {
    signed = [];
    const real = identity().signer;
    return (digest) => {
      signed.push(digest);
      return real(digest);
    };
  };
  const submit = async (lie?: SigningLie) => {
    h.signingLie = lie;
    const c = client();
    try {
      return await c.submitUpdate({
        runId,
        round: 0,
        bytes: update(runId, 0, 'Hospital1MSP', 10, 1),
        signer: countingSigner(),
      });
    } finally {
      h.signingLie = undefined;
      c.close();
    }
  };

  it('reads the Fabric ledger it signs for from its connection.json', () => {
    expect(identity().ledger).to.deep.equal({
      format: 'fabric',
      channel: 'fedledger',
      chaincode: 'fedledger',
    });
    expect(own.source).to.equal("peer0.hospital1, this hospital's own peer");
  });

  for (const [lie, field, signatures] of [
    ['other-hash', 'proposal.arguments', 0],
    ['other-round', 'proposal.arguments', 0],
    ['create-run', 'proposal.function', 0],
    ['other-write', 'transaction.writes', 1],
  ] as const) {
    it(`refuses ${lie} (${field}) and signs only what it checked`, async () => {
      const err = await rejection(submit(lie));
      expect(err, err.stack).to.be.instanceOf(SigningRefusedError);
      expect((err as SigningRefusedError).field).to.equal(field);
      expect(signed).to.have.length(signatures);
    });
  }

  it('refuses a commit that did not happen, after looking on its own peer', async () => {
    const err = await rejection(submit('fake-commit'));
    expect(err).to.be.instanceOf(CommitNotConfirmedError);
    expect(err.message).to.contain(
      "peer0.hospital1, this hospital's own peer shows no such commit",
    );
  });

  it('submits its own update and confirms it on its own peer', async () => {
    const done = await submit();
    expect(done.confirmedBy).to.equal("peer0.hospital1, this hospital's own peer");
    const record = await own.getUpdate(runId, 0, 'Hospital1MSP');
    expect(record?.sha256).to.equal(sha256Hex(update(runId, 0, 'Hospital1MSP', 10, 1)));
    expect(await own.transactionStatus(record!.txId)).to.equal('VALID');
  });

  it('fedledger-trainer check reads the inclusion from its own peer, and says so', () => {
    const result = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'trainer', 'dist', 'src', 'cli', 'main.js'),
        'check',
        '--gateway',
        h.gateway.url,
        '--gateway-ca',
        h.tls.caCertPath,
        '--identities',
        connectionJson(),
        '--identity',
        'hospital1',
        '--run',
        runId,
      ],
      { encoding: 'utf8' },
    );
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.contain(
      "as Hospital1MSP, read from peer0.hospital1, this hospital's own peer:",
    );
    expect(result.stdout).to.contain('round 0: recorded, round still open');
  });

  it('refuses a served model other than the ledger’s, checked on its own peer', async () => {
    const id = identity();
    const honest = newHttpsTransport({
      url: h.gateway.url,
      caCertPem: readFileSync(h.tls.caCertPath),
      certPem: id.certPem,
      keyPem: id.keyPem,
    });
    const lying = withForgedRoundModel(honest, 0, update(runId, 0, 'Hospital1MSP', 10, 7));
    const c = client(lying);
    try {
      const err = await rejection(c.downloadRoundModel(runId, 0));
      expect(err).to.be.instanceOf(HashMismatchError);
      expect(err.message).to.contain(
        "(read from peer0.hospital1, this hospital's own peer); refusing it.",
      );
      const good = await client().downloadRoundModel(runId, 0);
      expect(good.checkedAgainst).to.equal("peer0.hospital1, this hospital's own peer");
    } finally {
      c.close();
    }
  });
});
