// fedledger-audit against the real Fabric network: a gateway in this process (coordinator identity
// through peer0.hospital1) runs 2 rounds with 3 hospitals signing their own submissions; the audit
// commands then read everything as the auditor through peer0.auditor: trail, history, blocks, and
// verify from the gateway's blob folder and from its API; a blob altered afterwards fails verify
// with the round and the update named.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import type { AuditIo, BlockInfo, TrailView } from '@fedledger/gateway';
import { AUDIT_EXIT, connectFabricAuditor, decodeChainHeight, runAudit } from '@fedledger/gateway';
import { Harness, createRun, update, waitClosed } from '@fedledger/gateway/testing';
import { networkDir } from './support/network';

const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an audit command as the auditor through its own peer. */
async function audit(...argv: string[]): Promise<Result> {
  const result = { code: -1, stdout: '', stderr: '' };
  const io: AuditIo = {
    out: (text) => void (result.stdout += text),
    err: (text) => void (result.stderr += text),
  };
  const base = ['--network-dir', networkDir(), '--identity', 'auditor', '--peer', 'peer0.auditor'];
  result.code = await runAudit([...argv, ...base], { io });
  return result;
}

describe('fedledger-audit on the Fabric network (auditor through peer0.auditor)', function () {
  this.timeout(300_000);
  let h: Harness;
  const runId = `audit-fabric-${Date.now()}`;
  let view: TrailView;

  before(async () => {
    h = await Harness.createOnFabric(join(networkDir(), 'connection.json'));
    expect(h.gateway.ledger.kind).to.equal('fabric');
    await createRun(h, runId, { roundsPlanned: 2 });
    for (let round = 0; round < 2; round++) {
      for (const [i, who] of HOSPITALS.entries()) {
        const msp = `Hospital${i + 1}MSP`;
        const bytes = update(runId, round, msp, 10 * (i + 1), round * 3 + i);
        const reply = await h.submit(who, runId, round, bytes);
        if (reply.status !== 200) throw new Error(`submit: ${reply.body.toString('utf8')}`);
      }
      await waitClosed(h, runId, round);
    }
  });
  after(async () => {
    await h?.dispose();
  });

  it('trail: every round with each hospital update, signed by the hospital itself', async () => {
    const r = await audit('trail', runId, '--json');
    expect(r.code, r.stderr).to.equal(AUDIT_EXIT.OK);
    view = JSON.parse(r.stdout) as TrailView;
    expect(view.ledger).to.match(/^Hyperledger Fabric channel .* \(read through peer0\.auditor\)$/);
    expect(view.status).to.equal('completed');
    expect(view.rounds).to.have.length(2);
    for (const round of view.rounds) {
      expect(round.updates.map((u) => [u.mspId, u.fate])).to.deep.equal([
        ['Hospital1MSP', 'included'],
        ['Hospital2MSP', 'included'],
        ['Hospital3MSP', 'included'],
      ]);
      for (const u of round.updates) expect(u.txId).to.match(/^[0-9a-f]{64}$/);
    }
    // The block of each record comes from the auditor's peer (qscc GetBlockByTxID) and holds it.
    const first = view.rounds[0]!.updates[0]!;
    expect(first.block).to.be.a('number');
    const block = await audit('block', String(first.block), '--json');
    expect((JSON.parse(block.stdout) as BlockInfo).transactions.map((t) => t.txId)).to.include(
      first.txId,
    );
    const table = await audit('trail', runId);
    expect(table.stdout).to.contain('Round 1 (closed)');
    expect(table.stdout).to.match(/Hospital1MSP\s+[0-9a-f]{12}\s+\d+\s+\S+\s+[0-9a-f]{12}\s+\d+\s/);
  });

  it('history: an update key was written once', async () => {
    const r = await audit('history', `update/${runId}/0/Hospital2MSP`);
    expect(r.code, r.stderr).to.equal(AUDIT_EXIT.OK);
    expect(r.stdout).to.contain('(1 write)');
    expect(r.stdout).to.contain(view.rounds[0]!.updates[1]!.txId);
  });

  it('block: finds the transaction that closed the last round (qscc)', async () => {
    const conn = connectFabricAuditor({
      networkDir: networkDir(),
      identity: 'auditor',
      peer: 'peer0.auditor',
    });
    let height: number;
    try {
      height = decodeChainHeight(await conn.chainInfo());
    } finally {
      await conn.close();
    }
    const closeTxId = view.rounds[1]!.closeTxId!;
    let found: BlockInfo | undefined;
    for (let n = height - 1; n >= Math.max(0, height - 40) && !found; n--) {
      const r = await audit('block', String(n), '--json');
      expect(r.code, r.stderr).to.equal(AUDIT_EXIT.OK);
      const info = JSON.parse(r.stdout) as BlockInfo;
      if (info.transactions.some((t) => t.txId === closeTxId)) found = info;
    }
    expect(found, `a block with ${closeTxId}`).not.to.equal(undefined);
    expect(found!.previousHash).to.match(/^[0-9a-f]{64}$/);
    expect(found!.dataHash).to.match(/^[0-9a-f]{64}$/);
    expect(found!.transactions.find((t) => t.txId === closeTxId)).to.include({
      type: 'ENDORSER_TRANSACTION',
      validation: 'VALID',
    });
    const text = await audit('block', String(found!.number));
    expect(text.stdout).to.contain(`Block ${found!.number}`);
    const beyond = await audit('block', String(height + 1000));
    expect(beyond.code).to.equal(AUDIT_EXIT.NOT_FOUND);
  });

  it('verify: every round ✓ from the gateway blob folder and from the gateway API', async () => {
    const fromDir = await audit('verify', runId, '--blobs', join(h.dir, 'state', 'blobs'));
    expect(fromDir.code, fromDir.stderr + fromDir.stdout).to.equal(AUDIT_EXIT.OK);
    expect(fromDir.stdout).to.contain('✓ round 0');
    expect(fromDir.stdout).to.contain('✓ round 1');
    expect(fromDir.stdout).to.contain('Verified: all 2 rounds ✓');

    const fromApi = await audit(
      'verify',
      runId,
      '--blobs',
      h.gateway.url,
      '--gateway-ca',
      h.tls.caCertPath,
    );
    expect(fromApi.code, fromApi.stderr + fromApi.stdout).to.equal(AUDIT_EXIT.OK);
  });

  it('verify: an unknown run exits 3', async () => {
    const r = await audit('verify', `${runId}-missing`, '--blobs', join(h.dir, 'state', 'blobs'));
    expect(r.code).to.equal(AUDIT_EXIT.NOT_FOUND);
    expect(r.stderr).to.contain('read through peer0.auditor');
  });

  it('verify: a blob altered after its ledger record is ✗, naming the round and the update', async () => {
    const record = view.rounds[1]!.updates.find((u) => u.mspId === 'Hospital3MSP')!;
    const path = h.gateway.blobs.locate(record.sha256);
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(path, bytes);

    const r = await audit('verify', runId, '--blobs', join(h.dir, 'state', 'blobs'));
    expect(r.code).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.contain('✓ round 0');
    expect(r.stdout).to.contain('✗ round 1');
    expect(r.stdout).to.match(/HASH_MISMATCH: round 1, update Hospital3MSP: the bytes hash to/);
  });
});
