// The hospital signs its own AdvertiseKeys and nothing else (simulated ledger's JSON): crafted
// proposals and transactions that substitute a key, call SubmitUpdate instead, write another
// record or reorder the argument are refused naming the field; and through a real gateway whose
// replies are rewritten in flight (a dishonest gateway's voice), a substituted mask key is
// refused before anything is signed and no keys reach the ledger.
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ensureDevIdentities } from '@fedledger/gateway';
import type {
  KeysSubmission,
  KeysUploadReply,
  SimulatedProposal,
  SimulatedTransaction,
  UpdateSubmission,
} from '@fedledger/protocol';
import { canonicalJson, keysKey, keysStateKey } from '@fedledger/protocol';
import { advertise, newRoundSecrets } from '@fedledger/protocol/secagg';
import type { GatewayTransport } from '../src/client/https-transport';
import type { DigestSigner } from '../src/client/identity';
import { newSecAggClient } from '../src/client/secagg-client';
import type { SigningExpectation } from '../src/client/signing-check';
import {
  SIMULATED_LEDGER,
  SigningRefusedError,
  checkProposal,
  checkTransaction,
} from '../src/client/signing-check';
import { GatewayFixture } from './gateway-client-fixture';
import { tempDir } from './helpers';

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

const refusal = (run: () => unknown): SigningRefusedError => {
  try {
    run();
  } catch (err) {
    if (err instanceof SigningRefusedError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('signing checks of AdvertiseKeys on crafted bytes', () => {
  let certificatePem: string;
  let fingerprint: string;
  const ad = advertise({ runId: 'r', round: 3 }, 'Hospital1MSP', newRoundSecrets());
  const submission: KeysSubmission = { runId: 'r', round: 3, ...ad };
  const other = advertise({ runId: 'r', round: 3 }, 'Hospital1MSP', newRoundSecrets());
  const keysExpectation = (): SigningExpectation => ({
    call: 'AdvertiseKeys',
    ledger: SIMULATED_LEDGER,
    certificatePem,
    mspId: 'Hospital1MSP',
    submission,
  });
  const proposal = (changes: Partial<SimulatedProposal> = {}): SimulatedProposal => ({
    channel: 'simulated',
    chaincode: 'fedledger',
    creator: { mspId: 'Hospital1MSP', certificate: certificatePem },
    fn: 'AdvertiseKeys',
    args: [canonicalJson(submission)],
    txId: 'b'.repeat(64),
    timestamp: new Date().toISOString(),
    ...changes,
  });
  const transaction = (
    signed: SimulatedProposal,
    record: Record<string, unknown> = {},
    changes: Partial<SimulatedTransaction> = {},
  ): SimulatedTransaction => ({
    proposal: signed,
    result: keysKey('r', 3, 'Hospital1MSP'),
    writes: [
      {
        namespace: 'fedledger',
        key: keysStateKey('r', 3, 'Hospital1MSP'),
        value: canonicalJson({
          ...submission,
          docType: 'secaggKeys',
          key: keysKey('r', 3, 'Hospital1MSP'),
          creator: { mspId: 'Hospital1MSP', certFingerprint: fingerprint },
          txId: signed.txId,
          timestamp: signed.timestamp,
          ...record,
        }),
      },
    ],
    ...changes,
  });
  const bytes = (value: unknown) => utf8(canonicalJson(value));

  before(async () => {
    const ids = await ensureDevIdentities(tempDir(), [
      { name: 'hospital1', mspId: 'Hospital1MSP' },
    ]);
    certificatePem = readFileSync(ids['hospital1']!.certPath, 'utf8');
    fingerprint = createHash('sha256')
      .update(new X509Certificate(certificatePem).raw)
      .digest('hex');
  });

  it('accepts its own AdvertiseKeys and the transaction that writes exactly its keys record', () => {
    const signed = proposal();
    const p = checkProposal('simulated', bytes(signed), keysExpectation());
    expect(p.fn).to.equal('AdvertiseKeys');
    const t = checkTransaction(bytes(transaction(signed)), keysExpectation(), p);
    expect(t.writes.map((w) => w.key)).to.deep.equal([keysStateKey('r', 3, 'Hospital1MSP')]);
  });

  it('refuses a proposal that substitutes the mask key, naming maskKey', () => {
    const swapped = proposal({ args: [canonicalJson({ ...submission, maskKey: other.maskKey })] });
    const err = refusal(() => checkProposal('simulated', bytes(swapped), keysExpectation()));
    expect(err.field).to.equal('proposal.arguments');
    expect(err.message).to.contain(`maskKey ${other.maskKey.slice(0, 16)}…`);
    expect(err.message).not.to.contain('encryptionKey');
  });

  it('refuses a SubmitUpdate when it expects AdvertiseKeys, and AdvertiseKeys when it expects SubmitUpdate', () => {
    const update: UpdateSubmission = {
      runId: 'r',
      round: 3,
      mspId: 'Hospital1MSP',
      sha256: 'a'.repeat(64),
      sampleCount: 10,
      byteLength: 100,
      encoding: 'secagg',
    };
    const asUpdate = proposal({ fn: 'SubmitUpdate', args: [canonicalJson(update)] });
    const err = refusal(() => checkProposal('simulated', bytes(asUpdate), keysExpectation()));
    expect(err.field).to.equal('proposal.function');
    expect(err.message).to.equal(
      'refusing to sign: the proposal calls SubmitUpdate, not AdvertiseKeys',
    );
    const expectingUpdate: SigningExpectation = {
      ledger: SIMULATED_LEDGER,
      certificatePem,
      mspId: 'Hospital1MSP',
      submission: update,
    };
    const err2 = refusal(() => checkProposal('simulated', bytes(proposal()), expectingUpdate));
    expect(err2.field).to.equal('proposal.function');
    expect(err2.message).to.contain('calls AdvertiseKeys, not SubmitUpdate');
  });

  it('refuses its own keys written in another order than canonical JSON', () => {
    const { runId, round, ...rest } = submission;
    const reordered = proposal({ args: [JSON.stringify({ ...rest, runId, round })] });
    const err = refusal(() => checkProposal('simulated', bytes(reordered), keysExpectation()));
    expect(err.field).to.equal('proposal.arguments');
    expect(err.message).to.contain('not the canonical JSON');
  });

  it('refuses an endorsement that records another mask key, writes another key or returns another', () => {
    const signed = proposal();
    const p = checkProposal('simulated', bytes(signed), keysExpectation());
    const swapped = refusal(() =>
      checkTransaction(
        bytes(transaction(signed, { maskKey: other.maskKey })),
        keysExpectation(),
        p,
      ),
    );
    expect(swapped.field).to.equal('transaction.writes');
    expect(swapped.message).to.contain('maskKey');
    const wrongDoc = refusal(() =>
      checkTransaction(bytes(transaction(signed, { docType: 'update' })), keysExpectation(), p),
    );
    expect(wrongDoc.message).to.contain('docType update');
    const elsewhere = transaction(signed);
    elsewhere.writes[0]!.key = keysStateKey('r', 3, 'Hospital2MSP');
    expect(refusal(() => checkTransaction(bytes(elsewhere), keysExpectation(), p)).field).to.equal(
      'transaction.writes',
    );
    const twice = transaction(signed);
    twice.writes.push({ ...twice.writes[0]!, key: keysStateKey('r', 4, 'Hospital1MSP') });
    expect(refusal(() => checkTransaction(bytes(twice), keysExpectation(), p)).message).to.contain(
      'writes 2 entries',
    );
    const answer = transaction(signed, {}, { result: keysKey('r', 3, 'Hospital2MSP') });
    expect(refusal(() => checkTransaction(bytes(answer), keysExpectation(), p)).field).to.equal(
      'transaction.response',
    );
  });
});

describe('a gateway that rewrites AdvertiseKeys in flight is refused (simulated ledger)', function () {
  this.timeout(30_000);
  let f: GatewayFixture;
  before(async () => {
    f = await GatewayFixture.create();
    await f.createRun('keys-liar', { secagg: { phaseSeconds: 600 } });
  });
  after(async () => {
    await f.dispose();
  });

  /** Hospital1's transport, with the keys reply's proposal rewritten by `lie`. */
  const lyingTransport = (lie: (p: SimulatedProposal) => SimulatedProposal): GatewayTransport => {
    const honest = f.transport('hospital1');
    return {
      async send(req) {
        const reply = await honest.send(req);
        if (req.method !== 'POST' || !req.path.endsWith('/secagg/keys')) return reply;
        const body = JSON.parse(Buffer.from(reply.body).toString('utf8')) as KeysUploadReply;
        const original = JSON.parse(
          Buffer.from(body.proposal.bytes, 'base64').toString('utf8'),
        ) as SimulatedProposal;
        body.proposal.bytes = Buffer.from(canonicalJson(lie(original))).toString('base64');
        return { ...reply, body: utf8(JSON.stringify(body)) };
      },
      close: () => honest.close(),
    };
  };

  for (const [name, lie, field] of [
    [
      'a substituted mask key',
      (p: SimulatedProposal) => {
        const sub = JSON.parse(p.args[0] as string) as KeysSubmission;
        const substitute = advertise(
          { runId: 'keys-liar', round: 0 },
          sub.mspId,
          newRoundSecrets(),
        );
        return { ...p, args: [canonicalJson({ ...sub, maskKey: substitute.maskKey })] };
      },
      'proposal.arguments',
    ],
    [
      'a SubmitUpdate in its place',
      (p: SimulatedProposal) => ({ ...p, fn: 'SubmitUpdate' }),
      'proposal.function',
    ],
  ] as const) {
    it(`refuses ${name} without signing anything`, async () => {
      const id = f.identity('hospital1');
      const signed: Uint8Array[] = [];
      const signer: DigestSigner = (digest) => {
        signed.push(digest);
        return id.signer(digest);
      };
      const client = newSecAggClient({
        url: f.url,
        caCertPem: readFileSync(f.tls.caCertPath),
        certPem: id.certPem,
        keyPem: id.keyPem,
        ledger: id.ledger,
        ownLedger: f.ownLedger('hospital1'),
        transport: lyingTransport(lie),
      });
      const ad = advertise({ runId: 'keys-liar', round: 0 }, 'Hospital1MSP', newRoundSecrets());
      let caught: unknown;
      try {
        await client.advertiseKeys({ runId: 'keys-liar', round: 0, advertisement: ad, signer });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(SigningRefusedError);
      expect((caught as SigningRefusedError).field).to.equal(field);
      expect(signed).to.have.length(0);
      expect(await client.readKeys('keys-liar', 0)).to.deep.equal([]);
    });
  }

  it('signs and confirms its own keys on its own ledger view when the gateway is honest', async () => {
    const id = f.identity('hospital1');
    const client = newSecAggClient({
      url: f.url,
      caCertPem: readFileSync(f.tls.caCertPath),
      certPem: id.certPem,
      keyPem: id.keyPem,
      ledger: id.ledger,
      ownLedger: f.ownLedger('hospital1'),
    });
    const ad = advertise({ runId: 'keys-liar', round: 0 }, 'Hospital1MSP', newRoundSecrets());
    const done = await client.advertiseKeys({
      runId: 'keys-liar',
      round: 0,
      advertisement: ad,
      signer: id.signer,
    });
    expect(done.confirmedBy).to.contain('read directly by Hospital1MSP');
    expect(done.record).to.include({ ...ad, docType: 'secaggKeys', txId: done.commit.txId });
    client.close();
  });
});
