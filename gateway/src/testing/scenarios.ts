// The full-run scenario the gateway must pass on every ledger: 3 hospitals, 3 rounds through the
// REST API, one blob tampered after its ledger record and one upload that never reached the
// ledger; both are excluded with reasons on the ledger, and each aggregate equals an independent
// FedAvg of the valid updates bit for bit. Throws (node:assert) at the first broken expectation.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { AuditTrail, RoundRecord } from '@fedledger/protocol';
import { decodeContainer, modelTensorShapes, sha256Hex } from '@fedledger/protocol';
import type { Harness, OrgName, Reply } from './harness';
import { SPEC, createRun, update, waitClosed } from './harness';

/** FedAvg written out independently of the gateway's strategy code. */
export function independentFedAvg(
  global: Float32Array[],
  updates: { n: number; delta: Float32Array[] }[],
): Float32Array[] {
  const total = updates.reduce((s, u) => s + u.n, 0);
  return global.map((g, t) => {
    const out = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) {
      let acc = 0;
      for (const u of updates) acc += u.n * ((u.delta[t] as Float32Array)[i] as number);
      out[i] = (g[i] as number) + acc / total;
    }
    return out;
  });
}

/** A container's tensors in spec order. */
export function specArrays(bytes: Uint8Array): Float32Array[] {
  const c = decodeContainer(bytes);
  return modelTensorShapes(SPEC).map((s) => {
    const tensor = c.tensors.find((t) => t.name === s.name);
    assert.ok(tensor, `tensor ${s.name} is missing`);
    return tensor.data as Float32Array;
  });
}

