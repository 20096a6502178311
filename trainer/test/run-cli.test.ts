// fedledger-run against a real gateway (HTTPS, simulated ledger) as the coordinator: a run
// created from a YAML run file, listed, shown and its round closed by hand; bad run files named
// by field; a hospital's identity refused as coordinator.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunStatus } from '@fedledger/protocol';
import { RUN_EXIT, main } from '../src/operator/run-cli';
import { GatewayFixture, TINY_SPEC, initialModel, tinyUpdate } from './gateway-client-fixture';

describe('fedledger-run (operator CLI) against a real gateway', function () {
  let f: GatewayFixture;
  let info: string;
  let out: string[];
  let err: string[];
  const io = {
    out: (t: string) => void out.push(t),
    err: (t: string) => void err.push(t),
  };
  const run = (...argv: string[]) => main([...argv, '--gateway-info', info], io);

  /** Writes a run file (YAML text) with the model files beside it; returns its path. */
  function runFile(name: string, yaml: string): string {
    writeFileSync(join(f.dir, 'model-spec.json'), JSON.stringify(TINY_SPEC));
    writeFileSync(join(f.dir, `${name}.safetensors`), initialModel(name).bytes);
    const path = join(f.dir, `${name}.yaml`);
    writeFileSync(path, yaml);
    return path;
  }
  const good = (runId: string, extra = ''): string => `runId: ${runId}
model:
  spec: model-spec.json
  initial: ${runId}.safetensors
participants:
  Hospital1MSP: 1000
  Hospital2MSP: 1000
  Hospital3MSP: 800
rounds: 2
quorum: 2
deadline: 1h
strategy: fedavg
updateNormBound: 100
dp:
  mechanism: dp-sgd
  epsilon: 1
  delta: 1e-5
${extra}`;

  before(async () => {
    f = await GatewayFixture.create();
    info = join(f.dir, 'gateway.json');
    // What fedledger-gateway serve writes; the CLI finds URL, CA and identities there.
    writeFileSync(
      info,
      JSON.stringify({ url: f.url, caCertPath: f.tls.caCertPath, identities: f.identitiesFile }),
    );
  });
  after(() => f.dispose());
  beforeEach(() => {
    out = [];
    err = [];
  });

  it('creates a run from a YAML run file, lists it, shows its status and closes a round by hand', async () => {
    expect(await run('create', runFile('op-1', good('op-1')))).to.equal(RUN_EXIT.OK);
    expect(out.join('')).to.match(/^run op-1 created \(tx .+\); round 0 opened/);

    expect(await run('list')).to.equal(RUN_EXIT.OK);
    expect(out.join('')).to.match(
      /op-1\s+active\s+2\s+fedavg\s+Hospital1MSP, Hospital2MSP, Hospital3MSP/,
    );

    out = [];
    expect(await run('status', 'op-1', '--json')).to.equal(RUN_EXIT.OK);
    const status = JSON.parse(out.join('')) as RunStatus;
    expect(status.currentRound).to.equal(0);
    expect(status.run.sampleCounts).to.deep.equal({
      Hospital1MSP: 1000,
      Hospital2MSP: 1000,
      Hospital3MSP: 800,
    });
    expect(status.run.minUpdatesPerRound).to.equal(2);
    expect(status.run.settings).to.deep.include({
      roundDeadlineSeconds: 3600,
      updateNormBound: 100,
      dp: { mechanism: 'dp-sgd', targetEpsilon: '1', delta: '0.00001' },
    });

    // Quorum not met: the gateway refuses and the CLI prints its code.
    expect(await run('close', 'op-1')).to.equal(RUN_EXIT.GATEWAY);
    expect(err.join('')).to.match(/FL_ERR_QUORUM_NOT_MET/);

    for (const [who, msp, seed] of [
      ['hospital1', 'Hospital1MSP', 1],
      ['hospital2', 'Hospital2MSP', 2],
    ] as const) {
      await f.client(who).submitUpdate({
        runId: 'op-1',
        round: 0,
        bytes: tinyUpdate('op-1', 0, msp, seed),
        signer: f.identity(who).signer,
      });
    }
    out = [];
    expect(await run('close', 'op-1')).to.equal(RUN_EXIT.OK);
    expect(out.join('')).to.match(
      /round 0 of op-1 closed \(tx .+\): 2 included \(Hospital1MSP, Hospital2MSP\); aggregate [0-9a-f]{64}\nround 1 opened/,
    );
    out = [];
    expect(await run('status', 'op-1')).to.equal(RUN_EXIT.OK);
    expect(out.join('')).to.match(/run op-1: active; 1 of 2 rounds closed; round 1 open/);
    expect(out.join('')).to.match(/\n0\s+closed\s+2\/3 \(Hospital1MSP, Hospital2MSP\)/);
  });

  it('refuses bad run files before sending anything, naming the field and the fix', async () => {
    const cases: [string, string, RegExp][] = [
      ['rounds: 0', 'rounds: -1\n', /rounds: must be a positive integer, e\.g\. 10, not -1/],
      [
        'quorum',
        'quorum: 5\n',
        /quorum: must be an integer from 1 to 3 \(the participants\), not 5/,
      ],
      [
        'sample count',
        'participants:\n  Hospital1MSP: lots\n',
        /participants\.Hospital1MSP: the declared sample count must be an integer/,
      ],
      [
        'deadline',
        'deadline: soon\n',
        /deadline: must be seconds \(600\) or a duration such as 90s/,
      ],
      [
        'unknown field',
        'roundz: 3\n',
        /roundz: is not a run file field; the fields are runId, model/,
      ],
      ['dp', 'dp:\n  mechanism: dp-sgd\n  epsilon: -1\n', /dp\.epsilon: must be a positive number/],
      ['strategy', 'strategy: average\n', /strategy: must be one of fedavg, median/],
      [
        'run ID (schema)',
        'runId: "bad id!"\n',
        /runId: expected string to match .*\(1-64 characters/,
      ],
      ['YAML', 'rounds: [\n', /is not valid YAML/],
      ['secagg', 'protection:\n  secagg: 5\n', /protection\.secagg: must be a map of threshold/],
      ['secagg field', 'protection:\n  secagg:\n    thresh: 2\n', /protection\.secagg/],
    ];
    for (const [what, yaml, message] of cases) {
      err = [];
      // Later keys override the good file's (YAML would refuse duplicates, so merge by text).
      const base = good(`bad-${what.replace(/\W+/g, '-')}`);
      const key = yaml.split(':')[0] as string;
      const kept = base
        .split(/\n(?=\S)/)
        .filter((block) => !block.startsWith(`${key}:`))
        .join('\n');
      const path = runFile(`bad-${what.replace(/\W+/g, '-')}`, `${kept}\n${yaml}`);
      expect(await run('create', path), what).to.equal(RUN_EXIT.RUN_FILE);
      expect(err.join(''), what).to.match(message);
      expect(err.join(''), what).to.contain(path);
    }
    out = [];
    expect(await run('list', '--json')).to.equal(RUN_EXIT.OK);
    const listed = JSON.parse(out.join('')) as { runs: { runId: string }[] };
    expect(listed.runs.map((r) => r.runId).filter((r) => r.startsWith('bad'))).to.deep.equal([]);
  });

  it('creates a secure-aggregation run from protection: secagg, with the settings on the ledger', async () => {
    const path = runFile(
      'op-secagg',
      good('op-secagg', 'protection:\n  secagg:\n    phaseSeconds: 30\n'),
    );
    expect(await run('create', path), err.join('')).to.equal(RUN_EXIT.OK);
    out = [];
    expect(await run('status', 'op-secagg', '--json')).to.equal(RUN_EXIT.OK);
    const record = (JSON.parse(out.join('')) as { run?: { settings: Record<string, unknown> } })
      .run;
    expect(record?.settings['encoding']).to.equal('secagg');
    expect(record?.settings['protection']).to.equal('secagg');
    expect(record?.settings['secagg']).to.deep.equal({
      threshold: 2,
      range: 16,
      fractionBits: 26,
      weightScale: 2800,
      phaseSeconds: 30,
      minSurvivors: 3,
    });
  });

  it('refuses a hospital identity as coordinator (FL_ERR_FORBIDDEN), for create and close', async () => {
    const path = runFile('op-h', good('op-h'));
    expect(await run('create', path, '--identity', 'hospital1')).to.equal(RUN_EXIT.GATEWAY);
    expect(err.join('')).to.match(
      /POST \/v1\/models: 403 FL_ERR_FORBIDDEN: a hospital may not do this/,
    );
    err = [];
    expect(await run('close', 'op-1', '--identity', 'auditor')).to.equal(RUN_EXIT.GATEWAY);
    expect(err.join('')).to.match(/403 FL_ERR_READ_ONLY/);
    out = [];
    expect(await run('status', 'op-h')).to.equal(RUN_EXIT.GATEWAY);
    expect(err.join('')).to.match(/404 FL_ERR_NOT_FOUND: run op-h does not exist/);
  });

  it('says what is missing when there is no gateway.json, and refuses an unknown identity', async () => {
    expect(await main(['list', '--gateway-info', join(f.dir, 'nowhere.json')], io)).to.equal(
      RUN_EXIT.USAGE,
    );
    expect(err.join('')).to.match(
      /start the gateway \(fedledger-gateway serve\), or give --gateway/,
    );
    err = [];
    expect(await run('list', '--identity', 'nobody')).to.equal(RUN_EXIT.GATEWAY);
    expect(err.join('')).to.match(/no identity named "nobody" \(known: .*coordinator/);
  });
});
