// An encrypted run (CKKS): the gateway aggregates ciphertexts it cannot read, hospitals decrypt,
// and the model they reach equals the plaintext run's within 1e-5 per weight.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Tensor } from '@fedledger/protocol';
import { decodeContainer, encodeContainer, modelSpecHash, sha256Hex } from '@fedledger/protocol';
import {
  CKKS_PARAMS,
  decryptAggregate,
  encryptUpdate,
  generateSecretKey,
  secretKeyFingerprint,
} from '@fedledger/protocol/ckks';
import { flattenTensors } from '../src';
import type { OrgName } from '../src/testing';
import { Harness, SPEC, createRun, tensors, update, waitClosed } from '../src/testing';

const HOSPITALS: [OrgName, string, number][] = [
  ['hospital1', 'Hospital1MSP', 120],
  ['hospital2', 'Hospital2MSP', 300],
  ['hospital3', 'Hospital3MSP', 80],
];
const ROUNDS = 3;

function flat(t: Tensor[]): Float32Array {
  return flattenTensors(t, SPEC);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

describe('encrypted run (CKKS)', function () {
  this.timeout(120_000);
  let h: Harness;
  let secretKey: Uint8Array;
  let fingerprint: string;

  before(async () => {
    h = await Harness.create();
    secretKey = await generateSecretKey(CKKS_PARAMS);
    fingerprint = await secretKeyFingerprint(CKKS_PARAMS, secretKey);
  });
  after(async () => {
    await h.dispose();
  });

  const encrypted = (
    runId: string,
    round: number,
    mspId: string,
    n: number,
    seed: number,
    key = secretKey,
  ) =>
    encryptUpdate({
      params: CKKS_PARAMS,
      secretKey: key,
      flat: flat(tensors(seed)),
      metadata: {
        kind: 'update',
        runId,
        round,
        mspId,
        sampleCount: n,
        modelSpecHash: modelSpecHash(SPEC),
      },
    });

  it('reaches the plaintext run’s model within 1e-5 per weight, without the gateway holding a key', async () => {
    await createRun(h, 'plain', {
      roundsPlanned: ROUNDS,
      minUpdatesPerRound: 3,
      updateNormBound: null,
    });
    await createRun(h, 'enc', {
      roundsPlanned: ROUNDS,
      minUpdatesPerRound: 3,
      he: { params: CKKS_PARAMS, keyFingerprint: fingerprint },
    });
    // The hospitals keep the global model themselves in an encrypted run.
    let theta = flat(
      decodeContainer((await h.call('hospital1', 'GET', '/v1/runs/enc/rounds/0/model')).body)
        .tensors,
    );
    for (let r = 0; r < ROUNDS; r++) {
      for (const [who, msp, n] of HOSPITALS) {
        const seed = 10 * r + n;
        expect((await h.submit(who, 'plain', r, update('plain', r, msp, n, seed))).status).to.equal(
          200,
        );
        const reply = await h.submit(who, 'enc', r, await encrypted('enc', r, msp, n, seed));
        expect(reply.status, reply.body.toString()).to.equal(200);
      }
      await waitClosed(h, 'plain', r);
      const closed = await waitClosed(h, 'enc', r);
      const path = r + 1 < ROUNDS ? `/v1/runs/enc/rounds/${r + 1}/model` : '/v1/runs/enc/model';
      const aggregateBytes = (await h.call('hospital2', 'GET', path)).body;
      expect(sha256Hex(aggregateBytes)).to.equal(closed.aggregateHash);
      expect(decodeContainer(aggregateBytes).metadata.encoding).to.equal('ckks');
      const delta = await decryptAggregate(CKKS_PARAMS, secretKey, aggregateBytes);
      theta = Float32Array.from(theta, (v, i) => v + delta[i]!);
    }
    const plain = flat(
      decodeContainer((await h.call('hospital1', 'GET', '/v1/runs/plain/model')).body).tensors,
    );
    let maxDiff = 0;
    for (let i = 0; i < plain.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(plain[i]! - theta[i]!));
    expect(maxDiff).to.be.lessThan(1e-5);

    // Anyone can recompute the encrypted aggregates from the ledger-listed ciphertexts.
    const verify = await h.call('auditor', 'POST', '/v1/audit/runs/enc/verify');
    expect(verify.json<{ ok: boolean }>().ok, verify.body.toString()).to.equal(true);

    // The gateway never had the key: its ledger settings hold parameters and a fingerprint only,
    // and no file it wrote contains any 64-byte piece of the key.
    const run = (await h.call('auditor', 'GET', '/v1/runs/enc')).json<{
      run: { settings: { he: object } };
    }>().run;
    expect(Object.keys(run.settings.he).sort()).to.deep.equal(['keyFingerprint', 'params']);
    const probe = Buffer.from(secretKey.subarray(1000, 1064));
    for (const file of filesUnder(join(h.dir, 'state'))) {
      expect(readFileSync(file).includes(probe), file).to.equal(false);
    }
  });

  it('a decryption attempt without the hospitals’ key yields nothing usable', async () => {
    const aggregate = (await h.call('auditor', 'GET', '/v1/runs/enc/model')).body;
    const stranger = await generateSecretKey(CKKS_PARAMS);
    const guess = await decryptAggregate(CKKS_PARAMS, stranger, aggregate).catch(() => undefined);
    if (guess !== undefined) {
      const right = await decryptAggregate(CKKS_PARAMS, secretKey, aggregate);
      let maxDiff = 0;
      for (let i = 0; i < right.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(right[i]! - guess[i]!));
      expect(maxDiff).to.be.greaterThan(1);
    }
  });

  it('refuses ciphertexts under another key or other parameters, with their codes', async () => {
    await createRun(h, 'enc-refuse', {
      roundsPlanned: 1,
      he: { params: CKKS_PARAMS, keyFingerprint: fingerprint },
    });
    const other = await generateSecretKey(CKKS_PARAMS);
    const wrongKey = await h.call(
      'hospital1',
      'POST',
      '/v1/runs/enc-refuse/rounds/0/updates',
      await encrypted('enc-refuse', 0, 'Hospital1MSP', 5, 1, other),
    );
    expect(wrongKey.status).to.equal(422);
    expect(wrongKey.json<{ code: string }>().code).to.equal('FL_ERR_CKKS_KEY_MISMATCH');
    const c = decodeContainer(await encrypted('enc-refuse', 0, 'Hospital1MSP', 5, 1));
    c.extra['ckks.params_hash'] = sha256Hex(Buffer.from('other parameters'));
    const wrongParams = await h.call(
      'hospital1',
      'POST',
      '/v1/runs/enc-refuse/rounds/0/updates',
      encodeContainer(c),
    );
    expect(wrongParams.status).to.equal(422);
    expect(wrongParams.json<{ code: string }>().code).to.equal('FL_ERR_CKKS_PARAMS_MISMATCH');
    // A plaintext update to an encrypted run is refused as well.
    const plain = await h.call(
      'hospital1',
      'POST',
      '/v1/runs/enc-refuse/rounds/0/updates',
      update('enc-refuse', 0, 'Hospital1MSP', 5, 1),
    );
    expect(plain.json<{ code: string }>().code).to.equal('FL_ERR_UNSUPPORTED_ENCODING');
  });
});
