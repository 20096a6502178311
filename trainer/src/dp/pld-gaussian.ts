// The privacy loss distribution of the Poisson-subsampled Gaussian mechanism, discretised by
// "connecting the dots":
//
// V. Doroshenko, B. Ghazi, P. Kamath, R. Kumar, P. Manurangsi, "Connect the Dots: Tighter
// Discrete Approximations of Privacy Loss Distributions", PoPETs 2022 (arXiv:2207.04380).
//
// Under the add/remove relation one step with sampling rate q and noise multiplier σ is dominated
// by two pairs (sensitivity 1, noise N(0, σ²)):
//   remove: P = (1 − q)·N(0, σ²) + q·N(1, σ²)  against  Q = N(0, σ²),
//   add:    P = N(0, σ²)                       against  Q = (1 − q)·N(0, σ²) + q·N(1, σ²),
// and a composition's ε is the larger of the two pairs' composed ε (Zhu, Dong, Wang, "Optimal
// accounting of differential privacy via characteristic function", AISTATS 2022, Sec. 5).
//
// Connect-the-dots: compute the pair's exact hockey-stick curve δ(ε) at grid points ε_k = k·h
// and choose the discrete PLD on those points whose curve, as a function of e^ε, is the
// piecewise-linear interpolation of the exact one (through (e^ε = 0, δ = 1) below the grid,
// flat at δ(ε_n) — as mass at L = ∞ — above it). δ(ε) of any pair is convex in e^ε, so the
// interpolation lies above it everywhere: the discrete PLD dominates the mechanism, and
// composition preserves domination. The masses follow from the slopes s_k of the pieces:
// ω_k = e^{ε_k}·(s_k − s_{k−1}).
import type { DiscretePld } from './pld';
import { truncateTails } from './pld';
import { logErfc } from './special-functions';

/** Tail of the Gaussian beyond which the grid stops: Φ̄(10) ≈ 7.6e-24. */
const GRID_TAIL_Z = 10;

/** Default grid step of the privacy loss, as in dp_accounting's PLD accountant. */
export const DEFAULT_PLD_INTERVAL = 1e-4;

/** Which of the two dominating pairs. */
export type NeighbourDirection = 'remove' | 'add';

/** Φ̄(z) = P(N(0, 1) > z), accurate far into both tails. */
function upperTail(z: number): number {
  return 0.5 * Math.exp(logErfc(z / Math.SQRT2));
}

/** The exact hockey-stick curve and loss range of one step of the subsampled Gaussian. */
export interface SubsampledGaussianPair {
  /** δ(ε) of the pair. */
  delta(epsilon: number): number;
  /** Losses outside [lowest, highest] carry at most ~1e-23 of the mass. */
  lowest: number;
  highest: number;
}

/** The dominating pair of one step in the given direction. */
export function subsampledGaussianPair(
  samplingRate: number,
  noiseMultiplier: number,
  direction: NeighbourDirection,
): SubsampledGaussianPair {
  const q = samplingRate;
  const sigma = noiseMultiplier;
  if (!(q > 0 && q <= 1)) throw new RangeError(`The sampling rate must lie in (0, 1], not ${q}.`);
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    throw new RangeError(`The noise multiplier must be a positive number, not ${sigma}.`);
  }
  const s2 = sigma * sigma;
  const logKeep = Math.log1p(-q); // log(1 − q); −∞ when q = 1
  // log(1 − q + q·e^{(2x − 1)/(2σ²)}): the remove pair's loss at x (the add pair's is minus it).
  const mixtureLoss = (x: number): number => {
    const a = Math.log(q) + (2 * x - 1) / (2 * s2);
    const hi = Math.max(a, logKeep);
    return hi + Math.log(Math.exp(a - hi) + Math.exp(logKeep - hi));
  };
  const xLow = -sigma * GRID_TAIL_Z;
  const xHigh = 1 + sigma * GRID_TAIL_Z;
  if (direction === 'remove') {
    return {
      lowest: q < 1 ? logKeep : mixtureLoss(xLow),
      highest: mixtureLoss(xHigh),
      delta(epsilon) {
        if (q < 1 && epsilon <= logKeep) return -Math.expm1(epsilon);
        // L(x) > ε ⇔ x > x*; e^ε − (1 − q) = expm1(ε) + q.
        const excess = Math.expm1(epsilon) + q;
        const xStar = s2 * Math.log(excess / q) + 0.5;
        const value = q * upperTail((xStar - 1) / sigma) - excess * upperTail(xStar / sigma);
        return Math.min(1, Math.max(0, value));
      },
    };
  }
  return {
    lowest: -mixtureLoss(sigma * GRID_TAIL_Z),
    highest: q < 1 ? -logKeep : -mixtureLoss(-sigma * GRID_TAIL_Z),
    delta(epsilon) {
      if (q < 1 && epsilon >= -logKeep) return 0;
      // L(x) > ε ⇔ x < x*; e^{−ε} − (1 − q) = expm1(−ε) + q.
      const xStar = s2 * Math.log((Math.expm1(-epsilon) + q) / q) + 0.5;
      const e = Math.exp(epsilon);
      const value =
        upperTail(-xStar / sigma) * (1 - e * (1 - q)) - e * q * upperTail((1 - xStar) / sigma);
      return Math.min(1, Math.max(0, value));
    },
  };
}

/**
 * The connect-the-dots PLD of a pair on the grid of step `interval`, covering [lowest, highest].
 * Dominates the pair (see the module comment).
 */
export function connectTheDots(
  pair: Readonly<SubsampledGaussianPair>,
  interval = DEFAULT_PLD_INTERVAL,
): DiscretePld {
  const first = Math.floor(pair.lowest / interval);
  const last = Math.max(first + 1, Math.ceil(pair.highest / interval));
  const n = last - first + 1;
  const t = new Float64Array(n);
  const g = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const epsilon = (first + k) * interval;
    t[k] = Math.exp(epsilon);
    g[k] = pair.delta(epsilon);
  }
  const masses = new Float64Array(n);
  // The piece below the grid joins (e^ε = 0, δ = 1), the piece above it is flat (slope 0).
  let previousSlope = ((g[0] as number) - 1) / (t[0] as number);
  const growth = Math.expm1(interval);
  for (let k = 0; k < n; k++) {
    const slope =
      k + 1 < n ? ((g[k + 1] as number) - (g[k] as number)) / ((t[k] as number) * growth) : 0;
    masses[k] = Math.max(0, (t[k] as number) * (slope - previousSlope));
    previousSlope = slope;
  }
  return truncateTails(
    { interval, offset: first, masses, infinityMass: g[n - 1] as number },
    // Only rounding noise is dropped here; the tails were already cut at ~1e-23.
    0,
  );
}
