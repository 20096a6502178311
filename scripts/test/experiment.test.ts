// `npm run experiment` end to end on a tiny configuration (300 patients per hospital, 2 rounds of
// 1 epoch, one repeat, ε ∈ {1, 2}) on the SIMULATED ledger: the tables carry the study's figures
// beside ours, the result files are written, and running again skips every finished cell; then
// the federated arms with secure aggregation and with CKKS beside the plaintext ones: verified
// from the ledger, and (same seed, same batches) the plaintext model within the protection's
// rounding.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { CellResult } from '../experiment/cells';
import { CONVERGENCE_TOLERANCE, epochsToConverge } from '../experiment/convergence';
import {
  meanSd,
  meanSdText,
  spreadNote,
  tableOne,
  warningsSection,
} from '../experiment/results-report';
import type { ArmSummary, MeanSd as MeanSdType } from '../experiment/results-report';
import { armId, armLabel, testMetricsFrom } from '../experiment/cells';
import { configurationOf, parseExperimentOptions } from '../experiment/options';
import { classificationMetrics } from '@fedledger/trainer';
import { armsOf, ledgerFiguresArm } from '../experiment/experiment';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '..', 'experiment', 'experiment.js');

async function experiment(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [SCRIPT, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

/** The row of a text table whose first cell is `label`. */
function row(output: string, label: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`${label}  `));
  expect(line, `a table row for "${label}"`).to.be.a('string');
  return line as string;
}

