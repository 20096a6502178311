import { expect } from 'chai';
import { decodeContainer } from '../src';
import {
  CKKS_KEYS,
  CKKS_PARAMS_HASH,
  CkksError,
  CkksKeyMismatchError,
  CkksParamsMismatchError,
  checkParams,
  ckksParamsHash,
  decryptAggregate,
  encryptUpdate,
  generateSecretKey,
  secretKeyFingerprint,
} from '../src/ckks';
import { maxAbsDiff, params, testKey, updateMeta, updateVector } from './ckks-helpers';

describe('CKKS parameters', () => {
  it('accepts the run parameter set and hashes it stably', () => {
    expect(checkParams(JSON.parse(JSON.stringify(params)))).to.deep.equal(params);
    expect(ckksParamsHash({ ...params })).to.equal(CKKS_PARAMS_HASH);
    expect(CKKS_PARAMS_HASH).to.match(/^[0-9a-f]{64}$/);
  });

  it('rejects any other parameter set with CKKS_PARAMS_MISMATCH', () => {
    for (const other of [
      { ...params, polyModulusDegree: 16384 },
      { ...params, coeffModulusBits: [60, 40, 60] },
      { ...params, scaleBits: 30 },
      { ...params, security: 'tc192' },
      { ...params, extra: 1 },
      null,
      'ckks',
    ]) {
      expect(() => checkParams(other))
        .to.throw(CkksParamsMismatchError)
        .with.property('code', 'CKKS_PARAMS_MISMATCH');
    }
  });
});

describe('CKKS encrypt and decrypt', function () {
  this.timeout(20_000);

  it('round-trips an update within 1e-6 and records the layout in the metadata', async () => {
    const key = await testKey();
    const flat = updateVector(19_011, 1);
    flat[0] = 1;
    flat[1] = -1;
    const bytes = await encryptUpdate({
      params,
      secretKey: key,
      flat,
      metadata: updateMeta('Hospital1MSP', 400),
      extra: { 'dp.epsilon': '1.5' },
    });
    const container = decodeContainer(bytes);
    expect(container.metadata.encoding).to.equal('ckks');
    expect(container.extra['dp.epsilon']).to.equal('1.5');
    expect(container.extra[CKKS_KEYS.paramsHash]).to.equal(CKKS_PARAMS_HASH);
    expect(container.extra[CKKS_KEYS.keyFingerprint]).to.equal(
      await secretKeyFingerprint(params, key),
    );
    expect(container.extra[CKKS_KEYS.parameterCount]).to.equal('19011');
    expect(container.extra[CKKS_KEYS.ciphertextCount]).to.equal('5');
    expect(container.tensors.map((t) => t.name)).to.deep.equal([
      'ckks.00000',
      'ckks.00001',
      'ckks.00002',
      'ckks.00003',
      'ckks.00004',
    ]);
    const back = await decryptAggregate(params, key, bytes);
    expect(back.length).to.equal(flat.length);
    expect(maxAbsDiff(back, flat)).to.be.at.most(1e-6);
  });

  it('encrypts Float32Array updates and a vector shorter than one ciphertext', async () => {
    const key = await testKey();
    const flat = Float32Array.from([0.5, -0.25, 1e-7, 0]);
    const bytes = await encryptUpdate({
      params,
      secretKey: key,
      flat,
      metadata: updateMeta('Hospital1MSP', 1),
    });
    expect(maxAbsDiff(await decryptAggregate(params, key, bytes), flat)).to.be.at.most(1e-6);
  });

  it('is randomised: the same update encrypts to different bytes', async () => {
    const key = await testKey();
    const input = {
      params,
      secretKey: key,
      flat: updateVector(10, 2),
      metadata: updateMeta('Hospital1MSP', 1),
    };
    expect(Buffer.from(await encryptUpdate(input)).equals(await encryptUpdate(input))).to.equal(
      false,
    );
  });

  it('rejects values that are not finite or out of range', async () => {
    const key = await testKey();
    for (const bad of [NaN, Infinity, 1e6]) {
      let caught: unknown;
      try {
        await encryptUpdate({
          params,
          secretKey: key,
          flat: Float64Array.from([0, bad]),
          metadata: updateMeta('Hospital1MSP', 1),
        });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(RangeError);
    }
  });

  it('refuses to decrypt with another key (CKKS_KEY_MISMATCH)', async () => {
    const bytes = await encryptUpdate({
      params,
      secretKey: await testKey(),
      flat: updateVector(10, 3),
      metadata: updateMeta('Hospital1MSP', 1),
    });
    const other = await generateSecretKey(params);
    const caught = await decryptAggregate(params, other, bytes).catch((e: unknown) => e);
    expect(caught).to.be.instanceOf(CkksKeyMismatchError);
    expect((caught as CkksError).code).to.equal('CKKS_KEY_MISMATCH');
  });

  it('gives different keys different fingerprints, and one key always the same', async () => {
    const key = await testKey();
    const a = await secretKeyFingerprint(params, key);
    expect(await secretKeyFingerprint(params, Uint8Array.from(key))).to.equal(a);
    expect(await secretKeyFingerprint(params, await generateSecretKey(params))).to.not.equal(a);
  });

  it('rejects bytes that are not a secret key (CKKS_MALFORMED)', async () => {
    const caught = await secretKeyFingerprint(params, new Uint8Array(64)).catch((e: unknown) => e);
    expect(caught).to.be.instanceOf(CkksError).with.property('code', 'CKKS_MALFORMED');
  });
});
