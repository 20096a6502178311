import { expect } from 'chai';
import { decodeContainer } from '../src';
import { aggregateEncrypted, decryptAggregate, encryptUpdate, sealHeapBytes } from '../src/ckks';
import { sealRuntime } from '../src/ckks/seal-context';
import type { Deletable } from '../src/ckks/seal-context';
import { params, specHash, testKey, updateMeta, updateVector } from './ckks-helpers';

const SIZE = 6000; // two ciphertexts per update
const aggregateMeta = { runId: 'run-1', round: 4, modelSpecHash: specHash };

async function oneRound(key: Uint8Array, round: number): Promise<void> {
  const a = updateVector(SIZE, round);
  const b = updateVector(SIZE, round + 0.5);
  const inputs = await Promise.all(
    [a, b].map(async (flat, k) => ({
      bytes: await encryptUpdate({
        params,
        secretKey: key,
        flat,
        metadata: updateMeta(`Hospital${k}MSP`, 10 + k),
      }),
      sampleCount: 10 + k,
    })),
  );
  const mean = await decryptAggregate(
    params,
    key,
    await aggregateEncrypted(params, inputs, aggregateMeta),
  );
  expect(
    Math.abs((mean[7] as number) - (10 * (a[7] as number) + 11 * (b[7] as number)) / 21),
  ).to.be.below(1e-6);
  // The refusal paths must release their SEAL objects too.
  const refused = await aggregateEncrypted(
    params,
    [
      inputs[0] as (typeof inputs)[number],
      { bytes: inputs[1]?.bytes as Uint8Array, sampleCount: 1 },
    ],
    aggregateMeta,
  ).catch((e: unknown) => e);
  expect(refused).to.be.instanceOf(Error);
}

describe('CKKS memory', function () {
  this.timeout(60_000);

  it('keeps the WebAssembly heap flat over 100 encrypt/aggregate/decrypt rounds', async () => {
    const key = await testKey();
    for (let round = 0; round < 3; round++) await oneRound(key, round);
    const before = sealHeapBytes();
    expect(before, 'the SEAL heap size should be observable').to.be.a('number');
    for (let round = 3; round < 103; round++) await oneRound(key, round);
    const growth = (sealHeapBytes() as number) - (before as number);
    expect(growth).to.be.at.most(1024 * 1024);
  });

  it('would notice a leak: twenty undeleted ciphertexts grow the heap', async () => {
    const runtime = await sealRuntime(params);
    const bytes = await encryptUpdate({
      params,
      secretKey: await testKey(),
      flat: updateVector(10, 1),
      metadata: updateMeta('Hospital1MSP', 1),
    });
    const first = decodeContainer(bytes).tensors[0]?.data as Uint8Array;
    const before = sealHeapBytes() as number;
    const leaked: Deletable[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const ct = runtime.seal.CipherText();
        leaked.push(ct);
        ct.loadArray(runtime.context, first);
      }
      expect((sealHeapBytes() as number) - before).to.be.above(1024 * 1024);
    } finally {
      for (const ct of leaked) ct.delete();
    }
  });
});
