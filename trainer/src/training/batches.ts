// Batch preparation shared by both training engines, so that the same random source gives both
// the same batches: plain training shuffles the rows once per epoch and reads batches as
// contiguous slices; DP-SGD draws Poisson batches into buffers that are reused step after step.
import type { Dataset } from '../data/dataset';
import type { RandomSource } from '../random';
import { shuffleInPlace } from '../random';

/** The training rows in one epoch's order, rebuilt in place by {@link EpochBatches.shuffle}. */
export interface EpochBatches {
  /** rows × featureDim, in this epoch's order. */
  readonly features: Float32Array;
  /** Labels in this epoch's order. */
  readonly labels: Int32Array;
  /** Draws the next epoch's order (a Fisher–Yates shuffle of the previous one) and gathers it. */
  shuffle(): void;
}

/** Epoch buffers for `data`, allocated once; the order comes from `random`. */
export function newEpochBatches(data: Dataset, random: RandomSource): EpochBatches {
  const d = data.featureDim;
  const order = Int32Array.from({ length: data.rows }, (_, i) => i);
  const features = new Float32Array(data.rows * d);
  const labels = new Int32Array(data.rows);
  return {
    features,
    labels,
    shuffle() {
      shuffleInPlace(order, random);
      for (let k = 0; k < order.length; k++) {
        const r = order[k] as number;
        features.set(data.features.subarray(r * d, (r + 1) * d), k * d);
        labels[k] = data.labels[r] as number;
      }
    },
  };
}

/** A Poisson-sampled batch in reusable buffers. */
export interface PoissonBatch {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
}

/**
 * Poisson sampling with rate `q` into `batch` (grown when too small): the draws and the rows are
 * exactly those of ../dp/dp-sgd.ts's `poissonSample` for the same random state.
 */
export function samplePoissonInto(
  data: Dataset,
  q: number,
  random: RandomSource,
  batch: PoissonBatch,
): void {
  const d = data.featureDim;
  let count = 0;
  const put = (i: number): void => {
    if (count === batch.labels.length) {
      const grown = Math.max(16, 2 * count);
      const features = new Float32Array(grown * d);
      features.set(batch.features);
      const labels = new Int32Array(grown);
      labels.set(batch.labels);
      batch.features = features;
      batch.labels = labels;
    }
    batch.features.set(data.features.subarray(i * d, (i + 1) * d), count * d);
    batch.labels[count] = data.labels[i] as number;
    count += 1;
  };
  if (q >= 1) {
    for (let i = 0; i < data.rows; i++) put(i);
  } else {
    const logKeep = Math.log1p(-q);
    for (let i = -1; ;) {
      const u = 1 - random.uniform(); // (0, 1]
      i += 1 + Math.floor(Math.log(u) / logKeep);
      if (i >= data.rows) break;
      put(i);
    }
  }
  batch.rows = count;
}
