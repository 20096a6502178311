// Rényi differential privacy of the Gaussian and the Poisson-subsampled Gaussian mechanisms, and
// the conversion from RDP to (ε, δ)-DP.
//
// Implements:
// - I. Mironov, "Rényi Differential Privacy", CSF 2017 (arXiv:1702.07476): RDP of the Gaussian
//   mechanism ε(α) = α / (2σ²), additive composition, and the classic conversion
//   ε = ε(α) + log(1/δ) / (α − 1) (Proposition 3).
// - I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian
//   Mechanism", 2019 (arXiv:1908.10530): log A_α for integer α (Sec. 3.2) and fractional α
//   (Sec. 3.3), as computed by TensorFlow Privacy / Google dp_accounting and Opacus.
// - B. Balle, G. Barthe, M. Gaboardi, J. Hsu, T. Sato, "Hypothesis Testing Interpretations and
//   Rényi Differential Privacy", AISTATS 2020 (arXiv:1905.09982, Theorem 21), equivalently
//   C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for Differential Privacy", 2020
//   (arXiv:2004.00010, Proposition 12): the improved conversion
//   ε = ε(α) + log((α − 1)/α) − (log δ + log α)/(α − 1), which is what dp_accounting and
//   Opacus use today. Both conversions are available; the improved one is the default.
//
// Neighbouring relation: add/remove one record (the relation these analyses assume).
import { logAdd, logBinomial, logErfc } from './special-functions';

/** The orders Google's dp_accounting uses by default (and Opacus, up to the integer tail). */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128,
  256,
  512,
  1024,
]);

/** How RDP is turned into (ε, δ): Mironov 2017 Prop. 3, or Balle et al. 2020 / CKS 2020. */
export type RdpConversion = 'classic' | 'improved';

/** RDP of the Gaussian mechanism with noise multiplier σ (std / L2 sensitivity) at each order. */
export function rdpGaussian(noiseMultiplier: number, orders: readonly number[]): number[] {
  checkNoise(noiseMultiplier);
  return orders.map((alpha) => alpha / (2 * noiseMultiplier * noiseMultiplier));
}

/**
 * RDP of one step of the Poisson-subsampled Gaussian mechanism (sampling rate q, noise
 * multiplier σ) at each order, per Mironov, Talwar and Zhang 2019.
 */
export function rdpSubsampledGaussian(
  samplingRate: number,
  noiseMultiplier: number,
  orders: readonly number[],
): number[] {
  if (!(samplingRate >= 0 && samplingRate <= 1)) {
    throw new RangeError(`The sampling rate must lie in [0, 1], not ${samplingRate}.`);
  }
  checkNoise(noiseMultiplier);
  return orders.map((alpha) => {
    if (samplingRate === 0) return 0;
    if (noiseMultiplier === 0 || !Number.isFinite(alpha)) return Infinity;
    if (samplingRate === 1) return alpha / (2 * noiseMultiplier * noiseMultiplier);
    const logA = Number.isInteger(alpha)
      ? logAInteger(samplingRate, noiseMultiplier, alpha)
      : logAFractional(samplingRate, noiseMultiplier, alpha);
    return logA / (alpha - 1);
  });
}

function checkNoise(noiseMultiplier: number): void {
  if (!(noiseMultiplier >= 0) || !Number.isFinite(noiseMultiplier)) {
    throw new RangeError(
      `The noise multiplier must be a finite number ≥ 0, not ${noiseMultiplier}.`,
    );
  }
}

/** log A_α for integer α: a binomial expansion of E[(1 − q + q·e^{…})^α] (MTZ19, Sec. 3.2). */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  const logQ = Math.log(q);
  const log1mq = Math.log1p(-q);
  for (let i = 0; i <= alpha; i++) {
    const logCoef = logBinomial(alpha, i) + i * logQ + (alpha - i) * log1mq;
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/**
 * log A_α for fractional α: two convergent series split at z₀ (MTZ19, Sec. 3.3). The binomial
 * coefficients C(α, i) change sign once i exceeds α, so their terms are subtracted, not added.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mq = Math.log1p(-q);
  const sqrt2Sigma = Math.SQRT2 * sigma;
  let lastS0 = -Infinity;
  let lastS1 = -Infinity;
  for (let i = 0; i < 1000; i++) {
    const logCoef = logBinomial(alpha, i);
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mq;
    const logT1 = logCoef + j * logQ + i * log1mq;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sqrt2Sigma);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sqrt2Sigma);
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (binomialSign(alpha, i) > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    const total = logAdd(logA0, logA1);
    if (Number.isNaN(total)) return Infinity;
    if (logS0 < lastS0 && logS1 < lastS1 && Math.max(logS0, logS1) < total - 30) return total;
    lastS0 = logS0;
    lastS1 = logS1;
  }
  // Did not converge: this order gives no usable bound (dp_accounting excludes it the same way).
  return Infinity;
}

/** The sign of C(α, i) = α(α−1)…(α−i+1)/i! for real α > 0: one factor turns negative per i > α. */
function binomialSign(alpha: number, i: number): number {
  const negativeFactors = Math.max(0, i - Math.floor(alpha) - 1);
  return negativeFactors % 2 === 0 ? 1 : -1;
}

/** log(exp(a) − exp(b)) for a ≥ b; NaN when b > a (the partial sum would be negative). */
function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (b > a) return NaN;
  if (b === a) return -Infinity;
  return a + Math.log1p(-Math.exp(b - a));
}

/** The (ε, order) pair a conversion yields. */
export interface EpsilonAtOrder {
  epsilon: number;
  /** The Rényi order α at which the bound is tightest. */
  order: number;
}

/**
 * Converts an RDP curve to the smallest ε over all orders for the given δ.
 * @throws {RangeError} when δ is not in (0, 1) or the arrays differ in length.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = 'improved',
): EpsilonAtOrder {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must lie in (0, 1), not ${delta}.`);
  if (orders.length !== rdp.length) {
    throw new RangeError('The orders and the RDP values must have the same length.');
  }
  let best: EpsilonAtOrder = { epsilon: Infinity, order: NaN };
  orders.forEach((alpha, k) => {
    const r = rdp[k] as number;
    let epsilon: number;
    if (alpha <= 1 || !Number.isFinite(r)) return;
    if (conversion === 'classic') {
      epsilon = r - Math.log(delta) / (alpha - 1);
    } else if (delta * delta + Math.expm1(-r) > 0) {
      epsilon = 0; // the KL bound δ ≤ sqrt(1 − e^{−r}) already holds (as in dp_accounting)
    } else if (alpha > 1.01) {
      epsilon = r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
    } else {
      return;
    }
    if (epsilon < best.epsilon) best = { epsilon: Math.max(0, epsilon), order: alpha };
  });
  return best;
}
