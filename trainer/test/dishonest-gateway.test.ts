// A dishonest gateway, refused by the hospital (simulated ledger). The gateway is altered in this
// test only: it asks Hospital1 to sign a SubmitUpdate with another hash, one for another round,
// a CreateRun, and an endorsement that writes another key; it serves a global model other than
// the ledger's with headers that agree with it; it reports a commit that never happened; it
// serves run settings other than the ledger's. The trainer refuses each (7/7) with a typed error that says what differed, and in the four signing
// cases never signs what it was handed (the signer's calls are counted).
import { expect } from 'chai';
import { rejection, withForgedRoundModel } from '@fedledger/gateway/testing';
import { sha256Hex } from '@fedledger/protocol';
import {
  CommitNotConfirmedError,
  HashMismatchError,
  RunRecordMismatchError,
} from '../src/client/errors';
import type { DigestSigner } from '../src/client/identity';
import { SigningRefusedError } from '../src/client/signing-check';
import { GatewayFixture, initialModel, tinyUpdate } from './gateway-client-fixture';

describe('a dishonest gateway is refused by the hospital (simulated ledger)', function () {
  this.timeout(30_000);
  let f: GatewayFixture;
  let signed: Uint8Array[];
  let signer: DigestSigner;

  before(async () => {
    f = await GatewayFixture.create();
    await f.createRun('liar-1', { roundsPlanned: 1, minUpdatesPerRound: 1 });
  });
  beforeEach(() => {
    signed = [];
    const real = f.identity('hospital1').signer;
    signer = (digest) => {
      signed.push(digest);
      return real(digest);
    };
  });
  afterEach(() => {
    f.signingLie = undefined;
  });
  after(async () => {
    await f.dispose();
  });

  const submit = (options: Parameters<GatewayFixture['client']>[1] = {}) =>
    f.client('hospital1', options).submitUpdate({
      runId: 'liar-1',
      round: 0,
      bytes: tinyUpdate('liar-1', 0, 'Hospital1MSP'),
      signer,
    });

  const refusal = async (lie: NonNullable<GatewayFixture['signingLie']>) => {
    f.signingLie = lie;
    const err = await rejection(submit());
    expect(err, err.stack).to.be.instanceOf(SigningRefusedError);
    return err as SigningRefusedError;
  };

  it('(1) refuses to sign a proposal that records another hash, naming it', async () => {
    const err = await refusal('other-hash');
    expect(err.field).to.equal('proposal.arguments');
    expect(err.message).to.match(
      /^refusing to sign: the proposal would record sha256 0{16}… \(expected [0-9a-f]{16}…\)$/,
    );
    expect(signed).to.have.length(0);
  });

  it('(2) refuses to sign a proposal for another round', async () => {
    const err = await refusal('other-round');
    expect(err.message).to.contain('the proposal would record round 1 (expected 0)');
    expect(signed).to.have.length(0);
  });

  it('(3) refuses to sign another function (CreateRun)', async () => {
    const err = await refusal('create-run');
    expect(err.field).to.equal('proposal.function');
    expect(err.message).to.equal(
      'refusing to sign: the proposal calls CreateRun, not SubmitUpdate',
    );
    expect(signed).to.have.length(0);
  });

  it('(4) refuses to sign a transaction whose endorsement writes another key', async () => {
    const err = await refusal('other-write');
    expect(err.field).to.equal('transaction.writes');
    expect(err.message).to.match(
      /^refusing to sign: the endorsement writes "\\u0000fl\.update\\u0000liar-1\\u0000000001\\u0000Hospital1MSP\\u0000" in fedledger, not update\/liar-1\/0\/Hospital1MSP$/,
    );
    // Only the genuine proposal was signed; the transaction never was.
    expect(signed).to.have.length(1);
  });

  it('(5) refuses a global model other than the ledger’s, even with headers that agree with it', async () => {
    const other = initialModel('someone-else');
    const lying = withForgedRoundModel(f.transport('hospital1'), 0, other.bytes);
    const own = f.ownLedger('hospital1');
    const client = f.client('hospital1', { transport: lying, ownLedger: own });
    const err = await rejection(client.downloadRoundModel('liar-1', 0));
    expect(err).to.be.instanceOf(HashMismatchError);
    expect(err.message).to.equal(
      `the model of round 0 of run liar-1 hashes to ${other.sha256}, but the ledger records ${initialModel('liar-1').sha256} (read from ${own.source}); refusing it.`,
    );
    // The honest gateway's model passes the same check, and says where it was checked.
    const model = await f.client('hospital1', { ownLedger: own }).downloadRoundModel('liar-1', 0);
    expect(model.checkedAgainst).to.equal(own.source);
  });

  it('(6) refuses a commit that did not happen, from its own ledger view and from the gateway’s record', async () => {
    f.signingLie = 'fake-commit';
    const own = f.ownLedger('hospital1');
    const err = await rejection(submit({ ownLedger: own, confirmTimeoutMs: 300 }));
    expect(err).to.be.instanceOf(CommitNotConfirmedError);
    expect(err.message).to.match(
      /^the gateway reports tx [0-9a-f]{64} committed in block 9999, but the simulated ledger read directly by Hospital1MSP shows no such commit for round 0 of run liar-1 after 300 ms\.$/,
    );
    const fallback = await rejection(submit());
    expect(fallback).to.be.instanceOf(CommitNotConfirmedError);
    expect(fallback.message).to.match(
      /^the gateway reports a commit for round 0 of run liar-1, but its record is not this update's/,
    );
    expect(await own.getUpdate('liar-1', 0, 'Hospital1MSP')).to.equal(undefined);
  });

  it('(7) refuses to train by run settings other than the ledger’s (shared metrics, rounds)', async () => {
    // The gateway serves run liar-1 with metrics shared at σ = 1 and one round fewer.
    const honest = f.transport('hospital1');
    const lying: typeof honest = {
      async send(req) {
        const reply = await honest.send(req);
        if (req.method !== 'GET' || req.path !== '/v1/runs/liar-1') return reply;
        const status = JSON.parse(Buffer.from(reply.body).toString('utf8')) as {
          run: { roundsPlanned: number; settings: Record<string, unknown> };
        };
        status.run.roundsPlanned += 1;
        status.run.settings['sharedMetrics'] = { mode: 'noised', noiseMultiplier: 1 };
        return { ...reply, body: Buffer.from(JSON.stringify(status)) };
      },
      close: () => honest.close(),
    };
    const own = f.ownLedger('hospital1');
    const client = f.client('hospital1', { transport: lying, ownLedger: own });
    const served = (await client.getRun('liar-1')).run;
    const err = await rejection(client.verifiedRun(served));
    expect(err).to.be.instanceOf(RunRecordMismatchError);
    expect(err.message).to.equal(
      `the gateway's record of run liar-1 differs from ${own.source} in roundsPlanned, settings; refusing to train by rules the ledger does not hold.`,
    );
    // The honest gateway's record passes, and the run comes from the hospital's own view.
    const honestClient = f.client('hospital1', { ownLedger: own });
    const checked = await honestClient.verifiedRun((await honestClient.getRun('liar-1')).run);
    expect(checked.source).to.equal(own.source);
    expect(checked.run.roundsPlanned).to.equal(1);
  });

  it('signs and confirms its own update when the gateway is honest', async () => {
    const own = f.ownLedger('hospital1');
    const update = await submit({ ownLedger: own });
    expect(update.confirmedBy).to.equal(own.source);
    expect(signed).to.have.length(2);
    const record = await own.getUpdate('liar-1', 0, 'Hospital1MSP');
    expect(record?.sha256).to.equal(sha256Hex(tinyUpdate('liar-1', 0, 'Hospital1MSP')));
  });
});
