// `fedledger-trainer run` in an encrypted (CKKS) run, in-process against a real gateway on the
// simulated ledger: the key ceremony through the `keys` commands, three hospitals training two
// rounds with update-level DP, every update a ciphertext on the gateway, each round's encrypted
// aggregate on the ledger, and a final model that every hospital decrypts to the same weights —
// the sample-weighted FedAvg of the decrypted updates. A hospital without the run's key is refused
// before it trains, with a message that says what to pass.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import type { Container, ModelSpec, RoundDetails } from '@fedledger/protocol';
import { decodeContainer, encodeContainer, sha256Hex } from '@fedledger/protocol';
import { CKKS_PARAMS, decryptAggregate } from '@fedledger/protocol/ckks';
import { ckksSettingsOf, newCkksParticipant } from '../src/client/ckks-participation';
import { EXIT } from '../src/cli/common';
import { ModelError } from '../src/errors';
import { main } from '../src/cli/main';
import { prepareHospitalData } from '../src/data/hospital-data';
import { flattenTensors } from '../src/he/encrypted-update';
import { openKeyFile } from '../src/he/key-store';
import { GatewayFixture } from './gateway-client-fixture';
import { smallHospitals, tempDir, useFastestBackend, initialModelContainer } from './helpers';

const RUN = 'ckks-cli';
const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;
const MSPS = ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'];

