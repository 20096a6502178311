// A full run through the REST API on the simulated ledger: 3 hospitals, 3 rounds, one tampered
// blob and one update that never reached the ledger; the aggregate must equal an independent
// FedAvg of the valid updates bit for bit.
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import type { AuditTrail } from '@fedledger/protocol';
import { decodeContainer, modelTensorShapes, sha256Hex } from '@fedledger/protocol';
import { Harness, SPEC, createRun, update, waitClosed } from './support/harness';

/** FedAvg written out independently of the gateway's strategy code. */
function independentFedAvg(
  global: Float32Array[],
  updates: { n: number; delta: Float32Array[] }[],
): Float32Array[] {
  const total = updates.reduce((s, u) => s + u.n, 0);
  return global.map((g, t) => {
    const out = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) {
      let acc = 0;
      for (const u of updates) acc += u.n * (u.delta[t] as Float32Array)[i]!;
      out[i] = g[i]! + acc / total;
    }
    return out;
  });
}

function arrays(bytes: Uint8Array): Float32Array[] {
  const c = decodeContainer(bytes);
  return modelTensorShapes(SPEC).map(
    (s) => c.tensors.find((t) => t.name === s.name)!.data as Float32Array,
  );
}

describe('REST run on the simulated ledger', function () {
  let h: Harness;
  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  it('aggregates only ledger-verified updates and records the exclusions on the ledger', async () => {
    const runId = 'rest-run';
    await createRun(h, runId);
    const samples = { Hospital1MSP: 100, Hospital2MSP: 250, Hospital3MSP: 50 };

    // Round 0: all three submit; Hospital2's stored blob is altered after its ledger record
    // exists and before the round closes (Hospital3's submission triggers the close).
    const r0 = {
      h1: update(runId, 0, 'Hospital1MSP', samples.Hospital1MSP, 1),
      h2: update(runId, 0, 'Hospital2MSP', samples.Hospital2MSP, 2),
      h3: update(runId, 0, 'Hospital3MSP', samples.Hospital3MSP, 3),
    };
    expect((await h.submit('hospital1', runId, 0, r0.h1)).status).to.equal(200);
    expect((await h.submit('hospital2', runId, 0, r0.h2)).status).to.equal(200);
    // Tamper Hospital2's blob after its ledger record exists.
    const tampered = Buffer.from(r0.h2);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
    writeFileSync(h.gateway.blobs.locate(sha256Hex(r0.h2)), tampered);
    expect((await h.submit('hospital3', runId, 0, r0.h3)).status).to.equal(200);
    const round0 = await waitClosed(h, runId, 0);
    expect(round0.included).to.deep.equal(['Hospital1MSP', 'Hospital3MSP']);
    expect(round0.excluded).to.have.length(1);
    expect(round0.excluded?.[0]).to.include({ mspId: 'Hospital2MSP', onLedger: true });
    expect(round0.excluded?.[0]?.reason).to.match(/^HASH_MISMATCH: /);

    const model0 = await h.call('hospital1', 'GET', `/v1/runs/${runId}/rounds/0/model`);
    const model1 = await h.call('hospital1', 'GET', `/v1/runs/${runId}/rounds/1/model`);
    expect(model1.headers['x-model-sha256']).to.equal(round0.aggregateHash);
    expect(sha256Hex(model1.body)).to.equal(round0.aggregateHash);
    const expected = independentFedAvg(arrays(model0.body), [
      { n: samples.Hospital1MSP, delta: arrays(r0.h1) },
      { n: samples.Hospital3MSP, delta: arrays(r0.h3) },
    ]);
    const actual = arrays(model1.body);
    actual.forEach((a, t) =>
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).to.deep.equal(
        Buffer.from(expected[t]!.buffer),
      ),
    );

    // Round 1: Hospital3 uploads but never signs (no ledger record); the others submit; the
    // coordinator closes at the quorum.
    const noRecord = await h.call(
      'hospital3',
      'POST',
      `/v1/runs/${runId}/rounds/1/updates`,
      update(runId, 1, 'Hospital3MSP', 50, 30),
    );
    expect(noRecord.status).to.equal(201);
    expect(
      (await h.submit('hospital1', runId, 1, update(runId, 1, 'Hospital1MSP', 100, 11))).status,
    ).to.equal(200);
    expect(
      (await h.submit('hospital2', runId, 1, update(runId, 1, 'Hospital2MSP', 250, 12))).status,
    ).to.equal(200);
    const close = await h.call('coordinator', 'POST', `/v1/runs/${runId}/close`);
    expect(close.status, close.body.toString()).to.equal(200);
    const round1 = await waitClosed(h, runId, 1);
    expect(round1.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    expect(round1.excluded).to.deep.include.members([
      {
        mspId: 'Hospital3MSP',
        sha256: noRecord.json<{ sha256: string }>().sha256,
        reason: 'NOT_ON_LEDGER: the update was uploaded but has no committed ledger record',
        onLedger: false,
      },
    ]);

    // Round 2: everyone; the run completes with the final model recorded.
    for (const [i, who] of (['hospital1', 'hospital2', 'hospital3'] as const).entries()) {
      const msp = `Hospital${i + 1}MSP`;
      expect(
        (await h.submit(who, runId, 2, update(runId, 2, msp, 10 * (i + 1), 20 + i))).status,
      ).to.equal(200);
    }
    const round2 = await waitClosed(h, runId, 2);
    expect(round2.included).to.have.length(3);
    const trail = (
      await h.call('auditor', 'GET', `/v1/audit/runs/${runId}/trail`)
    ).json<AuditTrail>();
    expect(trail.run.status).to.equal('completed');
    expect(trail.run.finalModelHash).to.equal(round2.aggregateHash);
    const final = await h.call('hospital2', 'GET', `/v1/runs/${runId}/model`);
    expect(sha256Hex(final.body)).to.equal(round2.aggregateHash);

    // The verifier re-computes every aggregate from the ledger and the stored bytes.
    const verify = await h.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`);
    const report = verify.json<{ ok: boolean; rounds: { round: number; ok: boolean }[] }>();
    expect(report.rounds.map((r) => r.ok)).to.deep.equal([true, true, true]);
    expect(report.ok).to.equal(true);
  });
});
