// The documented exit codes of `npm run demo` and `npm run experiment` (their --help) for bad
// command lines, driven as child processes: each stops before any work, with a plain message.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const DEMO = join(__dirname, '..', 'demo', 'demo.js');
const EXPERIMENT = join(__dirname, '..', 'experiment', 'experiment.js');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function script(file: string, argv: readonly string[]): Promise<Outcome> {
  return new Promise((done) => {
    execFile(process.execPath, [file, ...argv], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

describe('exit codes of the demo and the experiment (child processes)', function () {
  this.timeout(120_000);
  const scratch = mkdtempSync(join(tmpdir(), 'fedledger-script-exit-'));
  const reports = join(scratch, 'report');
  mkdirSync(join(reports, 'demo-earlier'), { recursive: true });
  const results = join(scratch, 'results');

  const demo: [string, string[], number, RegExp][] = [
    ['--help', ['--help'], 0, /Exit codes: 0 run verified, 1 failed or not verified, 2 bad/],
    ['an unknown option', ['--colour'], 2, /^demo: unknown option --colour$/m],
    ['--rounds 0', ['--rounds', '0'], 2, /--rounds must be a positive integer; got "0"/],
    ['an unknown ledger', ['--ledger', 'paper'], 2, /--ledger must be fabric or simulated/],
    ['--hospitals 0', ['--hospitals', '0'], 2, /--hospitals must be a positive integer; got "0"/],
    [
      'an unknown protection',
      ['--protection', 'rot13'],
      2,
      /--protection must be one of plaintext, ckks, secagg; got "rot13"/,
    ],
    [
      'a run ID whose report folder exists',
      ['--out', reports, '--run-id', 'demo-earlier', '--ledger', 'simulated'],
      2,
      /demo-earlier exists already .*choose another --run-id/,
    ],
  ];
  for (const [what, argv, code, message] of demo) {
    it(`demo: ${what} exits ${code}`, async () => {
      const r = await script(DEMO, argv);
      expect(r.code, r.stderr).to.equal(code);
      expect(code === 0 ? r.stdout : r.stderr).to.match(message);
      expect(r.stderr).to.not.include('positional argument');
    });
  }

  it('demo: nothing was started or written for a refused command line', () => {
    expect(readdirSync(reports)).to.deep.equal(['demo-earlier']);
  });

  const experiment: [string, string[], number, RegExp][] = [
    ['--help', ['--help'], 0, /Exit codes: 0 finished and every federated run verified/],
    [
      'an unknown option',
      ['--colour', '--out', results],
      2,
      /^experiment: unknown option --colour$/m,
    ],
    [
      '--rounds -2',
      ['--rounds', '-2', '--out', results],
      2,
      /--rounds needs a value; write --rounds=VALUE/,
    ],
    [
      '--rounds=-2',
      ['--rounds=-2', '--out', results],
      2,
      /--rounds must be a positive integer, not "-2"/,
    ],
  ];
  for (const [what, argv, code, message] of experiment) {
    it(`experiment: ${what} exits ${code}`, async () => {
      const r = await script(EXPERIMENT, argv);
      expect(r.code, r.stderr).to.equal(code);
      expect(code === 0 ? r.stdout : r.stderr).to.match(message);
    });
  }
});
