// Numerical special functions the Rényi-DP accountant needs: log|Γ(x)| and log(erfc(x)),
// both accurate to ~1e-14 relative over the ranges the accountant uses.

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** log|Γ(x)| for real x that is not a non-positive integer (Lanczos, with reflection below 0.5). */
export function logAbsGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logAbsGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS_G + 2; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** log of the binomial coefficient C(n, k) for real n, k (absolute value, via log|Γ|). */
export function logBinomial(n: number, k: number): number {
  return logAbsGamma(n + 1) - logAbsGamma(k + 1) - logAbsGamma(n - k + 1);
}

/** log(erfc(x)), stable for large positive x where erfc underflows, and exact to 2 for x ≪ 0. */
export function logErfc(x: number): number {
  if (x < 0) {
    // erfc(x) = 2 − erfc(−x). The series for erf alone would be truncated for large |x| (its terms
    // grow up to e^{x²} before they fall), which once turned erfc(−15) into 1 instead of 2.
    return Math.log(2 - Math.exp(logErfc(-x)));
  }
  if (x < 2) {
    // erfc(x) = 1 − erf(x) loses at most ~2e-14 relative for 0 ≤ x < 2 (erfc(2) ≈ 4.7e-3).
    return Math.log(1 - erfSeries(x));
  }
  // erfc(x) = exp(−x²)/√π · K(x) with K from the classical continued fraction (Lentz).
  return -x * x - 0.5 * Math.log(Math.PI) + Math.log(erfcContinuedFraction(x));
}

/** erf(x) for 0 ≤ x < 2 only, from its Maclaurin series (alternating-free form, no cancellation). */
function erfSeries(x: number): number {
  // erf(x) = 2/√π · exp(−x²) · Σ_n 2^n x^(2n+1) / (1·3·…·(2n+1))
  let term = x;
  let sum = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/** K(x) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) for x ≥ 2, by the modified Lentz method. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** log(exp(a) + exp(b)) without overflow. */
export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}
