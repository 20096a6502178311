// Federated preprocessing: the statistics each hospital contributes before round 0 (counts, sums
// and sums of squares per numeric column, category counts), the one shared transform they combine
// into, and that transform's SHA-256, which a run records on the ledger so every hospital and the
// auditor can check that all of them standardised with the same means and deviations.
// Pure and deterministic: anyone holding the statistics recomputes the same transform, bit for bit.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * One numeric column's contribution (missing cells excluded from all three): sums of `x - offset`
 * and `(x - offset)²`. The offset (the midpoint of the schema's clipping range, else 0) keeps the
 * sums small, which matters for dates (days since 1970) and for the noise of private statistics;
 * every contributor uses the same one.
 */
export interface NumericStatistics {
  name: string;
  offset: number;
  count: number;
  sum: number;
  sumSquares: number;
}

/** One categorical column's contribution: `counts[i]` rows hold `categories[i]`. */
export interface CategoricalStatistics {
  name: string;
  /** The schema's declared vocabulary in its order, or the values seen, sorted. */
  categories: string[];
  counts: number[];
}

/** Differential privacy applied to a contribution (absent: exact statistics). */
export interface StatisticsPrivacy {
  mechanism: 'gaussian';
  /** Noise standard deviation over the L2 sensitivity of one record (see the trainer's docs). */
  noiseMultiplier: number;
  epsilon: number;
  delta: number;
}

/** What one hospital contributes (`format: fedledger-preprocessing-statistics/1`). */
export interface PreprocessingStatistics {
  format: 'fedledger-preprocessing-statistics/1';
  /** The contributing hospital (MSP ID or name); contributions are combined in this order. */
  contributor: string;
  numeric: NumericStatistics[];
  categorical: CategoricalStatistics[];
  label: { name: string; classes: string[] };
  dp?: StatisticsPrivacy;
}

/**
 * The shared transform (`format: fedledger-preprocessing/1`, the trainer's `--preprocessing` file):
 * standardisation and mean imputation per numeric column, one-hot order and mode per categorical.
 */
export interface SharedPreprocessing {
  format: 'fedledger-preprocessing/1';
  numeric: { name: string; mean: number; std: number }[];
  categorical: { name: string; categories: string[]; mode: string }[];
  label: { name: string; classes: string[] };
  featureNames: string[];
}

/** Statistics that cannot be combined; the message names the contributor and column. */
export class PreprocessingStatisticsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Deviations at or below this are treated as constant columns (std 1, no scaling). */
const TINY_STD = 1e-12;

/**
 * SHA-256 (lowercase hex) of a transform's canonical JSON: what a run records on the ledger as
 * `settings.preprocessingSha256`.
 */
export function preprocessingSha256(transform: SharedPreprocessing): string {
  return createHash('sha256')
    .update(canonicalJson(transformFields(transform)))
    .digest('hex');
}

/** Only the transform's own fields count, so extra keys cannot change what is hashed. */
function transformFields(t: SharedPreprocessing): SharedPreprocessing {
  return {
    format: t.format,
    numeric: t.numeric.map(({ name, mean, std }) => ({ name, mean, std })),
    categorical: t.categorical.map(({ name, categories, mode }) => ({
      name,
      categories: [...categories],
      mode,
    })),
    label: { name: t.label.name, classes: [...t.label.classes] },
    featureNames: [...t.featureNames],
  };
}

/**
 * Checks one contribution's shape and numbers (the gateway and hospitals receive them from others).
 * @throws {PreprocessingStatisticsError} naming what is wrong.
 */
export function validatePreprocessingStatistics(value: unknown): PreprocessingStatistics {
  const s = value as Partial<PreprocessingStatistics> | null;
  const fail = (what: string): never => {
    throw new PreprocessingStatisticsError(
      `statistics${typeof s?.contributor === 'string' ? ` of ${s.contributor}` : ''}: ${what}`,
    );
  };
  if (!s || typeof s !== 'object') return fail('not a JSON object');
  if (s.format !== 'fedledger-preprocessing-statistics/1') {
    fail('format must be "fedledger-preprocessing-statistics/1"');
  }
  if (typeof s.contributor !== 'string' || s.contributor.length === 0) {
    fail('contributor must be a non-empty string');
  }
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!Array.isArray(s.numeric) || !Array.isArray(s.categorical)) {
    fail('numeric and categorical must be arrays');
  }
  for (const c of s.numeric ?? []) {
    if (typeof c?.name !== 'string') fail('a numeric column has no name');
    if (!finite(c.offset) || !finite(c.count) || !finite(c.sum) || !finite(c.sumSquares)) {
      fail(`column "${c.name}": offset, count, sum and sumSquares must be finite numbers`);
    }
  }
  for (const c of s.categorical ?? []) {
    if (typeof c?.name !== 'string') fail('a categorical column has no name');
    if (
      !Array.isArray(c.categories) ||
      !Array.isArray(c.counts) ||
      c.categories.length !== c.counts.length ||
      !c.categories.every((v) => typeof v === 'string') ||
      new Set(c.categories).size !== c.categories.length ||
      !c.counts.every(finite)
    ) {
      fail(`column "${c.name}": categories must be distinct strings with one finite count each`);
    }
  }
  if (
    !s.label ||
    typeof s.label.name !== 'string' ||
    !Array.isArray(s.label.classes) ||
    !s.label.classes.every((v) => typeof v === 'string')
  ) {
    fail('label must name the label column and its classes');
  }
  return s as PreprocessingStatistics;
}