describe('fedledger-trainer run in an encrypted (CKKS) run', function () {
  this.timeout(300_000);
  let f: GatewayFixture;
  let out: sinon.SinonStub;
  let err: sinon.SinonStub;
  const saved = { ...process.env };
  before(async () => {
    await useFastestBackend();
    f = await GatewayFixture.create();
  });
  after(async () => {
    await f.dispose();
  });
  beforeEach(() => {
    out = sinon.stub(console, 'log');
    err = sinon.stub(console, 'error');
  });
  afterEach(() => {
    sinon.restore();
    process.env = { ...saved };
  });
  const printed = (stub: sinon.SinonStub): string =>
    stub
      .getCalls()
      .map((c) => c.args.map(String).join(' '))
      .join('\n');

  const hospitals = smallHospitals(150, 5);
  const csv = (i: number): string => hospitals.hospitals[i]?.csvFile as string;
  const dir = tempDir();
  const keyFile = (i: number): string => join(dir, `hospital${i + 1}.key`);
  const passFile = (i: number): string => join(dir, `hospital${i + 1}.pass`);
  const workdir = (i: number): string => join(dir, `work-${i + 1}`);

  /** The key ceremony: hospital 1 makes the key, exports it, hospitals 2 and 3 import it. */
  async function keyCeremony(): Promise<string> {
    for (const i of [0, 1, 2]) writeFileSync(passFile(i), `passphrase of hospital ${i + 1}\n`);
    const transferPass = join(dir, 'transfer.pass');
    writeFileSync(transferPass, 'words agreed in person\n');
    const transfer = join(dir, 'transfer.key');
    const ok = async (argv: string[]) => expect(await main(argv), printed(err)).to.equal(EXIT.OK);
    await ok(['keys', 'init', '--run', RUN, '--out', keyFile(0), '--passphrase-file', passFile(0)]);
    const { fingerprint } = JSON.parse(String(out.lastCall.args[0])) as { fingerprint: string };
    await ok([
      'keys',
      'export',
      '--key',
      keyFile(0),
      '--out',
      transfer,
      '--passphrase-file',
      passFile(0),
      '--transfer-passphrase-file',
      transferPass,
    ]);
    for (const i of [1, 2]) {
      await ok([
        'keys',
        'import',
        '--in',
        transfer,
        '--out',
        keyFile(i),
        '--passphrase-file',
        passFile(i),
        '--transfer-passphrase-file',
        transferPass,
      ]);
    }
    return fingerprint;
  }

  /** The run: a small MLP for the synthetic hospitals, CKKS with the ceremony's key. */
  async function createRun(
    runId: string,
    he: Record<string, unknown> | null,
  ): Promise<{ initial: Container; spec: ModelSpec }> {
    const prep = prepareHospitalData({ csvFile: csv(0), schema: hospitals.schemaFile });
    const spec: ModelSpec = {
      name: 'tiny-mlp',
      inputDim: prep.preprocessing.featureNames.length,
      layers: [
        { units: 8, activation: 'relu' },
        { units: prep.preprocessing.label.classes.length, activation: 'softmax' },
      ],
    };
    const initial = initialModelContainer(runId, spec);
    await f.client('coordinator').coordinatorCreateRun({
      runId,
      participants: MSPS,
      roundsPlanned: 2,
      minUpdatesPerRound: 3,
      modelSpec: spec,
      initialModel: encodeContainer(initial),
      updateNormBound: 100,
      roundDeadlineSeconds: 3600,
      sampleCounts: Object.fromEntries(MSPS.map((m) => [m, 1000])),
      he,
    });
    return { initial, spec };
  }

  const trainer = (i: number, runId: string, key: string[]): Promise<number> =>
    main([
      'run',
      ...f.cliArgs(HOSPITALS[i] as string),
      '--run',
      runId,
      '--data',
      csv(i),
      '--schema',
      hospitals.schemaFile,
      '--workdir',
      workdir(i),
      '--epochs',
      '1',
      '--dp',
      'update',
      '--epsilon',
      '8',
      '--poll-ms',
      '20',
      ...key,
    ]);
  const withKey = (i: number, file = keyFile(i)): string[] => [
    '--key-file',
    file,
    '--passphrase-file',
    passFile(i),
  ];

  it('completes a two-round run of three hospitals; the decrypted final model is the FedAvg of the decrypted updates', async () => {
    const fingerprint = await keyCeremony();
    const { initial, spec } = await createRun(RUN, {
      params: CKKS_PARAMS,
      keyFingerprint: fingerprint,
    });

    // Attack: hospital 3 with no key, then with a key of its own making, is refused before it trains.
    expect(await trainer(2, RUN, [])).to.equal(EXIT.KEY);
    expect(printed(err)).to.match(
      new RegExp(
        `run ${RUN} is encrypted \\(CKKS, key ${fingerprint} on the ledger\\): pass --key-file FILE`,
      ),
    );
    const stranger = join(dir, 'stranger.key');
    process.env.FEDLEDGER_KEY_PASSPHRASE = 'a key of its own';
    expect(await main(['keys', 'init', '--run', RUN, '--out', stranger])).to.equal(EXIT.OK);
    err.resetHistory();
    expect(await trainer(2, RUN, ['--key-file', stranger])).to.equal(EXIT.KEY);
    expect(printed(err)).to.match(
      new RegExp(
        `the key file ${stranger} holds key [0-9a-f]{64} \\(made for run ${RUN}\\), but run ${RUN} records key ${fingerprint} on the ledger: it is not this run's key`,
      ),
    );
    expect(printed(err)).to.not.match(/epoch 1\//);
    expect((await f.client('auditor').getRound(RUN, 0)).updates).to.have.length(0);
    delete process.env.FEDLEDGER_KEY_PASSPHRASE;

    err.resetHistory();
    const codes = await Promise.all([0, 1, 2].map((i) => trainer(i, RUN, withKey(i))));
    expect(codes, printed(err)).to.deep.equal([EXIT.OK, EXIT.OK, EXIT.OK]);
    expect(printed(err)).to.contain(`protection: CKKS, key ${fingerprint} as the run records it`);
    expect(printed(err)).to.match(
      /decrypted the encrypted aggregate [0-9a-f]{64} into round 1's model/,
    );

    const auditor = f.client('auditor');
    const status = await auditor.getRun(RUN);
    expect(status.run.status).to.equal('completed');
    const { secretKey } = await openKeyFile(keyFile(0), 'passphrase of hospital 1');
    const blobs = f.transport('auditor');
    // θ by plaintext FedAvg of the decrypted updates, in float64, from the initial model.
    const theta = Float64Array.from(flattenTensors(initial.tensors, spec));
    for (const r of [0, 1]) {
      const details: RoundDetails = await auditor.getRound(RUN, r);
      expect(details.round.status).to.equal('closed');
      expect(details.round.included).to.deep.equal(MSPS);
      expect(details.updates).to.have.length(3);
      const total = details.updates.reduce((n, u) => n + u.sampleCount, 0);
      const mean = new Float64Array(theta.length);
      for (const u of details.updates) {
        // The ledger records a ciphertext with its DP accounting; the gateway holds no plaintext.
        expect(u.encoding).to.equal('ckks');
        expect(u.dp?.epsilonSpent).to.match(/^\d/);
        const bytes = (await blobs.send({ method: 'GET', path: `/v1/blobs/${u.sha256}` })).body;
        expect(sha256Hex(bytes)).to.equal(u.sha256);
        expect(decodeContainer(bytes).metadata.encoding).to.equal('ckks');
        const delta = await decryptAggregate(CKKS_PARAMS, secretKey, bytes);
        delta.forEach((d, k) => (mean[k] = (mean[k] as number) + (d * u.sampleCount) / total));
      }
      // The round's aggregate on the ledger is the encrypted mean of those updates.
      const aggregate = (
        await blobs.send({ method: 'GET', path: `/v1/blobs/${details.round.aggregateHash}` })
      ).body;
      expect(sha256Hex(aggregate)).to.equal(details.round.aggregateHash);
      expect(decodeContainer(aggregate).metadata.encoding).to.equal('ckks');
      const served = await decryptAggregate(CKKS_PARAMS, secretKey, aggregate);
      expect(maxDifference(served, mean)).to.be.lessThan(1e-5);
      mean.forEach((d, k) => (theta[k] = (theta[k] as number) + d));
    }
    expect(status.run.finalModelHash).to.equal(
      (await auditor.getRound(RUN, 1)).round.aggregateHash,
    );

    // Every hospital decrypted the same final model, the FedAvg of the decrypted updates.
    const finals = [0, 1, 2].map((i) => readFileSync(join(workdir(i), `${RUN}-final.safetensors`)));
    expect(sha256Hex(finals[1]!)).to.equal(sha256Hex(finals[0]!));
    expect(sha256Hex(finals[2]!)).to.equal(sha256Hex(finals[0]!));
    const final = decodeContainer(finals[0]!);
    expect(final.metadata).to.include({ kind: 'model', encoding: 'float32', round: 2 });
    expect(final.extra['he.decrypted_from_sha256']).to.equal(status.run.finalModelHash);
    const weights = flattenTensors(final.tensors, spec);
    expect(weights.every((w) => Number.isFinite(w))).to.equal(true);
    expect(maxDifference(weights, theta)).to.be.lessThan(1e-4);
    expect(maxDifference(weights, flattenTensors(initial.tensors, spec))).to.be.greaterThan(1e-3);
    expect(printed(out)).to.contain(
      `decrypted from the encrypted aggregate sha256 ${status.run.finalModelHash} (as on the ledger)`,
    );
    expect(
      printed(out).match(/round 1 \(2 of 2\) {2}local accuracy [\d.]+ % {2}ε spent [\d.]+/g),
    ).to.have.length(3);
  });

  it('rebuilds the model from the ledger-checked inputs when it starts late, and refuses an aggregate for another round', async () => {
    const client = f.client('hospital2');
    const run = (await client.verifiedRun((await client.getRun(RUN)).run)).run;
    const settings = ckksSettingsOf(run);
    expect(settings?.keyFingerprint).to.match(/^[0-9a-f]{64}$/);
    const { secretKey } = await openKeyFile(keyFile(1), 'passphrase of hospital 2');
    const fetched: number[] = [];
    const late = () =>
      newCkksParticipant({
        run,
        settings: settings!,
        spec: run.settings['modelSpec'] as ModelSpec,
        secretKey,
        downloadRoundModel: (round) => {
          fetched.push(round);
          return client.downloadRoundModel(RUN, round);
        },
      });
    const final = await client.downloadFinalModel(RUN);
    // Nothing kept from the run: rounds 0 and 1 come from the gateway, checked against the ledger.
    const rebuilt = encodeContainer(await late().finalModel(final));
    expect(fetched).to.deep.equal([0, 1]);
    const written = readFileSync(join(workdir(1), `${RUN}-final.safetensors`));
    expect(sha256Hex(rebuilt)).to.equal(sha256Hex(written));
    // Round 1's aggregate passed off as the final one (or as round 2's input) is refused.
    const round1 = await client.downloadRoundModel(RUN, 1);
    const refusal = await late()
      .finalModel(round1)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refusal).to.be.instanceOf(ModelError);
    expect((refusal as Error).message).to.contain('is the input of round 1');
  });

  it('refuses a key file for a run that is not encrypted, before training', async () => {
    await createRun('plain-with-key', null);
    expect(await trainer(0, 'plain-with-key', withKey(0))).to.equal(EXIT.KEY);
    expect(printed(err)).to.contain(
      `run plain-with-key is not encrypted (its ledger record has no CKKS settings), but --key-file ${keyFile(0)} was given: refusing to send this hospital's updates in plaintext`,
    );
    expect((await f.client('auditor').getRound('plain-with-key', 0)).updates).to.have.length(0);
  });

  it('refuses a wrong passphrase before connecting (exit 7)', async () => {
    writeFileSync(join(dir, 'wrong.pass'), 'not the passphrase\n');
    expect(
      await trainer(0, RUN, [
        '--key-file',
        keyFile(0),
        '--passphrase-file',
        join(dir, 'wrong.pass'),
      ]),
    ).to.equal(EXIT.KEY);
    expect(printed(err)).to.match(/passphrase/i);
  });
});

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++)
    max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}