async function accepted(reply: Promise<Reply>, what: string): Promise<Reply> {
  const r = await reply;
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.body.toString('utf8')}`);
  return r;
}

function assertBitEqual(actual: Float32Array[], expected: Float32Array[], what: string): void {
  actual.forEach((a, t) => {
    const e = expected[t] as Float32Array;
    assert.ok(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
        Buffer.from(e.buffer, e.byteOffset, e.byteLength),
      ),
      `${what}: tensor ${t} differs from the independent FedAvg`,
    );
  });
}

export interface FullRunResult {
  runId: string;
  rounds: RoundRecord[];
  trail: AuditTrail;
  verification: { ok: boolean; rounds: { round: number; ok: boolean }[] };
}

/** Runs the scenario on `h` under a fresh run ID; returns what an auditor sees afterwards. */
export async function fullRunScenario(h: Harness, runId: string): Promise<FullRunResult> {
  await createRun(h, runId);
  const n = { Hospital1MSP: 100, Hospital2MSP: 250, Hospital3MSP: 50 };
  const h1 = update(runId, 0, 'Hospital1MSP', n.Hospital1MSP, 1);
  const h2 = update(runId, 0, 'Hospital2MSP', n.Hospital2MSP, 2);
  const h3 = update(runId, 0, 'Hospital3MSP', n.Hospital3MSP, 3);
  await accepted(h.submit('hospital1', runId, 0, h1), 'Hospital1 round 0');
  await accepted(h.submit('hospital2', runId, 0, h2), 'Hospital2 round 0');
  // Hospital2's stored bytes change after its ledger record exists, before the round closes.
  const tampered = Buffer.from(h2);
  tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
  writeFileSync(h.gateway.blobs.locate(sha256Hex(h2)), tampered);
  await accepted(h.submit('hospital3', runId, 0, h3), 'Hospital3 round 0');
  const round0 = await waitClosed(h, runId, 0);
  assert.deepEqual(round0.included, ['Hospital1MSP', 'Hospital3MSP']);
  assert.equal(round0.excluded?.length, 1);
  assert.equal(round0.excluded?.[0]?.mspId, 'Hospital2MSP');
  assert.equal(round0.excluded?.[0]?.onLedger, true);
  assert.equal(round0.excluded?.[0]?.code, 'HASH_MISMATCH');
  assert.match(round0.excluded?.[0]?.detail ?? '', /^the bytes hash to [0-9a-f]{64}; /);

  const model0 = await h.call('hospital1', 'GET', `/v1/runs/${runId}/rounds/0/model`);
  const model1 = await h.call('hospital1', 'GET', `/v1/runs/${runId}/rounds/1/model`);
  assert.equal(model1.headers['x-model-sha256'], round0.aggregateHash);
  assert.equal(sha256Hex(model1.body), round0.aggregateHash);
  assertBitEqual(
    specArrays(model1.body),
    independentFedAvg(specArrays(model0.body), [
      { n: n.Hospital1MSP, delta: specArrays(h1) },
      { n: n.Hospital3MSP, delta: specArrays(h3) },
    ]),
    'round 0 aggregate',
  );

  // Round 1: Hospital3 uploads but never signs, so its update has no ledger record.
  const unsigned = await h.call(
    'hospital3',
    'POST',
    `/v1/runs/${runId}/rounds/1/updates`,
    update(runId, 1, 'Hospital3MSP', 50, 30),
  );
  assert.equal(unsigned.status, 201, unsigned.body.toString('utf8'));
  const u1 = update(runId, 1, 'Hospital1MSP', n.Hospital1MSP, 11);
  const u2 = update(runId, 1, 'Hospital2MSP', n.Hospital2MSP, 12);
  await accepted(h.submit('hospital1', runId, 1, u1), 'Hospital1 round 1');
  await accepted(h.submit('hospital2', runId, 1, u2), 'Hospital2 round 1');
  await accepted(h.call('coordinator', 'POST', `/v1/runs/${runId}/close`), 'close round 1');
  const round1 = await waitClosed(h, runId, 1);
  assert.deepEqual(round1.included, ['Hospital1MSP', 'Hospital2MSP']);
  assert.deepEqual(round1.excluded, [
    {
      mspId: 'Hospital3MSP',
      sha256: unsigned.json<{ sha256: string }>().sha256,
      code: 'NOT_ON_LEDGER',
      detail: 'the update was uploaded but has no committed ledger record',
      onLedger: false,
    },
  ]);
  const model2 = await h.call('hospital2', 'GET', `/v1/runs/${runId}/rounds/2/model`);
  assertBitEqual(
    specArrays(model2.body),
    independentFedAvg(specArrays(model1.body), [
      { n: n.Hospital1MSP, delta: specArrays(u1) },
      { n: n.Hospital2MSP, delta: specArrays(u2) },
    ]),
    'round 1 aggregate',
  );

  // Round 2: everyone; the run completes with its final model recorded.
  const who: [OrgName, string][] = [
    ['hospital1', 'Hospital1MSP'],
    ['hospital2', 'Hospital2MSP'],
    ['hospital3', 'Hospital3MSP'],
  ];
  for (const [i, [org, msp]] of who.entries()) {
    await accepted(
      h.submit(org, runId, 2, update(runId, 2, msp, 10 * (i + 1), 20 + i)),
      `${msp} round 2`,
    );
  }
  const round2 = await waitClosed(h, runId, 2);
  assert.equal(round2.included?.length, 3);
  const trail = (
    await h.call('auditor', 'GET', `/v1/audit/runs/${runId}/trail`)
  ).json<AuditTrail>();
  assert.equal(trail.run.status, 'completed');
  assert.equal(trail.run.finalModelHash, round2.aggregateHash);
  const final = await h.call('hospital2', 'GET', `/v1/runs/${runId}/model`);
  assert.equal(sha256Hex(final.body), round2.aggregateHash);

  const verification = (await h.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`)).json<
    FullRunResult['verification']
  >();
  return { runId, rounds: [round0, round1, round2], trail, verification };
}

/** What the encrypted-run scenario observed. */
export interface EncryptedRunResult {
  plainRunId: string;
  encryptedRunId: string;
  /** Largest |θ_plain − θ_encrypted| over all weights after the last round. */
  maxDifference: number;
  verification: { ok: boolean };
}

