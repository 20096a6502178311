// A dishonest aggregator on the real Fabric network: the gateway's coordinator (altered in this
// test only) excludes Hospital2's valid update, once as HASH_MISMATCH and once as BLOB_MISSING
// after deleting its copy. Hospital2 submits through the trainer's own outbox, which keeps what it
// put on the ledger; the auditor verifies through its own peer (peer0.auditor) and catches the
// first lie from the gateway's API alone, the second once Hospital2 exports its copy.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { AuditIo } from '@fedledger/gateway';
import { AUDIT_EXIT, runAudit } from '@fedledger/gateway';
import {
  Harness,
  createRun,
  newDishonestDecider,
  update,
  waitClosed,
} from '@fedledger/gateway/testing';
import {
  exportSubmitted,
  loadHospitalIdentity,
  newGatewayClient,
  newOutbox,
} from '@fedledger/trainer';
import { networkDir } from './support/network';

async function audit(...argv: string[]): Promise<{ code: number; stdout: string }> {
  const result = { code: -1, stdout: '' };
  const io: AuditIo = { out: (text) => void (result.stdout += text), err: () => undefined };
  const base = ['--network-dir', networkDir(), '--identity', 'auditor', '--peer', 'peer0.auditor'];
  result.code = await runAudit([...argv, ...base], { io });
  return result;
}

describe('a dishonest aggregator on Fabric is caught by the auditor through its own peer', function () {
  this.timeout(300_000);
  const liar = newDishonestDecider();
  let h: Harness;
  let workdir: string;

  before(async () => {
    h = await Harness.createOnFabric(join(networkDir(), 'connection.json'), {
      decide: (input) => liar.decide(input),
    });
    workdir = await mkdtemp(join(tmpdir(), 'fedledger-hospital2-'));
  });
  after(async () => {
    await h?.dispose();
    await rm(workdir, { recursive: true, force: true });
  });

  /** One round: Hospital1 and 3 through the harness, Hospital2 through the trainer's outbox. */
  const playRound = async (runId: string) => {
    await createRun(h, runId, { roundsPlanned: 1 });
    const identity = loadHospitalIdentity(join(networkDir(), 'connection.json'), 'hospital2');
    const client = newGatewayClient({
      url: h.gateway.url,
      caCertPem: readFileSync(h.tls.caCertPath),
      certPem: identity.certPem,
      keyPem: identity.keyPem,
      ledger: identity.ledger,
    });
    try {
      const outbox = newOutbox({ workdir, client, signer: identity.signer });
      const delivered = await outbox.send(runId, 0, update(runId, 0, 'Hospital2MSP', 20, 2));
      expect(delivered.status).to.equal('delivered');
    } finally {
      client.close();
    }
    for (const [who, msp, n, seed] of [
      ['hospital1', 'Hospital1MSP', 10, 1],
      ['hospital3', 'Hospital3MSP', 30, 3],
    ] as const) {
      const reply = await h.submit(who, runId, 0, update(runId, 0, msp, n, seed));
      expect(reply.status, reply.body.toString()).to.equal(200);
    }
    return waitClosed(h, runId, 0);
  };

  const gatewayArgs = () => ['--blobs', h.gateway.url, '--gateway-ca', h.tls.caCertPath];

  it('flags a valid update excluded as HASH_MISMATCH (FALSE_EXCLUSION, exit 1)', async () => {
    const runId = `lie-hash-${Date.now()}`;
    liar.lieAbout(runId, 'false-hash-mismatch', 'Hospital2MSP');
    const round = await playRound(runId);
    expect(round.excluded?.map((e) => [e.mspId, e.code])).to.deep.equal([
      ['Hospital2MSP', 'HASH_MISMATCH'],
    ]);
    const r = await audit('verify', runId, ...gatewayArgs());
    expect(r.code, r.stdout).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.match(
      /FALSE_EXCLUSION: round 0, update Hospital2MSP: excluded as HASH_MISMATCH .* pass every rule of the run/,
    );
  });

  it('flags a false BLOB_MISSING once Hospital2 exports the copy it kept (exit 1), not before', async () => {
    const runId = `lie-missing-${Date.now()}`;
    liar.lieAbout(runId, 'withheld-blob', 'Hospital2MSP');
    const round = await playRound(runId);
    const h2 = round.excluded?.find((e) => e.mspId === 'Hospital2MSP');
    expect(h2?.code).to.equal('BLOB_MISSING');
    await rm(h.gateway.blobs.locate(h2!.sha256));

    const withheld = await audit('verify', runId, ...gatewayArgs());
    expect(withheld.code, withheld.stdout).to.equal(AUDIT_EXIT.OK);
    expect(withheld.stdout).to.contain('unverifiable: bytes withheld');

    const exported = join(workdir, 'export');
    const copies = await exportSubmitted(workdir, runId, exported);
    expect(copies.map((c) => c.sha256)).to.deep.equal([h2!.sha256]);
    const r = await audit('verify', runId, ...gatewayArgs(), '--blobs', exported);
    expect(r.code, r.stdout).to.equal(AUDIT_EXIT.NOT_VERIFIED);
    expect(r.stdout).to.match(
      /FALSE_EXCLUSION: round 0, update Hospital2MSP: excluded as BLOB_MISSING .* \(bytes from folder .*export\)/,
    );
  });
});
