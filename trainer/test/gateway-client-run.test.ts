// `fedledger-trainer run` and `check` in-process against a real gateway on the simulated ledger:
// two hospitals train a two-round run with DP to completion; the inclusion check reports
// included, missing and excluded (a blob altered after it was recorded) updates.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sinon from 'sinon';
import type { ModelSpec } from '@fedledger/protocol';
import { decodeContainer, sha256Hex } from '@fedledger/protocol';
import { EXIT } from '../src/cli/common';
import { main } from '../src/cli/main';
import { prepareHospitalData } from '../src/data/hospital-data';
import { dataFileSha256, readPrivacyLedger, recordRunPrivacy } from '../src/dp/privacy-ledger';
import { GatewayFixture, tinyUpdate } from './gateway-client-fixture';
import { smallHospitals, tempDir, useFastestBackend, initialModelBytes } from './helpers';

/** Creates a run with a small MLP for the synthetic hospitals' width; returns its spec. */
async function createTrainableRun(
  fixture: GatewayFixture,
  runId: string,
  csv: string,
  schema: string,
  participants: string[],
): Promise<ModelSpec> {
  const prep = prepareHospitalData({ csvFile: csv, schema });
  const spec: ModelSpec = {
    name: 'tiny-mlp',
    inputDim: prep.preprocessing.featureNames.length,
    layers: [
      { units: 8, activation: 'relu' },
      { units: prep.preprocessing.label.classes.length, activation: 'softmax' },
    ],
  };
  const initialModel = initialModelBytes(runId, spec);
  await fixture.createRun(runId, {
    participants,
    roundsPlanned: 2,
    minUpdatesPerRound: participants.length,
    modelSpec: spec,
    initialModel,
  });
  return spec;
}