/**
 * Runs the same 3 hospitals × `rounds` updates as a plaintext run and as a CKKS-encrypted run
 * (hospitals hold `secretKey`; the run records only the parameters and `keyFingerprint`), with the
 * hospitals decrypting each encrypted aggregate and applying it themselves.
 */
export async function encryptedRunScenario(
  h: Harness,
  prefix: string,
  secretKey: Uint8Array,
  keyFingerprint: string,
  rounds = 3,
): Promise<EncryptedRunResult> {
  const { CKKS_PARAMS, decryptAggregate, encryptUpdate } = await import('@fedledger/protocol/ckks');
  const plainRunId = `${prefix}-plain`;
  const encryptedRunId = `${prefix}-enc`;
  await createRun(h, plainRunId, {
    roundsPlanned: rounds,
    minUpdatesPerRound: 3,
    // The default bound, as the encrypted run's updates are bounded by nothing the gateway sees.
    updateNormBound: undefined,
  });
  await createRun(h, encryptedRunId, {
    roundsPlanned: rounds,
    minUpdatesPerRound: 3,
    he: { params: CKKS_PARAMS, keyFingerprint },
  });
  const hospitals: [OrgName, string, number][] = [
    ['hospital1', 'Hospital1MSP', 120],
    ['hospital2', 'Hospital2MSP', 300],
    ['hospital3', 'Hospital3MSP', 80],
  ];
  const flat = (bytes: Uint8Array): Float32Array => {
    const parts = specArrays(bytes);
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  // The hospitals keep the global model themselves in an encrypted run.
  let theta = flat(
    (await h.call('hospital1', 'GET', `/v1/runs/${encryptedRunId}/rounds/0/model`)).body,
  );
  for (let r = 0; r < rounds; r++) {
    for (const [who, msp, n] of hospitals) {
      const plain = update(plainRunId, r, msp, n, 10 * r + n);
      await accepted(h.submit(who, plainRunId, r, plain), `${msp} plaintext round ${r}`);
      const ciphertexts = await encryptUpdate({
        params: CKKS_PARAMS,
        secretKey,
        flat: flat(plain),
        metadata: {
          kind: 'update',
          runId: encryptedRunId,
          round: r,
          mspId: msp,
          sampleCount: n,
          modelSpecHash: decodeContainer(plain).metadata.modelSpecHash,
        },
      });
      await accepted(h.submit(who, encryptedRunId, r, ciphertexts), `${msp} encrypted round ${r}`);
    }
    await waitClosed(h, plainRunId, r);
    const closed = await waitClosed(h, encryptedRunId, r);
    const path =
      r + 1 < rounds
        ? `/v1/runs/${encryptedRunId}/rounds/${r + 1}/model`
        : `/v1/runs/${encryptedRunId}/model`;
    const aggregate = (await h.call('hospital2', 'GET', path)).body;
    assert.equal(
      sha256Hex(aggregate),
      closed.aggregateHash,
      `round ${r}: served aggregate is the ledger's`,
    );
    assert.equal(decodeContainer(aggregate).metadata.encoding, 'ckks');
    const delta = await decryptAggregate(CKKS_PARAMS, secretKey, aggregate);
    theta = Float32Array.from(theta, (v, i) => v + (delta[i] as number));
  }
  const plainFinal = flat((await h.call('hospital1', 'GET', `/v1/runs/${plainRunId}/model`)).body);
  let maxDifference = 0;
  for (let i = 0; i < plainFinal.length; i++) {
    maxDifference = Math.max(
      maxDifference,
      Math.abs((plainFinal[i] as number) - (theta[i] as number)),
    );
  }
  const verification = (
    await h.call('auditor', 'POST', `/v1/audit/runs/${encryptedRunId}/verify`)
  ).json<{ ok: boolean }>();
  return { plainRunId, encryptedRunId, maxDifference, verification };
}
