// Classification metrics from predicted class probabilities: cross-entropy, accuracy, and macro
// precision / recall / F1 (unweighted means over classes, so rare outcomes count as much as common).

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
