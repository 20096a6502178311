import { expect } from 'chai';
import { decodeContainer, encodeContainer, sha256Hex } from '../src';
import type { EncryptedInput } from '../src/ckks';
import {
  CKKS_KEYS,
  CkksError,
  aggregateEncrypted,
  checkEncryptedUpdate,
  decryptAggregate,
  encryptUpdate,
  generateSecretKey,
} from '../src/ckks';
import { maxAbsDiff, params, specHash, testKey, updateMeta, updateVector } from './ckks-helpers';

const SIZE = 10_000;
const COUNTS = [120, 300, 80];
const aggregateMeta = { runId: 'run-1', round: 4, modelSpecHash: specHash };

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  const caught = await work.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught, 'expected a refusal').to.be.instanceOf(CkksError);
  return (caught as CkksError).code;
}

/** Rewrites one container's metadata or tensors and re-encodes it. */
function tamper(
  bytes: Uint8Array,
  edit: (c: ReturnType<typeof decodeContainer>) => void,
): Uint8Array {
  const container = decodeContainer(bytes);
  edit(container);
  return encodeContainer(container);
}

describe('CKKS encrypted aggregation', function () {
  this.timeout(20_000);
  let vectors: Float64Array[];
  let inputs: EncryptedInput[];

  before(async () => {
    const key = await testKey();
    vectors = COUNTS.map((_, k) => updateVector(SIZE, k + 10));
    inputs = await Promise.all(
      COUNTS.map(async (n, k) => ({
        bytes: await encryptUpdate({
          params,
          secretKey: key,
          flat: vectors[k] as Float64Array,
          metadata: updateMeta(`Hospital${k + 1}MSP`, n),
        }),
        sampleCount: n,
      })),
    );
  });

  it('decrypts to the sample-weighted mean within 1e-6', async () => {
    const bytes = await aggregateEncrypted(params, inputs, aggregateMeta);
    const total = COUNTS.reduce((a, b) => a + b, 0);
    const expected = new Float64Array(SIZE);
    COUNTS.forEach((n, k) => {
      const v = vectors[k] as Float64Array;
      for (let i = 0; i < SIZE; i++)
        expected[i] = (expected[i] as number) + (n / total) * (v[i] as number);
    });
    const got = await decryptAggregate(params, await testKey(), bytes);
    expect(got.length).to.equal(SIZE);
    expect(maxAbsDiff(got, expected)).to.be.at.most(1e-6);
    const container = decodeContainer(bytes);
    expect(container.metadata).to.deep.include({
      kind: 'model',
      round: 4,
      mspId: '',
      sampleCount: total,
      encoding: 'ckks',
    });
    expect(container.extra[CKKS_KEYS.keyFingerprint]).to.equal(
      decodeContainer(inputs[0]?.bytes as Uint8Array).extra[CKKS_KEYS.keyFingerprint],
    );
  });

  it('is deterministic: the same inputs give byte-identical output', async () => {
    const a = await aggregateEncrypted(params, inputs, aggregateMeta);
    const b = await aggregateEncrypted(
      params,
      inputs.map((i) => ({ bytes: Uint8Array.from(i.bytes), sampleCount: i.sampleCount })),
      aggregateMeta,
    );
    expect(sha256Hex(a)).to.equal(sha256Hex(b));
    // The order is part of the computation's definition; another order is still the same mean.
    const reversed = await aggregateEncrypted(params, [...inputs].reverse(), aggregateMeta);
    expect(
      maxAbsDiff(
        await decryptAggregate(params, await testKey(), reversed),
        await decryptAggregate(params, await testKey(), a),
      ),
    ).to.be.at.most(1e-6);
  });

  it('aggregates a single update to itself', async () => {
    const bytes = await aggregateEncrypted(params, [inputs[0] as EncryptedInput], aggregateMeta);
    const got = await decryptAggregate(params, await testKey(), bytes);
    expect(maxAbsDiff(got, vectors[0] as Float64Array)).to.be.at.most(1e-6);
  });

  it('rejects an input under another key (CKKS_KEY_MISMATCH)', async () => {
    const other = await encryptUpdate({
      params,
      secretKey: await generateSecretKey(params),
      flat: updateVector(SIZE, 99),
      metadata: updateMeta('Hospital9MSP', 50),
    });
    const code = await codeOf(
      aggregateEncrypted(params, [...inputs, { bytes: other, sampleCount: 50 }], aggregateMeta),
    );
    expect(code).to.equal('CKKS_KEY_MISMATCH');
  });

  it('rejects an input made under other parameters (CKKS_PARAMS_MISMATCH)', async () => {
    const bytes = tamper(inputs[1]?.bytes as Uint8Array, (c) => {
      c.extra[CKKS_KEYS.paramsHash] = 'f'.repeat(64);
    });
    const copy = [...inputs];
    copy[1] = { bytes, sampleCount: COUNTS[1] as number };
    expect(await codeOf(aggregateEncrypted(params, copy, aggregateMeta))).to.equal(
      'CKKS_PARAMS_MISMATCH',
    );
    expect(
      await codeOf(aggregateEncrypted({ ...params, scaleBits: 30 }, inputs, aggregateMeta)),
    ).to.equal('CKKS_PARAMS_MISMATCH');
  });

  const malformed: [string, (c: ReturnType<typeof decodeContainer>) => void][] = [
    ['a missing ciphertext', (c) => void c.tensors.pop()],
    [
      'a wrong ciphertext count',
      (c) => {
        c.extra[CKKS_KEYS.ciphertextCount] = '2';
      },
    ],
    [
      'a different parameter count',
      (c) => {
        c.extra[CKKS_KEYS.parameterCount] = String(SIZE - 1);
      },
    ],
    [
      'a truncated ciphertext',
      (c) => {
        const t = c.tensors[0];
        if (t?.dtype === 'U8') c.tensors[0] = { ...t, data: t.data.slice(0, 5000), shape: [5000] };
      },
    ],
    [
      'a ciphertext with a bad SEAL header',
      (c) => {
        const t = c.tensors[1];
        if (t?.dtype === 'U8') t.data[5] = 7;
      },
    ],
    [
      'a float32 encoding',
      (c) => {
        c.metadata.encoding = 'float32';
      },
    ],
    [
      'another run',
      (c) => {
        c.metadata.runId = 'run-2';
      },
    ],
    [
      'a sample count the ledger does not record',
      (c) => {
        c.metadata.sampleCount = 1;
      },
    ],
  ];
  for (const [what, edit] of malformed) {
    it(`rejects an input with ${what} (CKKS_MALFORMED)`, async () => {
      const copy = [...inputs];
      copy[2] = {
        bytes: tamper(inputs[2]?.bytes as Uint8Array, edit),
        sampleCount: COUNTS[2] as number,
      };
      expect(await codeOf(aggregateEncrypted(params, copy, aggregateMeta))).to.equal(
        'CKKS_MALFORMED',
      );
    });
  }

  it('rejects an aggregate offered as an input (CKKS_MALFORMED)', async () => {
    const aggregate = await aggregateEncrypted(params, inputs, aggregateMeta);
    const asUpdate = tamper(aggregate, (c) => {
      c.metadata.kind = 'update';
      c.metadata.mspId = 'Hospital4MSP';
      c.metadata.sampleCount = 10;
    });
    expect(
      await codeOf(
        aggregateEncrypted(
          params,
          [...inputs, { bytes: asUpdate, sampleCount: 10 }],
          aggregateMeta,
        ),
      ),
    ).to.equal('CKKS_MALFORMED');
  });

  it('checks a single update without the key, and refuses one under another key', async () => {
    const fingerprint = decodeContainer(inputs[0]?.bytes as Uint8Array).extra[
      CKKS_KEYS.keyFingerprint
    ] as string;
    const header = await checkEncryptedUpdate(params, inputs[0]?.bytes as Uint8Array, fingerprint);
    expect(header).to.deep.include({
      parameterCount: SIZE,
      ciphertextCount: 3,
      keyFingerprint: fingerprint,
    });
    expect(
      await codeOf(checkEncryptedUpdate(params, inputs[0]?.bytes as Uint8Array, 'e'.repeat(64))),
    ).to.equal('CKKS_KEY_MISMATCH');
    expect(
      await codeOf(
        aggregateEncrypted(params, inputs, { ...aggregateMeta, keyFingerprint: 'e'.repeat(64) }),
      ),
    ).to.equal('CKKS_KEY_MISMATCH');
    const aggregate = await aggregateEncrypted(params, inputs, aggregateMeta);
    const asUpdate = tamper(aggregate, (c) => {
      c.metadata.kind = 'update';
      c.metadata.mspId = 'Hospital4MSP';
    });
    expect(await codeOf(checkEncryptedUpdate(params, asUpdate))).to.equal('CKKS_MALFORMED');
  });

  it('rejects an empty input list and non-positive sample counts', async () => {
    for (const bad of [[], [{ bytes: inputs[0]?.bytes as Uint8Array, sampleCount: 0 }]]) {
      const caught = await aggregateEncrypted(params, bad, aggregateMeta).catch((e: unknown) => e);
      expect(caught).to.be.instanceOf(RangeError);
    }
  });
});
