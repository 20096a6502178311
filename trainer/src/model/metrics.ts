// Classification metrics from predicted class probabilities: cross-entropy, accuracy, macro
// precision / recall / F1 (unweighted means over classes, so rare outcomes count as much as common),
// and those a useless model cannot inflate: balanced accuracy, the majority-class rate beside
// accuracy, ROC AUC and PR AUC (from the probabilities, so they rank patients, not just label them).

/** Metrics of a model on one split. */
export interface ClassificationMetrics {
  /** Mean categorical cross-entropy (natural log). */
  loss: number;
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  rows: number;
  /** Mean recall over classes with rows. */
  balancedAccuracy: number;
  /** Accuracy of always predicting the most frequent class. */
  majorityRate: number;
  /** See {@link RankingMetrics}. */
  rocAuc: number;
  prAuc: number;
}

/** Computes metrics from row-major probabilities (rows × classes) and the true labels. */
export function classificationMetrics(
  probabilities: Float32Array,
  labels: Int32Array,
  classes: number,
): ClassificationMetrics {
  const rows = labels.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const truth = labels[i] as number;
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (
        (probabilities[i * classes + c] as number) > (probabilities[i * classes + best] as number)
      )
        best = c;
    }
    (confusion[truth] as number[])[best] = ((confusion[truth] as number[])[best] as number) + 1;
    loss -= Math.log(Math.max(probabilities[i * classes + truth] as number, 1e-7));
  }
  let correct = 0;
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  for (let c = 0; c < classes; c++) {
    const tp = (confusion[c] as number[])[c] as number;
    correct += tp;
    const actual = (confusion[c] as number[]).reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + (row[c] as number), 0);
    const p = predicted > 0 ? tp / predicted : 0;
    const r = actual > 0 ? tp / actual : 0;
    precision += p;
    recall += r;
    f1 += p + r > 0 ? (2 * p * r) / (p + r) : 0;
  }
  return {
    loss: rows > 0 ? loss / rows : NaN,
    accuracy: rows > 0 ? correct / rows : NaN,
    macroPrecision: precision / classes,
    macroRecall: recall / classes,
    macroF1: f1 / classes,
    confusion,
    rows,
    ...rankingMetrics(probabilities, labels, classes),
  };
}

/** Share of the most frequent class: the accuracy of always predicting it. */
export function majorityClassRate(labels: Int32Array, classes: number): number {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l] = (counts[l] as number) + 1;
  return labels.length > 0 ? Math.max(...counts) / labels.length : NaN;
}

/**
 * Warnings a model's confusion matrix calls for: a model that predicts one class for every row,
 * and each class (with rows) that it never recognises (recall 0). Accuracy alone hides both: on
 * data with a 67 % majority class, always predicting it scores 67 %.
 * @param confusion confusion[true][predicted] counts
 * @param classNames the classes' names, in index order (indices when absent)
 */
export function predictionWarnings(
  confusion: readonly (readonly number[])[],
  classNames?: readonly string[],
): string[] {
  const name = (c: number): string => `"${classNames?.[c] ?? String(c)}"`;
  const classes = confusion.length;
  const rows = confusion.reduce((n, row) => n + row.reduce((a, b) => a + b, 0), 0);
  if (rows === 0 || classes < 2) return [];
  const predicted = Array.from({ length: classes }, (_, c) =>
    confusion.reduce((n, row) => n + (row[c] ?? 0), 0),
  );
  const used = predicted.flatMap((n, c) => (n > 0 ? [c] : []));
  const support = (c: number): number => (confusion[c] ?? []).reduce((a, b) => a + b, 0);
  const missed = Array.from({ length: classes }, (_, c) => c).filter(
    (c) => support(c) > 0 && (confusion[c]?.[c] ?? 0) === 0,
  );
  const rowsOf = (c: number): string => `${name(c)} (${support(c).toLocaleString('en')} rows)`;
  const warnings: string[] = [];
  if (used.length === 1) {
    // One line says it all: every other class is missed.
    const others = missed.map(rowsOf);
    warnings.push(
      `the model predicts a single class (${name(used[0] as number)}) for all ${rows.toLocaleString('en')} rows` +
        (others.length > 0 ? `: the recall of ${others.join(' and ')} is 0` : ''),
    );
    return warnings;
  }
  for (const c of missed) {
    warnings.push(
      `recall of class ${name(c)} is 0: none of its ${support(c).toLocaleString('en')} rows is recognised`,
    );
  }
  return warnings;
}

