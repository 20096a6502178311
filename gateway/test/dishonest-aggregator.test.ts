// A dishonest aggregator, caught by the auditor (simulated ledger). The gateway's coordinator is
// altered in this test only (newDishonestDecider) to lie about Hospital2's update in one round:
// a false HASH_MISMATCH, a false NORM_EXCEEDED, a false BLOB_MISSING with the gateway's copy
// deleted, an inflated FedAvg weight, an update left out but listed as included, a false
// NOT_SELECTED. fedledger-audit verify, deciding the round again with the same rules on bytes it
// gathers itself (the gateway's API, and Hospital2's own export), flags each with exit code 1 and
// a message naming the round, the organisation and the rule; an honest run verifies ✓.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { sha256Hex } from '@fedledger/protocol';
import { AUDIT_EXIT, runAudit } from '../src/audit/audit-cli';
import type { VerificationReport } from '../src/audit/verify';
import type { CoordinatorLie } from '../src/testing';
import { Harness, createRun, newDishonestDecider, update, waitClosed } from '../src/testing';
import { capture, simulatedAuditor } from './audit-fixtures';

const HOSPITALS = [
  ['hospital1', 'Hospital1MSP', 10],
  ['hospital2', 'Hospital2MSP', 20],
  ['hospital3', 'Hospital3MSP', 30],
] as const;

