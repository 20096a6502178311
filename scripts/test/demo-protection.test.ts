// The demo's --protection: parsing (plaintext by default, ckks, secagg, anything else refused), a runnable protection behind every available name, and the
// CKKS pieces the demo runs in-process: the key ceremony through the trainer's `keys` commands,
// the run file's field, the trainers' arguments and the evaluation's decryption of the aggregates.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container, ModelSpec, Tensor } from '@fedledger/protocol';
import { encodeContainer, modelSpecHash } from '@fedledger/protocol';
import {
  CKKS_PARAMS,
  aggregateEncrypted,
  encryptUpdate,
  parseKeyFile,
} from '@fedledger/protocol/ckks';
import { flattenTensors, initialModelTensors, openKeyFile } from '@fedledger/trainer';
import type { Protection } from '../demo/demo-options';
import { PROTECTIONS, parseOptions } from '../demo/demo-options';
import { demoProtection } from '../demo/demo-protection';

const TRAINER = join(__dirname, '..', '..', '..', 'trainer', 'dist', 'src', 'cli', 'main.js');

describe('demo --protection', function () {
  this.timeout(120_000);

  it('is plaintext by default and takes ckks and secagg; others are refused', () => {
    expect(parseOptions([]).protection).to.equal('plaintext');
    expect(parseOptions(['--protection', 'ckks']).protection).to.equal('ckks');
    expect(parseOptions(['--protection', 'secagg']).protection).to.equal('secagg');
    expect(parseOptions(['--protection=plaintext']).protection).to.equal('plaintext');
    expect(() => parseOptions(['--protection', 'paillier'])).to.throw(
      '--protection must be one of plaintext, ckks, secagg; got "paillier"',
    );
    expect(() => parseOptions(['--protection'])).to.throw(/--protection/);
  });

  it('has a protection the demo can run behind every name it accepts', () => {
    const context = {
      runId: 'r',
      work: tmpdir(),
      hospitals: [{ name: 'hospital1', mspId: 'Hospital1MSP' }],
      trainer: TRAINER,
      log: () => undefined,
    };
    for (const name of Object.keys(PROTECTIONS) as Protection[]) {
      if (PROTECTIONS[name].available) {
        expect(demoProtection(name, context).mode, name).to.equal(name);
      } else {
        expect(() => demoProtection(name, context), name).to.throw(/not yet available/);
      }
    }
    const plaintext = demoProtection('plaintext', context);
    expect(plaintext.runFileField()).to.equal('none');
    expect(plaintext.trainerArgs('hospital1')).to.deep.equal([]);
    const secagg = demoProtection('secagg', context);
    expect(secagg.runFileField()).to.deep.equal({ secagg: { phaseSeconds: 30 } });
    expect(secagg.label).to.match(/secure aggregation/);
  });

  it('ckks: a key ceremony gives every hospital the same key; the evaluation decrypts the aggregates', async () => {
    const work = mkdtempSync(join(tmpdir(), 'fedledger-demo-protection-'));
    const hospitals = [1, 2, 3].map((i) => ({ name: `hospital${i}`, mspId: `Hospital${i}MSP` }));
    const lines: string[] = [];
    const ckks = demoProtection('ckks', {
      runId: 'demo-ckks',
      work,
      hospitals,
      trainer: TRAINER,
      log: (line) => lines.push(line),
    });
    await ckks.prepare();
    const field = ckks.runFileField() as { ckks: { keyFingerprint: string } };
    const fingerprint = field.ckks.keyFingerprint;
    expect(fingerprint).to.match(/^[0-9a-f]{64}$/);
    expect(ckks.label).to.contain(`key ${fingerprint.slice(0, 12)}`);
    expect(lines.join('\n')).to.contain(`fingerprint ${fingerprint}`);
    for (const h of hospitals) {
      const [flag, keyFile, passFlag, passFile] = ckks.trainerArgs(h.name) as [
        string,
        string,
        string,
        string,
      ];
      expect([flag, passFlag]).to.deep.equal(['--key-file', '--passphrase-file']);
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(statSync(passFile).mode & 0o777).to.equal(0o600);
      expect(parseKeyFile(readFileSync(keyFile, 'utf8')).fingerprint).to.equal(fingerprint);
      const opened = await openKeyFile(keyFile, readFileSync(passFile, 'utf8').trim());
      expect(opened.fingerprint).to.equal(fingerprint);
    }

    // The evaluation's reader: θ_1 = θ_0 + Dec(Enc(Δ)) for an aggregate of one update.
    const spec: ModelSpec = {
      name: 'tiny',
      inputDim: 4,
      layers: [{ units: 3, activation: 'softmax' }],
    };
    const model = (tensors: Tensor[], kind: 'model' | 'update'): Container => ({
      metadata: {
        kind,
        runId: 'demo-ckks',
        round: 0,
        mspId: kind === 'update' ? 'Hospital1MSP' : '',
        sampleCount: kind === 'update' ? 10 : 0,
        modelSpecHash: modelSpecHash(spec),
        encoding: 'float32',
      },
      extra: {},
      tensors,
    });
    const initial = initialModelTensors(spec, 1);
    const delta = initialModelTensors(spec, 2);
    const [, keyFile, , passFile] = ckks.trainerArgs('hospital2');
    const { secretKey } = await openKeyFile(keyFile!, readFileSync(passFile!, 'utf8').trim());
    const { encoding: _encoding, ...metadata } = model(delta, 'update').metadata;
    const update = await encryptUpdate({
      params: CKKS_PARAMS,
      secretKey,
      flat: flattenTensors(delta, spec),
      metadata,
    });
    const aggregate = await aggregateEncrypted(CKKS_PARAMS, [{ bytes: update, sampleCount: 10 }], {
      runId: 'demo-ckks',
      round: 1,
      modelSpecHash: modelSpecHash(spec),
    });
    const read = await ckks.modelReader(encodeContainer(model(initial, 'model')), spec);
    const after = flattenTensors(await read(aggregate), spec);
    const expected = flattenTensors(initial, spec).map(
      (v, i) => v + (flattenTensors(delta, spec)[i] ?? 0),
    );
    let max = 0;
    after.forEach((v, i) => (max = Math.max(max, Math.abs(v - (expected[i] ?? 0)))));
    expect(max).to.be.lessThan(1e-5);
  });
});
