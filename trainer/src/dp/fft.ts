// Linear convolution of non-negative real sequences by the fast Fourier transform (iterative
// radix-2 Cooley–Tukey on float64), which composing privacy loss distributions needs: a direct
// convolution of two 50,000-bucket distributions would take 2.5·10⁹ multiplications, and the
// k-fold cyclic self-convolution is one transform, a k-th power per frequency and one inverse.

/** In-place FFT of (re, im), whose length is a power of two; `inverse` also divides by n. */
function transform(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const angle = ((inverse ? 2 : -2) * Math.PI) / size;
    // Twiddles computed directly (not by repeated multiplication) keep the error at ~1e-16 · log n.
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    for (let k = 0; k < half; k++) {
      cos[k] = Math.cos(angle * k);
      sin[k] = Math.sin(angle * k);
    }
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const wr = cos[k] as number;
        const wi = sin[k] as number;
        const br = re[b] as number;
        const bi = im[b] as number;
        const xr = br * wr - bi * wi;
        const xi = br * wi + bi * wr;
        const ar = re[a] as number;
        const ai = im[a] as number;
        re[a] = ar + xr;
        im[a] = ai + xi;
        re[b] = ar - xr;
        im[b] = ai - xi;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = (re[i] as number) / n;
      im[i] = (im[i] as number) / n;
    }
  }
}

/**
 * The linear convolution c[k] = Σ_i a[i]·b[k − i], of length |a| + |b| − 1. Short inputs are
 * convolved directly; the FFT's rounding (~1e-16 of the largest entry) can leave tiny negative
 * entries, which callers treat as zero.
 */
export function convolve(a: Float64Array, b: Float64Array): Float64Array {
  const length = a.length + b.length - 1;
  if (a.length === 0 || b.length === 0) return new Float64Array(0);
  if (Math.min(a.length, b.length) <= 64) {
    const out = new Float64Array(length);
    for (let i = 0; i < a.length; i++) {
      const ai = a[i] as number;
      if (ai === 0) continue;
      for (let j = 0; j < b.length; j++)
        out[i + j] = (out[i + j] as number) + ai * (b[j] as number);
    }
    return out;
  }
  let n = 1;
  while (n < length) n <<= 1;
  // Both real inputs in one complex transform: z = a + i·b, then A·B from z's spectrum.
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(a);
  im.set(b);
  transform(re, im, false);
  const pr = new Float64Array(n);
  const pi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const m = (n - k) & (n - 1);
    const zr = re[k] as number;
    const zi = im[k] as number;
    const cr = re[m] as number;
    const ci = -(im[m] as number);
    // A = (z + conj(z_{-k}))/2, B = (z − conj(z_{-k}))/(2i); A·B = (z² − conj(z_{-k})²)/(4i).
    const z2r = zr * zr - zi * zi;
    const z2i = 2 * zr * zi;
    const c2r = cr * cr - ci * ci;
    const c2i = 2 * cr * ci;
    const dr = z2r - c2r;
    const di = z2i - c2i;
    pr[k] = di / 4;
    pi[k] = -dr / 4;
  }
  transform(pr, pi, true);
  return pr.slice(0, length);
}

/**
 * The k-fold cyclic self-convolution of `a` (placed at positions 0…|a|−1) on a cycle of length n,
 * a power of two: position p holds the sum of the linear k-fold convolution over indices ≡ p
 * (mod n). Rounding grows like k·1e-16 relative to the largest entry.
 */
export function cyclicSelfConvolve(a: Float64Array, n: number, k: number): Float64Array {
  if (n & (n - 1) || n < a.length) {
    throw new RangeError(`The cycle must be a power of two of at least ${a.length}, not ${n}.`);
  }
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(a);
  transform(re, im, false);
  for (let i = 0; i < n; i++) {
    // z^k in polar form: |z|^k · e^{ikθ}.
    const r = Math.hypot(re[i] as number, im[i] as number);
    if (r === 0) continue;
    const theta = Math.atan2(im[i] as number, re[i] as number) * k;
    const magnitude = Math.pow(r, k);
    re[i] = magnitude * Math.cos(theta);
    im[i] = magnitude * Math.sin(theta);
  }
  transform(re, im, true);
  return re;
}
