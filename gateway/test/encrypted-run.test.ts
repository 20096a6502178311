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
import { flattenTensors } from '@fedledger/rules';
import { Harness, SPEC, createRun, encryptedRunScenario, tensors, update } from '../src/testing';

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
    const result = await encryptedRunScenario(h, 'he', secretKey, fingerprint, ROUNDS);
    expect(result.maxDifference).to.be.lessThan(1e-5);
    // Anyone can recompute the encrypted aggregates from the ledger-listed ciphertexts.
    expect(result.verification.ok).to.equal(true);

    // The gateway never had the key: its ledger settings hold parameters and a fingerprint only,
    // and no file it wrote contains any 64-byte piece of the key.
    const run = (await h.call('auditor', 'GET', '/v1/runs/he-enc')).json<{
      run: { settings: { he: object } };
    }>().run;
    expect(Object.keys(run.settings.he).sort()).to.deep.equal(['keyFingerprint', 'params']);
    const probe = Buffer.from(secretKey.subarray(1000, 1064));
    for (const file of filesUnder(join(h.dir, 'state'))) {
      expect(readFileSync(file).includes(probe), file).to.equal(false);
    }
  });

  it('a decryption attempt without the hospitals’ key yields nothing usable', async () => {
    const aggregate = (await h.call('auditor', 'GET', '/v1/runs/he-enc/model')).body;
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