/** Metrics that a model predicting the majority class for everyone cannot inflate. */
export interface RankingMetrics {
  /** Mean recall over classes with rows: 0.5 for a two-class majority-only model. */
  balancedAccuracy: number;
  /** Share of the most frequent class: the accuracy of always predicting it. */
  majorityRate: number;
  /**
   * Area under the ROC curve: for two classes, of the second class's probability (the outcome);
   * for more, the mean one-vs-rest AUC over classes with rows and non-rows. NaN when undefined.
   */
  rocAuc: number;
  /** Area under the precision-recall curve (average precision), the same way. */
  prAuc: number;
}

/** One-vs-rest ROC AUC (ties count half) and average precision of `scores` for `positive`. */
export function binaryAucs(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean>,
): { roc: number; pr: number } {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  let positives = 0;
  for (let i = 0; i < n; i++) if (positive[i]) positives++;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return { roc: NaN, pr: NaN };
  // Walk down the scores in groups of ties.
  let tp = 0;
  let fp = 0;
  let rocArea = 0;
  let ap = 0;
  for (let start = 0; start < n;) {
    let end = start;
    let groupTp = 0;
    let groupFp = 0;
    while (end < n && scores[order[end] as number] === scores[order[start] as number]) {
      if (positive[order[end] as number]) groupTp++;
      else groupFp++;
      end++;
    }
    // Trapezoid over the tie group: its positives rank above the negatives before it.
    rocArea += groupFp * (tp + groupTp / 2);
    tp += groupTp;
    fp += groupFp;
    if (groupTp > 0) ap += (groupTp / positives) * (tp / (tp + fp));
    start = end;
  }
  return { roc: rocArea / (positives * negatives), pr: ap };
}

/** Balanced accuracy, majority-class rate, ROC AUC and PR AUC of probabilities against labels. */
export function rankingMetrics(
  probabilities: Float32Array,
  labels: Int32Array,
  classes: number,
): RankingMetrics {
  const rows = labels.length;
  const support = new Array<number>(classes).fill(0);
  const hits = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows; i++) {
    const truth = labels[i] as number;
    support[truth] = (support[truth] as number) + 1;
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (
        (probabilities[i * classes + c] as number) > (probabilities[i * classes + best] as number)
      )
        best = c;
    }
    if (best === truth) hits[truth] = (hits[truth] as number) + 1;
  }
  const present = support.flatMap((n, c) => (n > 0 ? [c] : []));
  const balancedAccuracy =
    present.length > 0
      ? present.reduce((s, c) => s + (hits[c] as number) / (support[c] as number), 0) /
        present.length
      : NaN;
  const aucOf = (c: number): { roc: number; pr: number } => {
    const scores = new Float64Array(rows);
    const positive = new Array<boolean>(rows);
    for (let i = 0; i < rows; i++) {
      scores[i] = probabilities[i * classes + c] as number;
      positive[i] = labels[i] === c;
    }
    return binaryAucs(scores, positive);
  };
  let roc = NaN;
  let pr = NaN;
  if (classes === 2) {
    ({ roc, pr } = aucOf(1));
  } else {
    const per = present.map(aucOf).filter((a) => !Number.isNaN(a.roc));
    if (per.length > 0) {
      roc = per.reduce((s, a) => s + a.roc, 0) / per.length;
      pr = per.reduce((s, a) => s + a.pr, 0) / per.length;
    }
  }
  return {
    balancedAccuracy,
    majorityRate: majorityClassRate(labels, classes),
    rocAuc: roc,
    prAuc: pr,
  };
}

/**
 * A warning when accuracy is no better than always predicting the majority class (within half a
 * percentage point): the model has learnt nothing accuracy can show.
 */
export function majorityWarning(accuracy: number, majorityRate: number): string[] {
  if (!(accuracy <= majorityRate + 0.005)) return [];
  return [
    `accuracy ${(accuracy * 100).toFixed(1)} % is no better than always predicting the majority class (${(majorityRate * 100).toFixed(1)} %): judge the model by balanced accuracy and AUC`,
  ];
}