describe('fedledger-trainer run and check', function () {
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
  const connection = (who: string, runId: string): string[] => [...f.cliArgs(who), '--run', runId];

  it('trains every round of a run with DP, submits, and saves the verified final model', async () => {
    const hospitals = smallHospitals(150, 5);
    const csv = (i: number): string => hospitals.hospitals[i]?.csvFile as string;
    await createTrainableRun(f, 'cli-run', csv(0), hospitals.schemaFile, [
      'Hospital1MSP',
      'Hospital2MSP',
    ]);
    const workdirs = [tempDir(), tempDir()];
    const trainer = (i: number): Promise<number> =>
      main([
        'run',
        ...connection(`hospital${i + 1}`, 'cli-run'),
        '--data',
        csv(i),
        '--schema',
        hospitals.schemaFile,
        '--workdir',
        workdirs[i] as string,
        '--epochs',
        '1',
        '--dp',
        'update',
        '--epsilon',
        '8',
        '--poll-ms',
        '20',
      ]);
    const codes = await Promise.all([trainer(0), trainer(1)]);
    expect(codes, printed(err)).to.deep.equal([EXIT.OK, EXIT.OK]);
    const lines = printed(out);
    for (const r of [1, 2]) {
      expect(lines).to.match(
        new RegExp(
          `round ${r - 1} \\(${r} of 2\\)  local accuracy [\\d.]+ %  ε spent [\\d.]+  tx \\S+  block \\d+`,
        ),
      );
    }
    expect(lines.match(/round 1 \(2 of 2\)/g)).to.have.length(2);
    const status = await f.client('auditor').getRun('cli-run');
    expect(status.run.status).to.equal('completed');
    const finalFile = join(workdirs[0] as string, 'cli-run-final.safetensors');
    expect(sha256Hex(readFileSync(finalFile))).to.equal(status.run.finalModelHash);
    expect(lines).to.contain(`sha256 ${status.run.finalModelHash}`);
    // ε accumulates across rounds in the workdir's accountant state.
    expect(existsSync(join(workdirs[1] as string, 'privacy-cli-run.json'))).to.equal(true);
    expect(printed(err)).to.match(/matches the ledger/);

    expect(await main(['check', ...connection('hospital1', 'cli-run')])).to.equal(EXIT.OK);
    expect(printed(out)).to.match(/round 0: included {2}tx \S+\n\s+round 1: included/);
  });

  it('warns before a run that would pass the data file’s budget, or refuses it (exit 5)', async () => {
    const hospitals = smallHospitals(150, 5);
    const csv = hospitals.hospitals[0]?.csvFile as string;
    const workdir = tempDir();
    // An earlier run on the same file already spent ε ≈ 2.6 (10 Gaussian releases at σ = 5).
    recordRunPrivacy(join(workdir, 'privacy-ledger.json'), {
      dataSha256: dataFileSha256(csv),
      runId: 'earlier-run',
      events: [{ mechanism: 'gaussian', samplingRate: 1, noiseMultiplier: 5, count: 10 }],
    });
    const trainer = (runId: string, extra: string[]): Promise<number> =>
      main([
        'run',
        ...connection('hospital1', runId),
        '--data',
        csv,
        '--schema',
        hospitals.schemaFile,
        '--workdir',
        workdir,
        '--epochs',
        '1',
        '--dp',
        'update',
        '--epsilon',
        '2',
        '--clip',
        '0.1',
        '--privacy-budget',
        '3',
        '--poll-ms',
        '20',
        ...extra,
      ]);
    await createTrainableRun(f, 'budget-1', csv, hospitals.schemaFile, ['Hospital1MSP']);
    expect(await trainer('budget-1', []), printed(err)).to.equal(EXIT.OK);
    expect(printed(err)).to.match(
      /warning: privacy budget: run budget-1 would bring this data file to ε = \d+\.\d+ at δ = 0\.00001 after 1 earlier run\(s\) on the same data file \(earlier-run; ε = 2\.\d+ together\), over the budget of 3/,
    );
    expect(printed(err)).to.match(
      /privacy: round 0: ε spent [\d.]+ \(PLD, the ledger's\) {2}\[PLD [\d.]+, RDP [\d.]+\]; no metrics shared/,
    );
    const ledger = readPrivacyLedger(join(workdir, 'privacy-ledger.json'));
    expect(ledger.entries.map((e) => e.runId)).to.deep.equal(['earlier-run', 'budget-1']);
    // No validation metric left the hospital: the run keeps them there by default.
    const sent = readdirSync(join(workdir, 'submitted', 'budget-1'));
    expect(sent).to.have.length(2);
    for (const name of sent) {
      const extra = decodeContainer(
        readFileSync(join(workdir, 'submitted', 'budget-1', name)),
      ).extra;
      expect(Object.keys(extra).filter((k) => k.startsWith('metrics.'))).to.deep.equal([]);
      expect(extra['dp.accountant']).to.equal('pld/connect-the-dots');
    }

    await createTrainableRun(f, 'budget-2', csv, hospitals.schemaFile, ['Hospital1MSP']);
    expect(await trainer('budget-2', ['--refuse-over-budget'])).to.equal(EXIT.PRIVACY);
    expect(printed(err)).to.match(/earlier-run, budget-1; .*refusing \(--refuse-over-budget\)/);
    expect(readPrivacyLedger(join(workdir, 'privacy-ledger.json')).entries).to.have.length(2);
  });

  it('keeps an update in the outbox through a gateway outage and delivers it after', async () => {
    const hospitals = smallHospitals(150, 5);
    const csv = hospitals.hospitals[0]?.csvFile as string;
    await createTrainableRun(f, 'outage-1', csv, hospitals.schemaFile, ['Hospital1MSP']);
    let stopping: Promise<void> | undefined;
    err.callsFake((...args: unknown[]) => {
      // Mid-training of round 0, the gateway goes away for a while.
      if (stopping === undefined && String(args[0]).startsWith('epoch 1/')) {
        stopping = f.stop().then(() => new Promise((resolve) => setTimeout(resolve, 500)));
        void stopping.then(() => f.start());
      }
    });
    const code = await main([
      'run',
      ...connection('hospital1', 'outage-1'),
      '--data',
      csv,
      '--schema',
      hospitals.schemaFile,
      '--workdir',
      tempDir(),
      '--epochs',
      '3',
      '--poll-ms',
      '20',
    ]);
    expect(code, printed(err)).to.equal(EXIT.OK);
    const log = printed(err);
    expect(log).to.match(/outbox: run outage-1 round 0 not delivered .*ECONNREFUSED.*kept/);
    expect(log).to.match(
      /outbox: delivered run outage-1 round 0 \(tx \S+, block \d+\); kept a copy in submitted\//,
    );
    expect(printed(out)).to.match(
      /round 0 \(1 of 2\) {2}local accuracy [\d.]+ % {2}ε spent - {2}tx \S+/,
    );
    expect(printed(out)).to.match(/run outage-1 completed/);
  });

  it('stops cleanly on Ctrl-C while waiting for a round to close (exit 130)', async () => {
    const hospitals = smallHospitals(150, 5);
    const csv = hospitals.hospitals[0]?.csvFile as string;
    await createTrainableRun(f, 'sigint-1', csv, hospitals.schemaFile, [
      'Hospital1MSP',
      'Hospital2MSP',
    ]);
    err.callsFake((...args: unknown[]) => {
      // Round 0 is submitted; hospital 2 has not, so the round stays open: press Ctrl-C.
      if (/waiting for round 0 to close/.test(String(args[0]))) process.emit('SIGINT');
    });
    const code = await main([
      'run',
      ...connection('hospital1', 'sigint-1'),
      '--data',
      csv,
      '--schema',
      hospitals.schemaFile,
      '--workdir',
      tempDir(),
      '--epochs',
      '1',
      '--poll-ms',
      '20',
    ]);
    expect(code).to.equal(EXIT.STOPPED);
    expect(printed(err)).to.match(/stopping after the current step[\s\S]*error: stopped;/);
    expect(process.listenerCount('SIGINT')).to.equal(0);
  });

  it('check exits 1 when a recorded update was excluded, and names the reason', async () => {
    await f.createRun('check-1', { minUpdatesPerRound: 1, roundsPlanned: 1 });
    for (const [who, msp] of [
      ['hospital1', 'Hospital1MSP'],
      ['hospital2', 'Hospital2MSP'],
    ] as const) {
      await f.client(who).submitUpdate({
        runId: 'check-1',
        round: 0,
        bytes: tinyUpdate('check-1', 0, msp, who === 'hospital1' ? 1 : 2),
        signer: f.identity(who).signer,
      });
    }
    // Hospital 2's stored bytes are altered after its update was recorded on the ledger.
    const path = f.gateway?.blobs.locate(sha256Hex(tinyUpdate('check-1', 0, 'Hospital2MSP', 2)));
    const bytes = await readFile(path as string);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(path as string, bytes);
    await f.gateway?.coordinator.closeNow('check-1');

    expect(await main(['check', ...connection('hospital2', 'check-1')])).to.equal(EXIT.EXCLUDED);
    expect(printed(out)).to.match(/round 0: excluded: HASH_MISMATCH/);
    expect(printed(err)).to.match(/Hospital2MSP's recorded update was excluded from round\(s\) 0/);
    out.resetHistory();
    expect(await main(['check', ...connection('hospital3', 'check-1'), '--json'])).to.equal(
      EXIT.OK,
    );
    const report = JSON.parse(printed(out)) as { rounds: { state: string }[] };
    expect(report.rounds.map((r) => r.state)).to.deep.equal(['missing']);
    expect(await main(['check', ...connection('hospital1', 'check-1')])).to.equal(EXIT.OK);
  });

  it('exits 8 for an unknown run and 2 without the gateway options', async () => {
    expect(await main(['check', ...connection('hospital1', 'no-such-run')])).to.equal(EXIT.GATEWAY);
    expect(printed(err)).to.contain('FL_ERR_NOT_FOUND');
    expect(await main(['run', '--run', 'x'])).to.equal(EXIT.USAGE);
  });
});
