// fedledger-audit verify on the simulated ledger: a finished 3-round run verifies from a copy of
// the blob store, a flat folder and the gateway's API; a blob altered after its record, an altered
// stored aggregate and a gateway serving another model for one round are each reported with the
// round (and the update) they concern, and the command exits non-zero.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { AuditTrail } from '@fedledger/protocol';
import { AUDIT_EXIT, runAudit } from '../src/audit/audit-cli';
import { newDirBlobSource, newGatewayBlobSource } from '../src/audit/blob-sources';
import { formatVerificationReport, verificationExitCode } from '../src/audit/report-format';
import type { BlobSource, VerificationReport } from '../src/audit/verify';
import { Verifier } from '../src/audit/verify';
import {
  blobRoot,
  capture,
  completedRun,
  copyBlobStore,
  copyBlobsFlat,
  simulatedAuditor,
  tamperBlob,
} from './audit-fixtures';
import { Harness } from '../src/testing';

const RUN = 'audit-run';

describe('fedledger-audit verify (simulated ledger)', function () {
  let h: Harness;
  let trail: AuditTrail;
  let scratch: string;

  before(async () => {
    h = await Harness.create();
    trail = await completedRun(h, RUN);
    scratch = await mkdtemp(join(tmpdir(), 'fedledger-audit-'));
  });
  after(async () => {
    await h.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  const verifyCli = async (blobs: string, ...extra: string[]) => {
    const io = capture();
    const code = await runAudit(['verify', RUN, '--blobs', blobs, ...extra], {
      io,
      connect: () => simulatedAuditor(h),
    });
    return { code, ...io };
  };

  const auditorLedger = () => simulatedAuditor(h).ledger;

  const gatewaySource = () =>
    newGatewayBlobSource({
      url: h.gateway.url,
      caPem: readFileSync(h.tls.caCertPath, 'utf8'),
      certPem: h.pem('auditor', 'certPath'),
      keyPem: h.pem('auditor', 'keyPath'),
    });

  it('verifies every round of an untouched run from the gateway blob store (exit 0)', async () => {
    const r = await verifyCli(blobRoot(h));
    expect(r.code, r.stderr + r.stdout).to.equal(AUDIT_EXIT.OK);
    for (const round of [0, 1, 2]) expect(r.stdout).to.contain(`✓ round ${round}`);
    expect(r.stdout).not.to.contain('✗');
    expect(r.stdout).to.contain('Verified: all 3 rounds ✓');
  });

  it('verifies from a flat folder of blobs named by their SHA-256', async () => {
    const flat = await copyBlobsFlat(h, join(scratch, 'flat'));
    const r = await verifyCli(flat);
    expect(r.code, r.stdout).to.equal(AUDIT_EXIT.OK);
  });

  it('verifies through the gateway API with the auditor certificate, models served per round included', async () => {
    const source = gatewaySource();
    try {
      const report = await new Verifier(auditorLedger(), source).verifyRun(RUN);
      expect(report.rounds.map((r) => r.ok)).to.deep.equal([true, true, true]);
      expect(report.ok).to.equal(true);
    } finally {
      source.close();
    }
    const r = await verifyCli(h.gateway.url, '--gateway-ca', h.tls.caCertPath);
    expect(r.code, r.stderr + r.stdout).to.equal(AUDIT_EXIT.OK);
  });

  it('(a) reports a blob altered after its ledger record, naming the round and the update (exit 1)', async () => {
    const dir = await copyBlobStore(h, join(scratch, 'altered-update'));
    const record = trail.rounds[1]!.updates.find((u) => u.mspId === 'Hospital2MSP')!;
    const original = await readFile(join(dir, 'sha256', record.sha256.slice(0, 2), record.sha256));
    await tamperBlob(dir, record.sha256, original);

    const r = await verifyCli(dir);
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.contain('✓ round 0');
    expect(r.stdout).to.contain('✗ round 1');
    expect(r.stdout).to.match(/HASH_MISMATCH: round 1, update Hospital2MSP: the bytes hash to/);
    expect(r.stdout).to.contain('✓ round 2');
    expect(r.stdout).to.contain('NOT verified: 1 of 3 rounds ✗');

    const json = await verifyCli(dir, '--json');
    const report = JSON.parse(json.stdout) as VerificationReport;
    expect(json.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(report.rounds[1]!.problems).to.deep.include({
      code: 'HASH_MISMATCH',
      mspId: 'Hospital2MSP',
      message: report.rounds[1]!.problems[0]!.message,
    });
  });

  it('(b) reports an altered stored aggregate model against the round that produced it', async () => {
    const dir = await copyBlobStore(h, join(scratch, 'altered-aggregate'));
    const aggregate = trail.rounds[0]!.aggregateHash!;
    const original = await readFile(join(dir, 'sha256', aggregate.slice(0, 2), aggregate));
    await tamperBlob(dir, aggregate, original);

    const r = await verifyCli(dir);
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.contain('✗ round 0');
    expect(r.stdout).to.contain(
      'AGGREGATE_ALTERED: round 0: the stored aggregate model is altered',
    );
    // Round 1 starts from that model, so it cannot be recomputed either.
    expect(r.stdout).to.contain('✗ round 1');
    expect(r.stdout).to.contain("round 1: the input model's bytes are missing or altered");
  });

  it('(c) reports a source that serves a round a model other than the ledger input', async () => {
    const honest = newDirBlobSource({ dir: blobRoot(h) });
    const aggregate0 = trail.rounds[0]!.aggregateHash!;
    const lying: BlobSource = {
      get: (sha) => honest.get(sha),
      // Round 2 is served round 1's input model instead of its own.
      roundModel: (_run, round) =>
        honest.get(round === 2 ? aggregate0 : trail.rounds[round]!.inputModelHash),
    };
    const report = await new Verifier(auditorLedger(), lying).verifyRun(RUN);
    expect(report.rounds.map((r) => r.ok)).to.deep.equal([true, true, false]);
    expect(report.rounds[2]!.problems.map((p) => p.code)).to.deep.equal(['SERVED_MODEL_MISMATCH']);
    expect(report.rounds[2]!.problems[0]!.message).to.match(
      /^the model served for round 2 hashes to/,
    );
    expect(verificationExitCode(report)).to.equal(1);
    expect(formatVerificationReport(report)).to.contain('✗ round 2\n    SERVED_MODEL_MISMATCH');
  });

  it('gives the same verdicts as the gateway REST verify, which uses the same verifier', async () => {
    const rest = (
      await h.call('auditor', 'POST', `/v1/audit/runs/${RUN}/verify`)
    ).json<VerificationReport>();
    const r = await verifyCli(blobRoot(h), '--json');
    const cli = JSON.parse(r.stdout) as VerificationReport;
    expect(cli.rounds).to.deep.equal(rest.rounds);
    expect(cli.ok).to.equal(rest.ok).and.to.equal(true);
  });
});
