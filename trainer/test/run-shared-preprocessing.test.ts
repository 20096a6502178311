// Federated preprocessing end to end, in-process against a real gateway on the simulated ledger:
// two hospitals compute their statistics, anyone combines them, the run records the shared
// transform's SHA-256, and `run` trains only with that transform — it refuses per-site scaling
// and a transform altered on its way to the hospital (a dishonest sender), before any training.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import type { ModelSpec, SharedPreprocessing } from '@fedledger/protocol';
import { preprocessingSha256 } from '@fedledger/protocol';
import { EXIT } from '../src/cli/common';
import { main } from '../src/cli/main';
import { GatewayFixture } from './gateway-client-fixture';
import { smallHospitals, tempDir, useFastestBackend, initialModelBytes } from './helpers';

describe('fedledger-trainer preprocess and run with a shared preprocessing', function () {
  this.timeout(120_000);
  let f: GatewayFixture;
  let out: sinon.SinonStub;
  let err: sinon.SinonStub;
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
  afterEach(() => sinon.restore());
  const printed = (stub: sinon.SinonStub): string =>
    stub
      .getCalls()
      .map((c) => c.args.map(String).join(' '))
      .join('\n');

  it('records the shared transform by hash and refuses per-site scaling or an altered copy', async () => {
    const hospitals = smallHospitals(150, 5);
    const csv = (i: number): string => hospitals.hospitals[i]?.csvFile as string;
    const dir = tempDir();
    const statsFile = (i: number): string => join(dir, `stats-${i}.json`);
    for (const i of [0, 1]) {
      const code = await main([
        'preprocess',
        'stats',
        '--data',
        csv(i),
        '--schema',
        hospitals.schemaFile,
        '--contributor',
        `Hospital${i + 1}MSP`,
        '--out',
        statsFile(i),
      ]);
      expect(code, printed(err)).to.equal(EXIT.OK);
    }
    const shared = join(dir, 'shared.json');
    expect(
      await main([
        'preprocess',
        'combine',
        '--statistics',
        statsFile(1),
        '--statistics',
        statsFile(0),
        '--out',
        shared,
      ]),
    ).to.equal(EXIT.OK);
    const transform = JSON.parse(readFileSync(shared, 'utf8')) as SharedPreprocessing;
    const sha = preprocessingSha256(transform);
    expect(printed(out)).to.contain(`sha256 ${sha}`);

    const spec: ModelSpec = {
      name: 'tiny-mlp',
      inputDim: transform.featureNames.length,
      layers: [
        { units: 8, activation: 'relu' },
        { units: transform.label.classes.length, activation: 'softmax' },
      ],
    };
    const runId = 'shared-prep';
    await f.createRun(runId, {
      participants: ['Hospital1MSP', 'Hospital2MSP'],
      roundsPlanned: 1,
      minUpdatesPerRound: 2,
      modelSpec: spec,
      initialModel: initialModelBytes(runId, spec),
      preprocessingSha256: sha,
    });
    const status = await f.client('auditor').getRun(runId);
    expect(status.run.settings['preprocessingSha256']).to.equal(sha);

    const run = (i: number, preprocessing: string): Promise<number> =>
      main([
        'run',
        ...f.cliArgs(`hospital${i + 1}`),
        '--run',
        runId,
        '--data',
        csv(i),
        '--schema',
        hospitals.schemaFile,
        '--workdir',
        tempDir(),
        '--preprocessing',
        preprocessing,
        '--epochs',
        '1',
        '--poll-ms',
        '20',
      ]);
    // Per-site scaling contradicts the run's shared transform.
    expect(await run(0, 'per-site')).to.equal(EXIT.DATA);
    expect(printed(err)).to.match(/records a shared preprocessing/);
    // A copy whose age mean was shifted on the way (the gateway or a mirror lying).
    const altered = join(dir, 'altered.json');
    writeFileSync(
      altered,
      JSON.stringify({
        ...transform,
        numeric: transform.numeric.map((c, k) => (k === 0 ? { ...c, mean: c.mean + 5 } : c)),
      }),
    );
    expect(await run(1, altered)).to.equal(EXIT.DATA);
    expect(printed(err)).to.contain(`the run records ${sha} on the ledger`);
    // Nothing was submitted: the round still waits for both hospitals.
    const round = await f.client('auditor').getRound(runId, 0);
    expect(round.updates).to.have.length(0);

    const codes = await Promise.all([run(0, shared), run(1, shared)]);
    expect(codes, printed(err)).to.deep.equal([EXIT.OK, EXIT.OK]);
    expect(printed(err)).to.contain(
      `preprocessing: shared, sha256 ${sha} as recorded on the ledger`,
    );
  });
});
