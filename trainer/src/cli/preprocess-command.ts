// `fedledger-trainer preprocess stats` and `preprocess combine`: federated preprocessing before
// round 0. Each hospital computes the statistics of its training split (noised when the run is
// private); anyone combines them into the shared transform and its SHA-256, which the run records
// on the ledger (run file `preprocessing:`); every hospital then trains with that transform and
// `run` refuses one that does not hash to the ledger's.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { PreprocessingStatistics } from '@fedledger/protocol';
import {
  combinePreprocessingStatistics,
  preprocessingSha256,
  validatePreprocessingStatistics,
} from '@fedledger/protocol';
import { loadSchema } from '../data/schema';
import { splitIndices } from '../data/split';
import { computeStatistics } from '../data/statistics';
import { privatiseStatistics } from '../data/private-statistics';
import { loadTable } from '../data/table';
import { newPrivacyAccountant, restorePrivacyAccountant } from '../dp/privacy-accountant';
import { DataError } from '../errors';
import { cryptoRandom } from '../random';
import { UsageError } from './args';
import type { Command } from './command';
import { optionTable } from './command';
import { CSV_FLAGS, CSV_HELP, CSV_OPTIONS, tableOptionsFrom } from './data-args';

export const preprocessStatsCommand: Command = {
  name: 'preprocess stats',
  summary: "compute this hospital's preprocessing statistics (before round 0)",
  help: `Usage: fedledger-trainer preprocess stats --data CSV --schema FILE --contributor MSP --out FILE
                                          [--epsilon X --delta X --privacy-state FILE]

Writes what the shared preprocessing needs from this hospital's training split (the split
\`run\` trains on, same --seed): per numeric or date column the count, sum and sum of squares,
per categorical column the count of each category. No row leaves the hospital.

  --data CSV                 the hospital's extract
  --schema FILE              its schema JSON (the consortium's, the same at every hospital)
  --contributor MSP          this hospital's MSP ID
  --out FILE                 the statistics JSON to send to whoever combines them
  --seed N                   split seed (default 42, as \`run\`)
${CSV_HELP}
  --epsilon X --delta X      private run: add Gaussian noise so the statistics are (ε, δ)-DP.
                             Needs a clipping "range" on every numeric and date column and the
                             "categories" of every categorical column in the schema.
  --privacy-state FILE       compose the statistics' cost into this accountant state (e.g.
                             WORKDIR/privacy-<run>.json, which \`run\` continues), so the run's
                             ε spent includes them

Exit codes: 0 written, 2 usage, 3 data, 5 privacy.`,
  options: optionTable(
    [
      'data',
      'schema',
      'contributor',
      'out',
      'seed',
      ...CSV_OPTIONS,
      'epsilon',
      'delta',
      'privacy-state',
    ],
    [...CSV_FLAGS],
  ),
  run(args) {
    const schema = loadSchema(args.required('schema'));
    const table = loadTable(args.required('data'), schema, tableOptionsFrom(args));
    const split = splitIndices(table.labels, table.classes.length, args.string('seed') ?? 42);
    const epsilon = args.numberIn('epsilon');
    const contributor = args.required('contributor');
    const out = args.required('out');
    const exact = computeStatistics(table, schema, split.train, {
      contributor,
      clip: epsilon !== undefined,
    });
    let statistics = exact;
    if (epsilon !== undefined) {
      const delta = args.numberIn('delta', { above: 0, below: 1 }, 1e-5) as number;
      const result = privatiseStatistics(exact, schema, { epsilon, delta }, cryptoRandom());
      statistics = result.statistics;
      const stateFile = args.string('privacy-state');
      if (stateFile !== undefined) {
        const accountant = existsSync(stateFile)
          ? restorePrivacyAccountant(JSON.parse(readFileSync(stateFile, 'utf8')))
          : newPrivacyAccountant({ kind: 'pld' });
        accountant.compose(result.event);
        writeFileSync(stateFile, `${JSON.stringify(accountant.state(), null, 2)}\n`);
      }
      console.error(
        `private statistics: Gaussian noise, σ multiplier ${result.event.noiseMultiplier.toFixed(3)}, ε ${result.epsilon.toFixed(3)} at δ ${delta}` +
          (stateFile !== undefined ? `; composed into ${stateFile}` : ''),
      );
    }
    writeFileSync(out, `${JSON.stringify(statistics, null, 2)}\n`);
    console.log(
      `statistics of ${split.train.length.toLocaleString('en')} training rows written to ${out}`,
    );
    return Promise.resolve();
  },
};

export const preprocessCombineCommand: Command = {
  name: 'preprocess combine',
  summary: "combine the hospitals' statistics into the shared preprocessing and its SHA-256",
  help: `Usage: fedledger-trainer preprocess combine --statistics FILE [--statistics FILE …] --out FILE

Combines the statistics files (\`preprocess stats\`, one per hospital) into the shared
preprocessing every hospital applies: pooled means and standard deviations, category lists and
modes. Deterministic: anyone holding the same files gets the same bytes and hash. Prints the
SHA-256 that the run records on the ledger (run file field \`preprocessing: FILE\`); every
hospital passes FILE to \`run --preprocessing\`, which refuses it unless it hashes to the ledger's.

  --statistics FILE          one hospital's statistics (repeat for each hospital)
  --out FILE                 where to write the shared preprocessing JSON

Exit codes: 0 written, 2 usage, 3 statistics that cannot be combined.`,
  options: optionTable(['statistics', 'out'], [], ['statistics']),
  run(args) {
    const files = args.list('statistics');
    if (files.length === 0) throw new UsageError('give --statistics FILE, once per hospital.');
    const all: PreprocessingStatistics[] = files.map((file) => {
      try {
        return validatePreprocessingStatistics(JSON.parse(readFileSync(file, 'utf8')));
      } catch (error) {
        throw new DataError(
          'DATA_PREPROCESSING_MISMATCH',
          { file },
          `not usable statistics (${(error as Error).message}).`,
          { cause: error },
        );
      }
    });
    let transform;
    try {
      transform = combinePreprocessingStatistics(all);
    } catch (error) {
      throw new DataError(
        'DATA_PREPROCESSING_MISMATCH',
        { file: files.join(', ') },
        (error as Error).message,
        { cause: error },
      );
    }
    const out = args.required('out');
    writeFileSync(out, `${JSON.stringify(transform, null, 2)}\n`);
    const noised = all.filter((s) => s.dp !== undefined).map((s) => s.contributor);
    console.log(
      `shared preprocessing of ${all.length} hospitals written to ${out}  sha256 ${preprocessingSha256(transform)}` +
        (noised.length > 0 ? `  (private statistics from ${noised.join(', ')})` : ''),
    );
    return Promise.resolve();
  },
};