/**
 * Combines the hospitals' statistics into one shared transform: pooled means and sample standard
 * deviations, category lists (the declared one when every hospital sent the same list, otherwise
 * the sorted union) and modes (ties to the earlier category). Contributions are summed in
 * contributor order, so the result does not depend on the order they arrived in. Noised counts
 * below zero count as zero.
 * @throws {PreprocessingStatisticsError} when contributions disagree on columns or classes, or a
 * contributor appears twice.
 */
export function combinePreprocessingStatistics(
  contributions: readonly PreprocessingStatistics[],
): SharedPreprocessing {
  if (contributions.length === 0) {
    throw new PreprocessingStatisticsError('no statistics to combine');
  }
  const all = contributions
    .map(validatePreprocessingStatistics)
    .sort((a, b) => (a.contributor < b.contributor ? -1 : a.contributor > b.contributor ? 1 : 0));
  const first = all[0] as PreprocessingStatistics;
  const seen = new Set<string>();
  for (const s of all) {
    if (seen.has(s.contributor)) {
      throw new PreprocessingStatisticsError(`${s.contributor} contributed twice`);
    }
    seen.add(s.contributor);
    const same = (a: readonly string[], b: readonly string[]): boolean =>
      a.length === b.length && a.every((v, i) => v === b[i]);
    if (
      s.label.name !== first.label.name ||
      !same(s.label.classes, first.label.classes) ||
      !same(
        s.numeric.map((c) => c.name),
        first.numeric.map((c) => c.name),
      ) ||
      !same(
        s.categorical.map((c) => c.name),
        first.categorical.map((c) => c.name),
      )
    ) {
      throw new PreprocessingStatisticsError(
        `${s.contributor} and ${first.contributor} disagree on the columns or label classes (different schemas)`,
      );
    }
  }
  const numeric = first.numeric.map(({ name, offset }, k) => {
    let n = 0;
    let sum = 0;
    let squares = 0;
    for (const s of all) {
      const c = s.numeric[k] as NumericStatistics;
      if (c.offset !== offset) {
        throw new PreprocessingStatisticsError(
          `${s.contributor} and ${first.contributor} used different offsets for column "${name}" (different schemas)`,
        );
      }
      n += Math.max(0, c.count);
      sum += c.sum;
      squares += c.sumSquares;
    }
    const centred = n > 0 ? sum / n : 0;
    const variance = n > 1 ? Math.max(0, (squares - n * centred * centred) / (n - 1)) : 0;
    const std = Math.sqrt(variance);
    return { name, mean: offset + centred, std: std > TINY_STD ? std : 1 };
  });
  const categorical = first.categorical.map(({ name }, k) => {
    const lists = all.map((s) => (s.categorical[k] as CategoricalStatistics).categories);
    const agreed = lists.every(
      (l) => l.length === lists[0]?.length && l.every((v, i) => v === lists[0]?.[i]),
    );
    const categories = agreed ? [...(lists[0] ?? [])] : [...new Set(lists.flat())].sort();
    const totals = new Map(categories.map((c) => [c, 0]));
    for (const s of all) {
      const c = s.categorical[k] as CategoricalStatistics;
      c.categories.forEach((v, i) => {
        totals.set(v, (totals.get(v) ?? 0) + Math.max(0, c.counts[i] as number));
      });
    }
    let mode = categories[0] ?? '';
    let best = -1;
    for (const c of categories) {
      const n = totals.get(c) ?? 0;
      if (n > best) {
        best = n;
        mode = c;
      }
    }
    return { name, categories, mode };
  });
  return {
    format: 'fedledger-preprocessing/1',
    numeric,
    categorical,
    label: { name: first.label.name, classes: [...first.label.classes] },
    featureNames: [
      ...numeric.map((c) => c.name),
      ...categorical.flatMap((c) => c.categories.map((v) => `${c.name}=${v}`)),
    ],
  };
}
