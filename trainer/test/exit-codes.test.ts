// The documented exit codes of fedledger-trainer (`fedledger-trainer --help`, README), command by
// command, through the installed CLI as a child process: what a script or an operator sees.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { EXIT } from '../src/cli/common';
import { usage } from '../src/cli/main';
import { smallHospitals, tempDir } from './helpers';

const BIN = resolve(__dirname, '..', 'src', 'cli', 'main.js');

interface Outcome {
  code: number;
  stderr: string;
}

function trainer(argv: readonly string[], cwd: string): Promise<Outcome> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...argv], { cwd, timeout: 60_000 }, (err, _out, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number) : 0;
      done({ code: typeof code === 'number' ? code : -1, stderr });
    });
  });
}

function gpuPackageInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

describe('fedledger-trainer exit codes, per command (child processes)', function () {
  this.timeout(240_000);
  const dir = tempDir();
  const hospitals = smallHospitals(200);
  const data = hospitals.hospitals[0]!.csvFile;
  const schema = hospitals.schemaFile;
  const model = join(dir, 'global.safetensors');
  const spec = join(dir, 'spec.json');
  const gateway = [
    ...['--gateway', 'https://127.0.0.1:1', '--gateway-ca', join(dir, 'none.pem')],
    ...['--identities', join(dir, 'none.json'), '--identity', 'hospital1', '--run', 'r'],
  ];
  const trainArgs = [
    ...['--data', data, '--schema', schema, '--global', model],
    ...['--out', join(dir, 'update.safetensors'), '--msp', 'Hospital1MSP'],
  ];

  before(async () => {
    const init = await trainer(
      ['init', '--out', model, '--run-id', 'r', '--data', data, '--schema', schema],
      dir,
    );
    expect(init.code, init.stderr).to.equal(EXIT.OK);
    const saved = await trainer(
      [
        ...['init', '--out', join(dir, 'other.safetensors'), '--run-id', 'r'],
        ...['--data', data, '--schema', schema, '--save-spec', spec],
      ],
      dir,
    );
    expect(saved.code, saved.stderr).to.equal(EXIT.OK);
  });

  const cases: [string, () => string[], number, RegExp][] = [
    ['no command', () => [], EXIT.USAGE, /Usage: fedledger-trainer/],
    ['an unknown command', () => ['fly'], EXIT.USAGE, /Unknown command "fly"/],
    ...[
      'generate',
      'init',
      'train',
      'baseline',
      'evaluate',
      'run',
      'check',
      'export',
      'export-updates',
      'keys init',
      'keys export',
      'keys import',
      'keys fingerprint',
    ].map((c): [string, () => string[], number, RegExp] => [
      `${c} with an unknown option`,
      () => [...c.split(' '), '--colour'],
      EXIT.USAGE,
      /Unknown option --colour/,
    ]),
    [
      'generate --patients 5',
      () => ['generate', '--out', dir, '--patients', '5'],
      EXIT.USAGE,
      /--patients must be an integer ≥ 10, not "5"/,
    ],
    [
      'train --epochs -2',
      () => ['train', ...trainArgs, '--epochs', '-2'],
      EXIT.USAGE,
      /--epochs must be an integer ≥ 1, not "-2"/,
    ],
    [
      'train --delta 2',
      () => ['train', ...trainArgs, '--dp', 'update', '--delta', '2'],
      EXIT.USAGE,
      /--delta must be > 0 and < 1, not "2"/,
    ],
    [
      'train --batch-size 0',
      () => ['train', ...trainArgs, '--batch-size', '0'],
      EXIT.USAGE,
      /--batch-size must be an integer ≥ 1/,
    ],
    [
      'baseline --learning-rate -1',
      () => ['baseline', '--data', data, '--schema', schema, '--learning-rate', '-1'],
      EXIT.USAGE,
      /--learning-rate must be > 0/,
    ],
    [
      'evaluate --split all-of-it',
      () => [
        'evaluate',
        '--model',
        model,
        '--data',
        data,
        '--schema',
        schema,
        '--split',
        'all-of-it',
      ],
      EXIT.USAGE,
      /--split must be one of/,
    ],
    [
      'run --poll-ms 0',
      () => [
        'run',
        ...gateway,
        '--data',
        data,
        '--schema',
        schema,
        '--workdir',
        dir,
        '--poll-ms',
        '0',
      ],
      EXIT.USAGE,
      /--poll-ms must be an integer ≥ 1/,
    ],
    [
      'init without data',
      () => [
        'init',
        '--out',
        join(dir, 'x'),
        '--run-id',
        'r',
        '--data',
        join(dir, 'none.csv'),
        '--schema',
        schema,
      ],
      EXIT.DATA,
      /none\.csv: the data file cannot be read/,
    ],
    [
      'evaluate on a missing schema',
      () => ['evaluate', '--model', model, '--data', data, '--schema', join(dir, 'none.json')],
      EXIT.DATA,
      /none\.json/,
    ],
    [
      'baseline on a missing file',
      () => ['baseline', '--data', join(dir, 'none.csv'), '--schema', schema],
      EXIT.DATA,
      /none\.csv/,
    ],
    [
      'export-updates with nothing submitted',
      () => ['export-updates', '--workdir', dir, '--run', 'r', '--out', join(dir, 'export')],
      EXIT.DATA,
      /holds no update of run r/,
    ],
    [
      'train --global on a CSV',
      () => ['train', ...trainArgs.map((a) => (a === model ? data : a))],
      EXIT.MODEL,
      /--global .*hospital1\.csv is not a fedledger model\/update container \(safetensors\): it is text, starting "patient_id,/,
    ],
    [
      'evaluate --model on a JSON file',
      () => ['evaluate', '--model', schema, '--data', data, '--schema', schema],
      EXIT.MODEL,
      /--model .*schema\.json is not a fedledger model\/update container \(safetensors\)/,
    ],
    [
      'export --model on a CSV',
      () => ['export', '--model', data, '--spec', spec, '--out', join(dir, 'exported')],
      EXIT.MODEL,
      /is not a fedledger model\/update container/,
    ],
    [
      'train with an ε no noise reaches',
      () => ['train', ...trainArgs, '--epochs', '1', '--dp', 'update', '--epsilon', '0.000001'],
      EXIT.PRIVACY,
      /No noise multiplier up to 10⁴ reaches ε = 0\.000001/,
    ],
    // Where the native GPU package is installed no backend is missing, and this code cannot occur.
    ...(gpuPackageInstalled()
      ? []
      : [
          [
            'train with a backend that is not installed',
            () => ['train', ...trainArgs, '--backend', 'tensorflow-gpu'],
            EXIT.BACKEND,
            /tensorflow-gpu/,
          ] as [string, () => string[], number, RegExp],
        ]),
    [
      'keys fingerprint of a file that is no key',
      () => ['keys', 'fingerprint', '--key', schema],
      EXIT.KEY,
      /not a fedledger CKKS key file/,
    ],
    [
      'run with an unreadable identities file',
      () => ['run', ...gateway, '--data', data, '--schema', schema, '--workdir', join(dir, 'w')],
      EXIT.GATEWAY,
      /none\.json: not a readable JSON identities file/,
    ],
    [
      'check with an unreadable identities file',
      () => ['check', ...gateway],
      EXIT.GATEWAY,
      /none\.json/,
    ],
  ];

  for (const [what, argv, code, message] of cases) {
    it(`${what} exits ${code}`, async () => {
      const r = await trainer(argv(), dir);
      expect(r.code, r.stderr).to.equal(code);
      expect(r.stderr).to.match(message);
    });
  }

  it('lists every one of these codes in its help', () => {
    const help = usage();
    for (const code of new Set(cases.map((c) => c[2]))) {
      expect(help, `exit code ${code}`).to.match(new RegExp(`(^|\\s)${code} [a-z]`));
    }
  });
});
