// The signing checks on crafted proposals and transactions (simulated ledger's JSON): the time a
// proposal fixes must be near the hospital's clock, the bytes canonical, the arguments exactly the
// update's (no extra field), and the transaction must repeat the signed proposal byte for byte.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ensureDevIdentities } from '@fedledger/gateway';
import type {
  SimulatedProposal,
  SimulatedTransaction,
  UpdateSubmission,
} from '@fedledger/protocol';
import { canonicalJson } from '@fedledger/protocol';
import type { SigningExpectation } from '../src/client/signing-check';
import {
  SIMULATED_LEDGER,
  SigningRefusedError,
  checkProposal,
  checkTransaction,
} from '../src/client/signing-check';
import { tempDir } from './helpers';

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

describe('signing checks on crafted bytes', () => {
  let certificatePem: string;
  const submission: UpdateSubmission = {
    runId: 'r',
    round: 0,
    mspId: 'Hospital1MSP',
    sha256: 'a'.repeat(64),
    sampleCount: 10,
    byteLength: 100,
    encoding: 'float32',
  };
  const expect_ = (): SigningExpectation => ({
    ledger: SIMULATED_LEDGER,
    certificatePem,
    mspId: 'Hospital1MSP',
    submission,
  });
  const proposal = (changes: Partial<SimulatedProposal> = {}): SimulatedProposal => ({
    channel: 'simulated',
    chaincode: 'fedledger',
    creator: { mspId: 'Hospital1MSP', certificate: certificatePem },
    fn: 'SubmitUpdate',
    args: [canonicalJson(submission)],
    txId: 'b'.repeat(64),
    timestamp: new Date().toISOString(),
    ...changes,
  });
  const refusal = (run: () => unknown): SigningRefusedError => {
    try {
      run();
    } catch (err) {
      if (err instanceof SigningRefusedError) return err;
      throw err;
    }
    throw new Error('expected a refusal');
  };

  before(async () => {
    const ids = await ensureDevIdentities(tempDir(), [
      { name: 'hospital1', mspId: 'Hospital1MSP' },
    ]);
    certificatePem = readFileSync(ids['hospital1']!.certPath, 'utf8');
  });

  it('accepts its own proposal, dated now, in canonical JSON', () => {
    const p = checkProposal('simulated', utf8(canonicalJson(proposal())), expect_());
    expect(p.fn).to.equal('SubmitUpdate');
  });

  it('refuses a proposal dated an hour away (the ledger would record that time)', () => {
    const stale = proposal({ timestamp: new Date(Date.now() - 3_600_000).toISOString() });
    expect(
      refusal(() => checkProposal('simulated', utf8(canonicalJson(stale)), expect_())).field,
    ).to.equal('proposal.timestamp');
  });

  it('refuses non-canonical JSON and a submission with a field the update does not have', () => {
    const spaced = utf8(JSON.stringify(proposal(), null, 1));
    expect(refusal(() => checkProposal('simulated', spaced, expect_())).field).to.equal('proposal');
    const extra = proposal({ args: [canonicalJson({ ...submission, note: 'x' })] });
    const err = refusal(() => checkProposal('simulated', utf8(canonicalJson(extra)), expect_()));
    expect(err.field).to.equal('proposal.arguments');
    expect(err.message).to.contain('note x (expected no such field)');
  });

  it('refuses a transaction that does not repeat the signed proposal byte for byte', () => {
    const signed = proposal();
    const p = checkProposal('simulated', utf8(canonicalJson(signed)), expect_());
    const other: SimulatedTransaction = {
      proposal: { ...signed, timestamp: new Date(Date.now() - 1000).toISOString() },
      result: 'update/r/0/Hospital1MSP',
      writes: [],
    };
    expect(
      refusal(() => checkTransaction(utf8(canonicalJson(other)), expect_(), p)).field,
    ).to.equal('transaction.header');
  });
});
