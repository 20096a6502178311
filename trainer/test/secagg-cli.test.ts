// `fedledger-trainer run` on a secure-aggregation run (settings.encoding 'secagg' on the ledger):
// two hospitals train two rounds with update-level DP against a real gateway on the simulated
// ledger; what they put on the ledger and keep in submitted/ is masked (one I32 tensor, the DP
// accounting and sample count of the plaintext update), the final model is the ledger's, and
// their secure-aggregation state is gone once the run is over.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import sinon from 'sinon';
import type { ModelSpec } from '@fedledger/protocol';
import { MASKED_TENSOR, decodeContainer, sha256Hex } from '@fedledger/protocol';
import { EXIT } from '../src/cli/common';
import { main } from '../src/cli/main';
import { prepareHospitalData } from '../src/data/hospital-data';
import { GatewayFixture } from './gateway-client-fixture';
import { smallHospitals, tempDir, useFastestBackend, initialModelBytes } from './helpers';

describe('fedledger-trainer run on a secure-aggregation run', function () {
  this.timeout(120_000);
  let f: GatewayFixture;
  before(async () => {
    await useFastestBackend();
    f = await GatewayFixture.create();
  });
  after(async () => {
    await f.dispose();
    sinon.restore();
  });

  it('masks every update it delivers and ends with the ledger’s model and no secret on disk', async () => {
    const hospitals = smallHospitals(150, 7);
    const csv = (i: number): string => hospitals.hospitals[i]?.csvFile as string;
    const prep = prepareHospitalData({ csvFile: csv(0), schema: hospitals.schemaFile });
    const spec: ModelSpec = {
      name: 'tiny-mlp',
      inputDim: prep.preprocessing.featureNames.length,
      layers: [
        { units: 8, activation: 'relu' },
        { units: prep.preprocessing.label.classes.length, activation: 'softmax' },
      ],
    };
    const runId = 'cli-secagg';
    await f.createRun(runId, {
      participants: ['Hospital1MSP', 'Hospital2MSP'],
      roundsPlanned: 2,
      minUpdatesPerRound: 2,
      modelSpec: spec,
      initialModel: initialModelBytes(runId, spec),
      sampleCounts: { Hospital1MSP: 1000, Hospital2MSP: 1000 },
      secagg: { threshold: 2, phaseSeconds: 30 },
    });
    const out = sinon.stub(console, 'log');
    const err = sinon.stub(console, 'error');
    const workdirs = [tempDir(), tempDir()];
    const trainer = (i: number): Promise<number> =>
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
        workdirs[i]!,
        '--epochs',
        '1',
        '--dp',
        'update',
        '--epsilon',
        '8',
        '--poll-ms',
        '20',
      ]);
    let codes: number[];
    try {
      codes = await Promise.all([trainer(0), trainer(1)]);
    } finally {
      out.restore();
      err.restore();
    }
    const printed = (stub: sinon.SinonStub): string =>
      stub
        .getCalls()
        .map((c) => c.args.map(String).join(' '))
        .join('\n');
    expect(codes, printed(err)).to.deep.equal([EXIT.OK, EXIT.OK]);
    expect(printed(out).match(/round 1 \(2 of 2\) .* tx \S+ {2}block \d+/g)).to.have.length(2);
    expect(printed(err)).to.match(
      /round 1: revealed self-mask shares of Hospital1MSP, Hospital2MSP/,
    );

    const status = await f.client('auditor').getRun(runId);
    expect(status.run.status).to.equal('completed');
    for (const [i, workdir] of workdirs.entries()) {
      const finalBytes = readFileSync(join(workdir, `${runId}-final.safetensors`));
      expect(sha256Hex(finalBytes)).to.equal(status.run.finalModelHash);
      const sent = readdirSync(join(workdir, 'submitted', runId));
      expect(sent).to.have.length(2);
      for (const name of sent) {
        const c = decodeContainer(readFileSync(join(workdir, 'submitted', runId, name)));
        expect(c.metadata.encoding).to.equal('secagg');
        expect(c.metadata.mspId).to.equal(`Hospital${i + 1}MSP`);
        expect(c.tensors.map((t) => [t.name, t.dtype])).to.deep.equal([[MASKED_TENSOR, 'I32']]);
        expect(c.extra['dp.mechanism']).to.be.a('string');
      }
      // The run is over: nothing of its round state (secrets, shares, splits) stays on disk.
      expect(statSync(join(workdir, 'secagg')).mode & 0o777).to.equal(0o700);
      expect(readdirSync(join(workdir, 'secagg'))).to.deep.equal([]);
    }
    expect(printed(err).match(/all round state of run cli-secagg wiped/g)).to.have.length(2);
    for (const round of (await f.client('auditor').getAuditTrail(runId)).rounds) {
      expect(round.updates.map((u) => u.encoding)).to.deep.equal(['secagg', 'secagg']);
      expect(round.updates.every((u) => u.dp !== undefined)).to.equal(true);
    }
  });
});
