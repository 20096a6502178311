// The fedledger-trainer CLI, run in-process: help, exit codes, and generate → init → train → evaluate.
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import { decodeContainer, encodeContainer } from '@fedledger/protocol';
import { main } from '../src/cli/main';
import { EXIT } from '../src/cli/common';
import { tempDir } from './helpers';

describe('fedledger-trainer CLI', function () {
  this.timeout(120_000);
  let out: sinon.SinonStub;
  let err: sinon.SinonStub;
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

  it('prints help with the commands and exit codes', async () => {
    expect(await main(['--help'])).to.equal(EXIT.OK);
    expect(printed(out)).to.match(
      /generate[\s\S]*train[\s\S]*baseline[\s\S]*evaluate[\s\S]*Exit codes/,
    );
    expect(await main(['train', '--help'])).to.equal(EXIT.OK);
    expect(printed(out)).to.contain('--dp none|update|dp-sgd');
  });

  it('exits 2 on usage errors and 3 on bad data', async () => {
    expect(await main(['fly'])).to.equal(EXIT.USAGE);
    expect(await main(['generate', '--bogus', '1'])).to.equal(EXIT.USAGE);
    expect(await main(['generate'])).to.equal(EXIT.USAGE);
    const dir = tempDir();
    const code = await main([
      'evaluate',
      '--model',
      'm',
      '--data',
      join(dir, 'none.csv'),
      '--schema',
      join(dir, 'none.json'),
    ]);
    expect(code).to.equal(EXIT.DATA);
    expect(printed(err)).to.contain('none.json');
    expect(await main(['train', '--engine', 'gpu', '--data', 'x', '--schema', 'y'])).to.equal(
      EXIT.USAGE,
    );
    expect(printed(err)).to.contain('--engine must be auto, fused, tfjs, not "gpu"');
  });

  it('generates, initialises, trains a DP round, and evaluates through files', async () => {
    const dir = tempDir();
    expect(await main(['generate', '--out', dir, '--patients', '800', '--seed', '4'])).to.equal(
      EXIT.OK,
    );
    const data = join(dir, 'hospital1.csv');
    const schema = join(dir, 'schema.json');
    const global = join(dir, 'global.safetensors');
    const update = join(dir, 'update.safetensors');
    const prep = join(dir, 'prep.json');
    const state = join(dir, 'privacy.json');
    expect(
      await main([
        'init',
        '--out',
        global,
        '--run-id',
        'run-7',
        '--data',
        data,
        '--schema',
        schema,
        '--save-preprocessing',
        prep,
      ]),
    ).to.equal(EXIT.OK);
    const trainArgs = [
      'train',
      '--data',
      data,
      '--schema',
      schema,
      '--global',
      global,
      '--out',
      update,
      '--msp',
      'Hospital1MSP',
      '--preprocessing',
      prep,
      '--epochs',
      '1',
      '--dp',
      'dp-sgd',
      '--epsilon',
      '2',
      '--rounds',
      '2',
      '--privacy-state',
      state,
      '--json',
    ];
    expect(await main(trainArgs)).to.equal(EXIT.OK, printed(err));
    expect(printed(err)).to.match(/backend: \w+/);
    expect(printed(err)).to.match(/epoch 1\/1 .* samples\/s \(fused\)/);
    const summary = JSON.parse(out.lastCall.args[0] as string) as {
      dp: { epsilonSpent: string };
      sha256: string;
    };
    const first = Number(summary.dp.epsilonSpent);
    const container = decodeContainer(new Uint8Array(readFileSync(update)));
    expect(container.metadata).to.include({
      kind: 'update',
      runId: 'run-7',
      round: 0,
      mspId: 'Hospital1MSP',
    });
    expect(existsSync(state)).to.equal(true);
    // The second round through TensorFlow.js, forced; the log says so.
    expect(await main([...trainArgs, '--engine', 'tfjs'])).to.equal(EXIT.OK);
    expect(printed(err)).to.match(/samples\/s \(tfjs\/\w+\)/);
    const second = Number(
      (JSON.parse(out.lastCall.args[0] as string) as { dp: { epsilonSpent: string } }).dp
        .epsilonSpent,
    );
    expect(second).to.be.greaterThan(first);
    expect(second).to.be.at.most(2);
    expect(
      await main([
        'evaluate',
        '--model',
        global,
        '--data',
        data,
        '--schema',
        schema,
        '--preprocessing',
        prep,
        '--json',
      ]),
    ).to.equal(EXIT.OK);
    expect(JSON.parse(out.lastCall.args[0] as string)).to.include({ split: 'test' });
    const pooled = [
      'baseline',
      '--data',
      data,
      '--data',
      join(dir, 'hospital2.csv'),
      '--schema',
      schema,
      '--epochs',
      '1',
      '--json',
    ];
    expect(await main(pooled)).to.equal(EXIT.OK, printed(err));
    const baseline = JSON.parse(out.lastCall.args[0] as string) as { rows: { train: number } };
    expect(baseline.rows.train).to.be.within(1270, 1290); // 80 % of 2 × 800
    // A model made for another architecture is refused with exit code 4.
    expect(
      await main([
        'train',
        '--data',
        data,
        '--schema',
        schema,
        '--global',
        update,
        '--out',
        join(dir, 'x'),
        '--msp',
        'M',
        '--spec',
        schema,
      ]),
    ).to.equal(EXIT.MODEL);
  });

  it('warns, in its output and its JSON, when a model predicts a single class', async () => {
    const dir = tempDir();
    expect(await main(['generate', '--out', dir, '--patients', '300', '--seed', '5'])).to.equal(
      EXIT.OK,
    );
    const data = join(dir, 'hospital1.csv');
    const schema = join(dir, 'schema.json');
    const global = join(dir, 'global.safetensors');
    expect(
      await main(['init', '--out', global, '--run-id', 'r', '--data', data, '--schema', schema]),
    ).to.equal(EXIT.OK);
    // The last layer's kernel zeroed and its bias favouring class 0: every row is class 0.
    const model = decodeContainer(new Uint8Array(readFileSync(global)));
    const last = model.tensors
      .map((t) => t.name.split('.')[0] ?? '')
      .sort()
      .at(-1);
    for (const t of model.tensors) {
      if (t.name === `${last}.kernel`) (t.data as Float32Array).fill(0);
      if (t.name === `${last}.bias`) (t.data as Float32Array).set([10]);
    }
    const majority = join(dir, 'majority.safetensors');
    writeFileSync(majority, encodeContainer(model));
    const evaluate = ['evaluate', '--model', majority, '--data', data, '--schema', schema];
    expect(await main([...evaluate, '--json'])).to.equal(EXIT.OK, printed(err));
    const summary = JSON.parse(out.lastCall.args[0] as string) as { warnings: string[] };
    expect(summary.warnings).to.have.length(1);
    expect(summary.warnings[0]).to.match(
      /^the model predicts a single class \("\w+"\) for all \d+ rows: the recall of "\w+" \(\d+ rows\) and "\w+" \(\d+ rows\) is 0$/,
    );
    expect(printed(err)).to.match(/warning: test split: the model predicts a single class/);
    // Without --json, the same warning on stderr.
    err.resetHistory();
    expect(await main(evaluate)).to.equal(EXIT.OK);
    expect(printed(err)).to.include('warning: test split: the model predicts a single class');
  });
});