describe('experiment: epochs to converge and mean ± sd', function () {
  it('counts local epochs up to the first point within 0.5 points of the best', function () {
    expect(CONVERGENCE_TOLERANCE).to.equal(0.005);
    expect(epochsToConverge([], 5)).to.equal(0);
    expect(epochsToConverge([0.5, 0.8, 0.85, 0.852], 5)).to.equal(15);
    expect(epochsToConverge([0.5, 0.9, 0.85, 0.9], 1)).to.equal(2);
    expect(epochsToConverge([0.7], 3)).to.equal(3);
  });

  it('takes the ledger table from a Fabric run at the ε nearest 1 unless told otherwise', function () {
    const parse = (...argv: string[]) => parseExperimentOptions(argv);
    expect(parse()?.ledgerFigures).to.equal('fabric');
    expect(ledgerFiguresArm(parse()!)).to.deep.equal({ kind: 'federated-dp', epsilon: 1 });
    expect(ledgerFiguresArm(parse('--epsilons', '2,5')!)).to.deep.equal({
      kind: 'federated-dp',
      epsilon: 2,
    });
    expect(ledgerFiguresArm(parse('--epsilons', '0.5,2,5')!).epsilon).to.equal(0.5);
    expect(parse('--ledger-figures', 'sweep')?.ledgerFigures).to.equal('sweep');
    expect(() => parse('--ledger-figures', 'blocks')).to.throw(
      /--ledger-figures must be fabric or sweep/,
    );
  });

  it('runs each federated arm in each --protection mode, named by its mode, in one configuration', function () {
    const parse = (...argv: string[]) => parseExperimentOptions(argv)!;
    expect(parse().protections).to.deep.equal(['plaintext']);
    expect(parse('--protection', 'all').protections).to.deep.equal(['plaintext', 'secagg', 'ckks']);
    expect(parse('--protection', 'ckks,plaintext').protections).to.deep.equal([
      'plaintext',
      'ckks',
    ]);
    for (const bad of ['secure', 'plaintext,he', ''])
      expect(() => parse('--protection', bad), bad).to.throw(/--protection must be plaintext/);
    const arms = armsOf(parse('--epsilons', '1', '--rdp-epsilons', 'none', '--protection', 'all'));
    expect(arms.map(armId)).to.deep.equal([
      'centralised',
      'federated',
      'federated-secagg',
      'federated-ckks',
      'federated-dp-eps1',
      'federated-dp-eps1-secagg',
      'federated-dp-eps1-ckks',
    ]);
    expect(armLabel({ kind: 'federated-dp-rdp', epsilon: 0.5, protection: 'ckks' })).to.equal(
      'federated + DP ε=0.5 (RDP σ) [ckks]',
    );
    // Plaintext arms keep their names (and so their saved cells), and the modes share a folder.
    expect(armsOf(parse('--epsilons', '1', '--rdp-epsilons', 'none')).map(armLabel)).to.deep.equal([
      'centralised',
      'federated',
      'federated + DP ε=1',
    ]);
    expect(configurationOf(parse('--protection', 'all')).fingerprint).to.equal(
      configurationOf(parse()).fingerprint,
    );
    expect(ledgerFiguresArm(parse('--protection', 'secagg,ckks'))).to.deep.equal({
      kind: 'federated-dp',
      epsilon: 1,
      protection: 'secagg',
    });
  });

  it('labels an always-majority model: majority rate, balanced accuracy 50 %, AUC 0.5, warnings', function () {
    // 88 % "no" and a model that gives every patient the same probabilities: it predicts "no".
    const rows = 100;
    const labels = Int32Array.from({ length: rows }, (_, i) => (i < 88 ? 0 : 1));
    const probabilities = new Float32Array(rows * 2);
    for (let i = 0; i < rows; i++) probabilities.set([0.9, 0.1], i * 2);
    const metrics = classificationMetrics(probabilities, labels, 2);
    const test = testMetricsFrom(metrics, ['no', 'yes']);
    expect(test.accuracy).to.equal(0.88);
    expect(test.majorityRate).to.equal(0.88);
    expect(test.balancedAccuracy).to.equal(0.5);
    expect(test.rocAuc).to.equal(0.5);
    expect(test.prAuc).to.be.closeTo(0.12, 1e-12);
    expect(test.warnings).to.deep.equal([
      'the model predicts a single class ("no") for all 100 rows: the recall of "yes" (12 rows) is 0',
      'accuracy 88.0 % is no better than always predicting the majority class (88.0 %): judge the model by balanced accuracy and AUC',
    ]);
    const one = (x: number): MeanSdType => meanSd([x]);
    const summary: ArmSummary = {
      arm: { kind: 'federated-dp', epsilon: 0.5 },
      cells: [],
      accuracy: one(0.88),
      majorityRate: one(0.88),
      balancedAccuracy: one(0.5),
      rocAuc: one(0.5),
      prAuc: one(0.12),
      precision: one(0.44),
      recall: one(0.5),
      f1: one(0.468),
      epochsToConverge: one(5),
      wallSeconds: one(30),
    };
    const row = tableOne([summary], { study: false }).split('\n')[2] as string;
    expect(row).to.match(
      /^federated \+ DP ε=0\.5\s+1\s+88\.0\s+88\.0\s+50\.0\s+0\.500\s+0\.120\s+44\.0/,
    );
    // A model that ranks perfectly: AUC 1, whatever its threshold does.
    const ranked = new Float32Array(rows * 2);
    for (let i = 0; i < rows; i++) ranked.set(i < 88 ? [0.7, 0.3] : [0.6, 0.4], i * 2);
    const good = classificationMetrics(ranked, labels, 2);
    expect(good.rocAuc).to.equal(1);
    expect(good.prAuc).to.equal(1);
    expect(good.balancedAccuracy).to.equal(0.5);
  });

  it("keys results on the CSVs' content, not their path or modification time", async function () {
    const dir = await mkdtemp(join(tmpdir(), 'fedledger-config-'));
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    const schema = join(dir, 'schema.json');
    writeFileSync(a, 'id,x,y\n1,2,no\n');
    writeFileSync(b, 'id,x,y\n1,3,no\n');
    writeFileSync(schema, '{}');
    const options = parseExperimentOptions(['--data', `${a},${b}`, '--schema', schema]);
    if (!options) throw new Error('no options');
    const before = configurationOf(options).fingerprint;
    // Regenerated with identical bytes, later: the same configuration.
    writeFileSync(a, 'id,x,y\n1,2,no\n');
    utimesSync(a, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    expect(configurationOf(options).fingerprint).to.equal(before);
    // Same size, same time, different content: another configuration.
    const stat = statSync(b);
    writeFileSync(b, 'id,x,y\n1,4,no\n');
    utimesSync(b, stat.atime, stat.mtime);
    expect(configurationOf(options).fingerprint).to.not.equal(before);
    // Per-site preprocessing is another configuration too.
    const perSite = parseExperimentOptions([
      '--data',
      `${a},${b}`,
      '--schema',
      schema,
      '--preprocessing',
      'per-site',
    ]);
    expect(configurationOf(perSite!).fingerprint).to.not.equal(
      configurationOf(options).fingerprint,
    );
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the sample standard deviation, 0 for one value', function () {
    expect(meanSd([0.8])).to.deep.equal({ mean: 0.8, sd: 0, n: 1 });
    const m = meanSd([1, 2, 3, 4]);
    expect(m.mean).to.equal(2.5);
    expect(m.sd).to.be.closeTo(Math.sqrt(5 / 3), 1e-12);
  });

  it('prints one repeat as the value alone, never "± 0.0"', function () {
    const pct = (x: number): string => (x * 100).toFixed(1);
    expect(meanSdText(meanSd([0.671]), pct)).to.equal('67.1');
    expect(meanSdText(meanSd([0.8, 0.82]), pct)).to.equal('81.0 ± 1.4');
    expect(meanSdText(meanSd([]), pct)).to.equal('—');
    expect(spreadNote(1)).to.equal('one repeat (n = 1): single values, no spread');
    expect(spreadNote(3)).to.equal('mean ± sd over 3 repeats');
    const one = meanSd([0.5]);
    const summary: ArmSummary = {
      arm: { kind: 'federated' },
      cells: [],
      accuracy: one,
      precision: one,
      recall: one,
      f1: one,
      epochsToConverge: meanSd([10]),
      wallSeconds: meanSd([30]),
    };
    const table = tableOne([summary]);
    expect(table).to.not.include('±');
    // accuracy, majority, balanced acc., ROC AUC, PR AUC (absent in this summary: "—"), study.
    expect(table.split('\n')[2]).to.match(/^federated\s+1\s+50\.0\s+—\s+—\s+—\s+—\s+85\.3\s+50\.0/);
    // On the user's own data the study's accuracy is not printed beside ours.
    expect(tableOne([summary], { study: false }))
      .to.not.include('study')
      .and.not.include('85.3');
    // A cell whose final model predicts one class is named in the warnings.
    const single = {
      repeat: 0,
      test: { warnings: ['the model predicts a single class ("home")'] },
    };
    expect(
      warningsSection([{ ...summary, cells: [single as unknown as CellResult] }]),
    ).to.deep.equal(['', 'federated, repeat 0: the model predicts a single class ("home")']);
    expect(warningsSection([summary])).to.deep.equal([]);
  });
});

describe('npm run experiment (tiny configuration, SIMULATED ledger)', function () {
  this.timeout(120_000);
  let out: string;
  // The ledger table from the sweep's own runs here; test/experiment-fabric.test.ts covers the
  // default, a run on the Fabric network.
  const sweep = ['--ledger-figures', 'sweep'];
  const tiny = ['--patients', '300', '--rounds', '2', '--epochs', '1', '--repeats', '1', ...sweep];

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'fedledger-experiment-'));
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs every arm through the ledger and prints Table I, Fig. 2 and Table II beside the study', async () => {
    const stdout = await experiment([
      ...tiny,
      ...['--epsilons', '1,2', '--rdp-epsilons', '1', '--jobs', '2', '--out', out],
    ]);
    expect(stdout).to.include('LEDGER: SIMULATED ledger');
    expect(stdout).to.include('5 cells to run');
    // Two cells at a time, each in its own process; every one of them finished and was saved.
    expect(stdout).to.include('running 2 cells at a time, each in its own process');
    expect(stdout).to.include('4/5 cells done');

    const cell = (name: string): CellResult =>
      JSON.parse(readFileSync(join(out, 'cells', `${name}-r0.json`), 'utf8')) as CellResult;
    // One repeat: the value alone, no "± 0.0".
    const ours = (name: string): string => `  ${(cell(name).test.accuracy * 100).toFixed(1)}  `;
    expect(stdout).to.include('one repeat (n = 1)');
    expect(row(stdout, 'centralised')).to.not.include('±');
    // Our numbers and the study's, side by side (no study figure at ε = 2).
    expect(row(stdout, 'centralised')).to.include(ours('centralised')).and.include('87.1');
    expect(row(stdout, 'federated')).to.include(ours('federated')).and.include('85.3');
    expect(row(stdout, 'federated + DP ε=1'))
      .to.include(ours('federated-dp-eps1'))
      .and.include('85.3');
    expect(row(stdout, 'federated + DP ε=2'))
      .to.include(ours('federated-dp-eps2'))
      .and.include('—');

    // Federated runs went through the coordinator and were audited from the ledger.
    const federated = cell('federated-dp-eps1');
    expect(federated.ledger?.verified).to.equal(true);
    expect(federated.ledger?.transactions).to.equal(1 + 2 + 2 * 3 + 2);
    expect(federated.validationAccuracy).to.have.length(2);
    expect(federated.epsilonSpent).to.be.at.most(1 + 1e-6);
    expect(federated.epsilonSpent).to.be.greaterThan(0.5);
    expect(federated.updateBytes).to.be.greaterThan(0);
    expect(cell('centralised').validationAccuracy).to.have.length(2);

    // ε = 1 twice: σ calibrated by PLD (the default) and by RDP, measured in the same run; PLD's
    // σ is smaller at the same ε, and the table shows the accuracy it gains.
    const rdp = cell('federated-dp-rdp-eps1');
    expect(rdp.epsilonSpent).to.be.at.most(1 + 1e-6);
    expect(federated.noiseMultiplier).to.be.below(rdp.noiseMultiplier as number);
    expect(row(stdout, 'federated + DP ε=1 (RDP σ)')).to.include(ours('federated-dp-rdp-eps1'));
    expect(row(stdout, 'ε=1')).to.match(
      /^ε=1\s+\d\.\d{3}\s+\d\.\d{3}\s+[\d.]+ ± [\d.]+\s+[\d.]+ ± [\d.]+\s+[+-]\d+\.\d\s*$/,
    );

    // Table II: the study's ledger figures, and the warning that ours are not Fabric figures.
    for (const figure of ['1.2 s', '1,500', '30 MB', 'PBFT', 'NOT Fabric figures', 'bench:ledger'])
      expect(stdout).to.include(figure);
    expect(row(stdout, 'transactions per minute of run time')).to.match(/ 50\s*$/);

    for (const file of ['results.md', 'cells.csv', 'summary.csv', 'convergence.svg'])
      expect(existsSync(join(out, file)), file).to.equal(true);
    const fig2 = readFileSync(join(out, 'accuracy-vs-epsilon.svg'), 'utf8');
    expect(fig2)
      .to.include('<svg')
      .and.include('study')
      .and.include('balanced accuracy')
      .and.include('majority-class rate');
    // Table I: majority rate, balanced accuracy and AUCs beside accuracy.
    for (const column of ['majority %', 'balanced acc. %', 'ROC AUC', 'PR AUC'])
      expect(stdout).to.include(column);
    expect(cell('federated').test.rocAuc).to.be.within(0, 1);
    expect(cell('federated').test.majorityRate).to.be.within(0.3, 1);
    expect(readFileSync(join(out, 'summary.csv'), 'utf8')).to.include('roc_auc_mean');
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).to.include('SIMULATED ledger').and.include('87.1').and.include('Epochs to converge');
    expect(readFileSync(join(out, 'cells.csv'), 'utf8').trim().split('\n')).to.have.length(6);
  });

  it('skips finished cells when run again, and runs only the new ones for more repeats', async () => {
    const before = readFileSync(join(out, 'cells', 'federated-r0.json'), 'utf8');
    const again = await experiment([
      ...tiny,
      ...['--epsilons', '1,2', '--rdp-epsilons', '1', '--out', out],
    ]);
    expect(again).to.include('5 of 5 cells finished earlier');
    expect(again).not.to.include('started');
    expect(readFileSync(join(out, 'cells', 'federated-r0.json'), 'utf8')).to.equal(before);
    expect(row(again, 'federated')).to.include('85.3');

    const twoRepeats = [
      ...['--patients', '300', '--rounds', '2', '--epochs', '1', '--repeats', '2'],
      ...sweep,
    ];
    const more = await experiment([...twoRepeats, '--epsilons', '1', '--jobs', '1', '--out', out]);
    expect(more).to.not.include('cells at a time');
    expect(more).to.include('4 of 8 cells finished earlier');
    expect(more).to.include('4 cells to run');
    expect(more.match(/ started \(seed 2\)/g)).to.have.length(4);
    expect(more).not.to.include('started (seed 1)');
    expect(row(more, 'centralised').split(/\s{2,}/)[1], 'n').to.equal('2');
  });

  it('runs the federated arms with secure aggregation and CKKS beside the plaintext ones: verified, and the plaintext model within rounding', async () => {
    const stdout = await experiment([
      ...tiny,
      ...['--epsilons', '1', '--rdp-epsilons', 'none', '--protection', 'all'],
      ...['--jobs', '2', '--out', out],
    ]);
    // The plaintext cells of this configuration finished in the first test; only the new modes run.
    expect(stdout).to.include('3 of 7 cells finished earlier');
    expect(stdout).to.include('4 cells to run');
    const cell = (name: string): CellResult =>
      JSON.parse(readFileSync(join(out, 'cells', `${name}-r0.json`), 'utf8')) as CellResult;
    const plain = cell('federated');
    for (const mode of ['secagg', 'ckks'] as const) {
      for (const arm of ['federated', 'federated-dp-eps1']) {
        const c = cell(`${arm}-${mode}`);
        expect(c.protection, `${arm} ${mode}`).to.equal(mode);
        expect(c.ledger?.verified, `${arm} ${mode}: ${c.ledger?.problems.join('; ')}`).to.equal(
          true,
        );
        expect(c.validationAccuracy).to.have.length(2);
        // Secure aggregation adds each round's three AdvertiseKeys, BeginMasking and BeginUnmasking.
        expect(c.ledger?.transactions).to.equal(mode === 'secagg' ? 11 + 2 * 5 : 11);
      }
      // The same seed and batches as the plaintext arm: the same model but for the protection's
      // rounding (fixed point, 2^-26; CKKS's approximate arithmetic), so the same predictions but
      // for at most one of the ~90 pooled test patients, and a loss within 1e-5.
      const c = cell(`federated-${mode}`);
      expect(c.test.accuracy, mode).to.be.closeTo(plain.test.accuracy, 0.011);
      expect(c.test.loss, mode).to.be.closeTo(plain.test.loss, 1e-5);
      c.validationAccuracy.forEach((a, i) =>
        expect(a, `${mode} round ${i}`).to.be.closeTo(plain.validationAccuracy[i]!, 0.012),
      );
    }
    // CKKS updates are ciphertexts, several times the plaintext's size; masked ones are not.
    expect(cell('federated-ckks').updateBytes).to.be.greaterThan(3 * plain.updateBytes!);
    expect(cell('federated-secagg').updateBytes).to.be.within(
      0.9 * plain.updateBytes!,
      1.1 * plain.updateBytes!,
    );

    // Rows named by mode; the report says how each arm's hospitals protected their updates.
    const ours = (name: string): string => `  ${(cell(name).test.accuracy * 100).toFixed(1)}  `;
    expect(row(stdout, 'federated [secagg]')).to.include(ours('federated-secagg'));
    expect(row(stdout, 'federated + DP ε=1 [ckks]')).to.include(ours('federated-dp-eps1-ckks'));
    // The privacy table's protection column (plaintext arms keep their names).
    expect(stdout)
      .to.match(/^federated \[ckks\]\s+CKKS \(encrypted\)\s/m)
      .and.match(/^federated \+ DP ε=1 \[secagg\]\s+secure aggregation \(masked\)\s/m)
      .and.match(/^federated \+ DP ε=1\s+plaintext\s/m);
    expect(row(stdout, 'runs verified from the ledger')).to.include('6/6');
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md)
      .to.include('## Protection of the updates')
      .and.include(
        '- **secure aggregation (masked)** (federated [secagg], federated + DP ε=1 [secagg])',
      )
      .and.include('- **CKKS (encrypted)** (federated [ckks], federated + DP ε=1 [ckks])');
    const csv = readFileSync(join(out, 'cells.csv'), 'utf8');
    expect(csv.split('\n')[0]).to.match(/^arm,protection,epsilon,/);
    expect(csv)
      .to.match(/^federated,secagg,,0,/m)
      .and.match(/^federated-dp,ckks,1,0,/m);
    expect(readFileSync(join(out, 'accuracy-vs-epsilon.svg'), 'utf8'))
      .to.include('accuracy (mean over repeats) [secagg]')
      .and.include('accuracy (mean over repeats) [ckks]');
  });

  it('refuses to mix configurations in one folder', async () => {
    const failure = await experiment(['--patients', '400', '--repeats', '1', '--out', out]).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failure?.code).to.equal(1);
    expect(failure?.stderr).to.include('holds results of another configuration');
  });
});
