// Encrypted updates on the hospital side, and the `keys` commands of the CLI.
import { expect } from 'chai';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import type { Container, Tensor } from '@fedledger/protocol';
import { modelSpecHash, referenceModelSpec } from '@fedledger/protocol';
import {
  CKKS_PARAMS,
  aggregateEncrypted,
  generateSecretKey,
  secretKeyFingerprint,
} from '@fedledger/protocol/ckks';
import { main } from '../src/cli/main';
import { EXIT } from '../src/cli/common';
import {
  applyEncryptedAggregate,
  encryptLocalUpdate,
  flattenTensors,
  unflattenTensors,
} from '../src/he/encrypted-update';
import { openKeyFile } from '../src/he/key-store';
import { initialModelTensors } from '../src/model/mlp';
import { tempDir } from './helpers';

const spec = referenceModelSpec(6, 3);
const params = CKKS_PARAMS;

function scaled(tensors: readonly Tensor[], factor: number): Tensor[] {
  return tensors.map((t) => ({
    name: t.name,
    dtype: 'F32' as const,
    shape: [...t.shape],
    data: Float32Array.from(t.data, (x) => x * factor),
  }));
}

function updateContainer(mspId: string, sampleCount: number, tensors: Tensor[]): Container {
  return {
    metadata: {
      kind: 'update',
      runId: 'run-he',
      round: 1,
      mspId,
      sampleCount,
      modelSpecHash: modelSpecHash(spec),
      encoding: 'float32',
    },
    extra: { 'dp.mode': 'none' },
    tensors,
  };
}

describe('trainer encrypted updates', function () {
  this.timeout(30_000);

  it('flattens tensors in spec order and cuts them back', () => {
    const tensors = initialModelTensors(spec, 3);
    const flat = flattenTensors([...tensors].reverse(), spec);
    expect(flat.length).to.equal(tensors.reduce((n, t) => n + t.data.length, 0));
    expect(unflattenTensors(flat, spec)).to.deep.equal(tensors);
    expect(() => unflattenTensors(flat.subarray(1), spec)).to.throw(/parameters/);
  });

  it('encrypts two updates, and the decrypted aggregate moves the model to the weighted mean', async () => {
    const secretKey = await generateSecretKey(params);
    const global = initialModelTensors(spec, 1);
    const deltaA = scaled(initialModelTensors(spec, 2), 0.1);
    const deltaB = scaled(initialModelTensors(spec, 3), -0.05);
    const a = await encryptLocalUpdate({
      params,
      secretKey,
      spec,
      update: updateContainer('Hospital1MSP', 300, deltaA),
    });
    const b = await encryptLocalUpdate({
      params,
      secretKey,
      spec,
      update: updateContainer('Hospital2MSP', 100, deltaB),
    });
    const aggregate = await aggregateEncrypted(
      params,
      [
        { bytes: a, sampleCount: 300 },
        { bytes: b, sampleCount: 100 },
      ],
      { runId: 'run-he', round: 2, modelSpecHash: modelSpecHash(spec) },
    );
    const next = await applyEncryptedAggregate({
      params,
      secretKey,
      spec,
      globalTensors: global,
      aggregate,
    });
    let worst = 0;
    next.forEach((t, i) => {
      for (let j = 0; j < t.data.length; j++) {
        const want =
          (global[i]?.data[j] as number) +
          0.75 * (deltaA[i]?.data[j] as number) +
          0.25 * (deltaB[i]?.data[j] as number);
        worst = Math.max(worst, Math.abs((t.data[j] as number) - want));
      }
    });
    // float32 storage of θ bounds the comparison, not CKKS (whose error is ~1e-8).
    expect(worst).to.be.below(1e-6);
  });

  it('refuses to encrypt a model or an update for another spec', async () => {
    const secretKey = await generateSecretKey(params);
    const model = updateContainer('Hospital1MSP', 1, initialModelTensors(spec, 1));
    model.metadata.kind = 'model';
    const caught = await encryptLocalUpdate({ params, secretKey, spec, update: model }).catch(
      (e: unknown) => e,
    );
    expect(caught).to.have.property('code', 'MODEL_INVALID');
  });
});

describe('fedledger-trainer keys', function () {
  this.timeout(30_000);
  const saved = { ...process.env };
  let out: sinon.SinonStub;
  beforeEach(() => {
    out = sinon.stub(console, 'log');
    sinon.stub(console, 'error');
  });
  afterEach(() => {
    sinon.restore();
    process.env = { ...saved };
  });
  const lastJson = (): Record<string, string> =>
    JSON.parse(String(out.lastCall.args[0])) as Record<string, string>;

  it('init, fingerprint, export and import keep one key under different passphrases', async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'run.key');
    process.env.FEDLEDGER_KEY_PASSPHRASE = 'hospital one passphrase';
    expect(await main(['keys', 'init', '--run', 'run-he', '--out', keyFile])).to.equal(EXIT.OK);
    const { fingerprint } = lastJson();
    expect(fingerprint).to.match(/^[0-9a-f]{64}$/);
    expect(statSync(keyFile).mode & 0o777).to.equal(0o600);

    expect(await main(['keys', 'fingerprint', '--key', keyFile])).to.equal(EXIT.OK);
    expect(lastJson()).to.include({ runId: 'run-he', fingerprint });

    const transferPass = join(dir, 'transfer.pass');
    writeFileSync(transferPass, 'shared transfer words\n');
    const transfer = join(dir, 'transfer.key');
    expect(
      await main([
        'keys',
        'export',
        '--key',
        keyFile,
        '--out',
        transfer,
        '--transfer-passphrase-file',
        transferPass,
      ]),
    ).to.equal(EXIT.OK);

    process.env.FEDLEDGER_KEY_PASSPHRASE = 'hospital two passphrase';
    const imported = join(dir, 'hospital2.key');
    expect(
      await main([
        'keys',
        'import',
        '--in',
        transfer,
        '--out',
        imported,
        '--transfer-passphrase-file',
        transferPass,
      ]),
    ).to.equal(EXIT.OK);
    expect(lastJson()).to.include({ fingerprint, runId: 'run-he' });
    const opened = await openKeyFile(imported, 'hospital two passphrase');
    expect(await secretKeyFingerprint(params, opened.secretKey)).to.equal(fingerprint);
    expect(readFileSync(imported, 'utf8')).to.not.equal(readFileSync(keyFile, 'utf8'));
  });

  it('exits 7 for a wrong or missing passphrase and an existing key file', async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'run.key');
    process.env.FEDLEDGER_KEY_PASSPHRASE = 'the right passphrase';
    expect(await main(['keys', 'init', '--run', 'r', '--out', keyFile])).to.equal(EXIT.OK);
    expect(await main(['keys', 'init', '--run', 'r', '--out', keyFile])).to.equal(EXIT.KEY);
    expect(await main(['keys', 'init', '--run', 'r', '--out', keyFile, '--force'])).to.equal(
      EXIT.OK,
    );
    process.env.FEDLEDGER_TRANSFER_PASSPHRASE = 'transfer passphrase';
    process.env.FEDLEDGER_KEY_PASSPHRASE = 'a wrong passphrase';
    const args = ['keys', 'export', '--key', keyFile, '--out', join(dir, 't.key')];
    expect(await main(args)).to.equal(EXIT.KEY);
    delete process.env.FEDLEDGER_KEY_PASSPHRASE;
    expect(await main(args)).to.equal(EXIT.KEY);
    expect(await main(['keys', 'init', '--out', keyFile])).to.equal(EXIT.USAGE);
  });
});
