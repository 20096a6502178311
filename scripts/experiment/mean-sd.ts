// Mean ± sample standard deviation over an arm's repeats, and how the report prints it.

/** Mean and sample standard deviation (0 for one value). */
export interface MeanSd {
  mean: number;
  sd: number;
  n: number;
}

export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  if (n === 0) return { mean: NaN, sd: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/**
 * `mean ± sd` in `format`; one value alone (n = 1 has no spread to show, and "± 0.0" would claim
 * one); `—` for none.
 */
export function meanSdText(m: MeanSd, format: (x: number) => string): string {
  if (m.n === 0) return '—';
  if (m.n === 1) return format(m.mean);
  return `${format(m.mean)} ± ${format(m.sd)}`;
}
