// The numeric form training works on: a dense row-major feature matrix and integer class labels.

/** Preprocessed examples, ready for training or evaluation. */
export interface Dataset {
  /** rows × featureDim feature values, row-major. */
  features: Float32Array;
  /** Class index of each row. */
  labels: Int32Array;
  rows: number;
  featureDim: number;
  /** Class names, in output-unit order. */
  classes: string[];
}

/** The rows of `data` at `indices`, in that order. */
export function selectRows(data: Dataset, indices: ArrayLike<number>): Dataset {
  const d = data.featureDim;
  const features = new Float32Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    features.set(data.features.subarray(i * d, (i + 1) * d), k * d);
    labels[k] = data.labels[i] as number;
  }
  return { features, labels, rows: indices.length, featureDim: d, classes: data.classes };
}

/** Concatenates datasets with the same feature layout and classes (the centralised pool). */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  const first = parts[0];
  if (!first) throw new RangeError('concatDatasets needs at least one dataset.');
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const features = new Float32Array(rows * first.featureDim);
  const labels = new Int32Array(rows);
  let offset = 0;
  for (const p of parts) {
    if (p.featureDim !== first.featureDim || p.classes.join('\n') !== first.classes.join('\n')) {
      throw new RangeError('Datasets to pool must share their feature layout and classes.');
    }
    features.set(p.features, offset * first.featureDim);
    labels.set(p.labels, offset);
    offset += p.rows;
  }
  return { features, labels, rows, featureDim: first.featureDim, classes: first.classes };
}

/** Number of rows of each class. */
export function classCounts(data: Pick<Dataset, 'labels' | 'classes'>): number[] {
  const counts = data.classes.map(() => 0);
  for (const l of data.labels) counts[l] = (counts[l] as number) + 1;
  return counts;
}