describe('a dishonest aggregator is caught by fedledger-audit verify (simulated ledger)', function () {
  this.timeout(60_000);
  const liar = newDishonestDecider();
  let h: Harness;
  let scratch: string;
  /** Hospital2's update bytes by run, as the hospital itself keeps them. */
  const hospital2Bytes = new Map<string, Uint8Array>();

  before(async () => {
    h = await Harness.create({ decide: (input) => liar.decide(input) });
    scratch = join(tmpdir(), `fedledger-dishonest-${process.pid}`);
  });
  after(async () => {
    await h.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  /** Hospital i's update: the harness's smooth tensors plus noise of its own, so that the
   *  updates are linearly independent, as trained ones are. */
  const hospitalUpdate = (runId: string, msp: string, n: number, i: number): Uint8Array =>
    update(runId, 0, msp, n, i + 1, (c) => {
      let state = 0x9e3779b9 * (i + 1);
      for (const t of c.tensors) {
        for (let k = 0; k < t.data.length; k++) {
          state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
          (t.data as Float32Array)[k] = (t.data[k] as number) + (state / 2 ** 32 - 0.5) * 0.01;
        }
      }
    });

  /** A one-round run in which the coordinator tells `lie` about Hospital2 (none: honest). */
  const runWith = async (runId: string, lie?: CoordinatorLie) => {
    await createRun(h, runId, { roundsPlanned: 1 });
    if (lie) liar.lieAbout(runId, lie, 'Hospital2MSP');
    for (const [i, [who, msp, n]] of HOSPITALS.entries()) {
      const bytes = hospitalUpdate(runId, msp, n, i);
      if (msp === 'Hospital2MSP') hospital2Bytes.set(runId, bytes);
      const reply = await h.submit(who, runId, 0, bytes);
      expect(reply.status, reply.body.toString()).to.equal(200);
    }
    return waitClosed(h, runId, 0);
  };

  /** Hospital2's export of what it submitted (the flat layout fedledger-trainer writes). */
  const hospital2Export = async (runId: string): Promise<string> => {
    const dir = join(scratch, `${runId}-hospital2-export`);
    await mkdir(dir, { recursive: true });
    const bytes = hospital2Bytes.get(runId) as Uint8Array;
    await writeFile(join(dir, sha256Hex(bytes)), bytes);
    return dir;
  };

  const verify = async (runId: string, options: { blobs?: string[]; json?: boolean } = {}) => {
    const io = capture();
    const args = ['verify', runId, '--gateway-ca', h.tls.caCertPath];
    for (const b of [h.gateway.url, ...(options.blobs ?? [])]) args.push('--blobs', b);
    if (options.json) args.push('--json');
    const code = await runAudit(args, { io, connect: () => simulatedAuditor(h) });
    return { code, ...io };
  };

  it('an honest run verifies ✓ (exit 0) from the gateway API', async () => {
    const round = await runWith('honest');
    expect(round.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    const r = await verify('honest');
    expect(r.code, r.stdout + r.stderr).to.equal(AUDIT_EXIT.OK);
    expect(r.stdout).to.contain('✓ round 0: aggregate recomputed from Hospital1MSP, Hospital2MSP');
    expect(r.stdout).to.contain('Verified: all 1 rounds ✓');
  });

  it('(1) flags a valid update excluded as HASH_MISMATCH', async () => {
    const round = await runWith('lie-hash', 'false-hash-mismatch');
    expect(round.excluded?.map((e) => [e.mspId, e.code])).to.deep.equal([
      ['Hospital2MSP', 'HASH_MISMATCH'],
    ]);
    const r = await verify('lie-hash');
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.contain('✗ round 0');
    expect(r.stdout).to.match(
      /FALSE_EXCLUSION: round 0, update Hospital2MSP: excluded as HASH_MISMATCH .* pass every rule of the run \(bytes from the gateway at https:\/\/127\.0\.0\.1:\d+\)/,
    );
  });

  it('(2) flags a valid update excluded as failing the norm bound', async () => {
    await runWith('lie-norm', 'false-norm-exceeded');
    const r = await verify('lie-norm');
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.match(
      /FALSE_EXCLUSION: round 0, update Hospital2MSP: excluded as NORM_EXCEEDED \("the update's L2 norm is 14\.2; the run's bound is 10"\), but bytes that hash to its ledger record pass every rule/,
    );
  });

  it('(3) reports BLOB_MISSING as unverifiable while the bytes are withheld, and flags it once Hospital2 supplies them', async () => {
    await runWith('lie-missing', 'withheld-blob');
    const sha = sha256Hex(hospital2Bytes.get('lie-missing') as Uint8Array);
    // The dishonest gateway withholds the bytes it was given.
    await rm(h.gateway.blobs.locate(sha));

    const withheld = await verify('lie-missing');
    expect(withheld.code, withheld.stdout).to.equal(AUDIT_EXIT.OK);
    expect(withheld.stdout).to.contain(
      '? UNVERIFIABLE_EXCLUSION: round 0, update Hospital2MSP: excluded as BLOB_MISSING; unverifiable: bytes withheld',
    );
    expect(withheld.stdout).to.contain('? round 0: aggregate recomputed from');
    expect(withheld.stdout).to.contain(
      '1 exclusion unverifiable: bytes withheld (ask the hospital',
    );

    const exported = await hospital2Export('lie-missing');
    const r = await verify('lie-missing', { blobs: [exported] });
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.match(
      /FALSE_EXCLUSION: round 0, update Hospital2MSP: excluded as BLOB_MISSING .* pass every rule of the run \(bytes from folder .*lie-missing-hospital2-export\)/,
    );
  });

  it('(4) flags an update weighed by a sample count other than the ledger record', async () => {
    await runWith('lie-weight', 'inflated-weight');
    const r = await verify('lie-weight', { json: true });
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    const report = JSON.parse(r.stdout) as VerificationReport;
    const problem = report.rounds[0]?.problems[0];
    expect(problem?.code).to.equal('AGGREGATE_MISMATCH');
    expect(problem?.mspId).to.equal('Hospital2MSP');
    // Ledger shares 10/20/30 of 60; the lie weighs Hospital2 by 1000 of 1040.
    expect(problem?.message).to.match(
      /^round 0: the aggregate of the included updates hashes to .*; the ledger's aggregate weighs Hospital1MSP at 0\.010 where its ledger sample count \(10\) gives 0\.167, Hospital2MSP at 0\.962 where its ledger sample count \(20\) gives 0\.333/,
    );
  });

  it('(5) flags an aggregate computed with one update left out but listed as included', async () => {
    const round = await runWith('lie-left-out', 'left-out-but-listed');
    expect(round.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP']);
    const r = await verify('lie-left-out');
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.match(
      /AGGREGATE_MISMATCH: round 0: .* weighs .*Hospital2MSP at 0\.000 where its ledger sample count \(20\) gives 0\.333 \(listed as included but left out\)/,
    );
  });

  it('(6) flags a valid update excluded as NOT_SELECTED under FedAvg', async () => {
    await runWith('lie-selection', 'false-not-selected');
    const r = await verify('lie-selection');
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.contain(
      "SELECTION_MISMATCH: round 0, update Hospital2MSP: excluded as NOT_SELECTED, but the run's strategy selects it",
    );
  });
});
