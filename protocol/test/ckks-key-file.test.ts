import { expect } from 'chai';
import {
  CkksError,
  parseKeyFile,
  readKeyFile,
  secretKeyFingerprint,
  writeKeyFile,
} from '../src/ckks';
import { params, testKey } from './ckks-helpers';

const PASSPHRASE = 'correct horse battery staple';

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  const caught = await work.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught, 'expected a refusal').to.be.instanceOf(CkksError);
  return (caught as CkksError).code;
}

describe('CKKS key files', function () {
  this.timeout(20_000);
  let text: string;

  before(async () => {
    text = await writeKeyFile({
      params,
      runId: 'run-1',
      secretKey: await testKey(),
      passphrase: PASSPHRASE,
    });
  });

  it('round-trips the secret key and names it by its public fingerprint', async () => {
    const key = await testKey();
    const opened = await readKeyFile(text, PASSPHRASE, params);
    expect(Buffer.from(opened.secretKey).equals(key)).to.equal(true);
    expect(opened.runId).to.equal('run-1');
    expect(opened.fingerprint).to.equal(await secretKeyFingerprint(params, key));
    const file = parseKeyFile(text);
    expect(file.fingerprint).to.equal(opened.fingerprint);
    expect(file.kdf).to.include({ name: 'scrypt', logN: 15, r: 8, p: 1 });
    expect(file.cipher.name).to.equal('aes-256-gcm');
    expect(text).to.not.include(Buffer.from(key.subarray(100, 140)).toString('base64'));
  });

  it('rejects a wrong passphrase with CKKS_WRONG_PASSPHRASE', async () => {
    expect(await codeOf(readKeyFile(text, 'not the passphrase'))).to.equal('CKKS_WRONG_PASSPHRASE');
  });

  it('rejects a file altered after writing with CKKS_KEY_FILE_INVALID', async () => {
    const file = parseKeyFile(text);
    const altered = JSON.stringify({ ...file, runId: 'run-2' });
    expect(await codeOf(readKeyFile(altered, PASSPHRASE))).to.equal('CKKS_KEY_FILE_INVALID');
    const flipped = Buffer.from(file.ciphertext, 'base64');
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(
      await codeOf(
        readKeyFile(
          JSON.stringify({ ...file, ciphertext: flipped.toString('base64') }),
          PASSPHRASE,
        ),
      ),
    ).to.equal('CKKS_KEY_FILE_INVALID');
  });

  it('rejects text that is not a key file, or a weak scrypt cost', async () => {
    const file = parseKeyFile(text);
    for (const bad of [
      'not json',
      '[]',
      JSON.stringify({ ...file, version: 2 }),
      JSON.stringify({ ...file, kdf: { ...file.kdf, logN: 10 } }),
      JSON.stringify({ ...file, cipher: { ...file.cipher, name: 'aes-128-cbc' } }),
    ]) {
      expect(await codeOf(readKeyFile(bad, PASSPHRASE))).to.equal('CKKS_KEY_FILE_INVALID');
    }
  });

  it('refuses a key file for other parameters and short passphrases', async () => {
    const other = JSON.stringify({ ...parseKeyFile(text), paramsHash: 'a'.repeat(64) });
    expect(await codeOf(readKeyFile(other, PASSPHRASE, params))).to.equal('CKKS_PARAMS_MISMATCH');
    const caught = await writeKeyFile({
      params,
      runId: 'run-1',
      secretKey: await testKey(),
      passphrase: 'short',
    }).catch((e: unknown) => e);
    expect(caught).to.be.instanceOf(RangeError);
  });
});
