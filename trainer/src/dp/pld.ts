// Discrete privacy loss distributions (PLDs): composition by convolution and the conversion to
// (ε, δ) through the hockey-stick divergence.
//
// A PLD of a pair of distributions (P, Q) is the law of the privacy loss L = log(P(x)/Q(x)) for
// x ~ P. Its hockey-stick curve δ(ε) = E[(1 − e^{ε − L})₊] is the smallest δ for which the pair
// is (ε, δ)-indistinguishable; composing mechanisms adds independent losses, so the composed PLD
// is the convolution of the parts (Sommer, Meiser, Mohammadi, "Privacy loss classes", PoPETs
// 2019; Koskela, Jälkö, Honkela, AISTATS 2020). Losses live on a grid of step h; mass that a
// truncation drops is always moved to a larger loss (or to L = ∞), so every operation here only
// ever raises δ(ε): the result stays an upper bound.
import { convolve, cyclicSelfConvolve } from './fft';

/** A PLD on the grid {(offset + i)·h}, with the mass of L = +∞ kept apart. */
export interface DiscretePld {
  /** Grid step h of the privacy loss. */
  interval: number;
  /** Index of masses[0] on the grid: its loss is offset·h. */
  offset: number;
  /** Probability (under P) of each loss value. */
  masses: Float64Array;
  /** Probability (under P) of an infinite loss: outputs Q never produces (or truncated tails). */
  infinityMass: number;
}

/** Default mass a composition may drop from each tail (moved pessimistically, never lost). */
export const DEFAULT_TAIL_TRUNCATION = 1e-15;

/**
 * Moves up to `tail` of the mass at each end inward (lower tail onto the first kept loss) or to
 * L = ∞ (upper tail), and treats rounding noise below zero as zero. Both moves raise δ(ε).
 */
export function truncateTails(
  pld: Readonly<DiscretePld>,
  tail = DEFAULT_TAIL_TRUNCATION,
): DiscretePld {
  const m = pld.masses;
  let lo = 0;
  let lower = 0;
  while (lo < m.length - 1 && lower + Math.max(0, m[lo] as number) <= tail) {
    lower += Math.max(0, m[lo] as number);
    lo++;
  }
  let hi = m.length - 1;
  let upper = 0;
  while (hi > lo && upper + Math.max(0, m[hi] as number) <= tail) {
    upper += Math.max(0, m[hi] as number);
    hi--;
  }
  const masses = new Float64Array(hi - lo + 1);
  for (let i = lo; i <= hi; i++) masses[i - lo] = Math.max(0, m[i] as number);
  masses[0] = (masses[0] as number) + lower;
  return {
    interval: pld.interval,
    offset: pld.offset + lo,
    masses,
    infinityMass: Math.min(1, pld.infinityMass + upper),
  };
}

/** The PLD of running both mechanisms (independent losses add). Same grid step required. */
export function composePlds(
  a: Readonly<DiscretePld>,
  b: Readonly<DiscretePld>,
  tail = DEFAULT_TAIL_TRUNCATION,
): DiscretePld {
  if (a.interval !== b.interval) {
    throw new RangeError(`PLDs on grids ${a.interval} and ${b.interval} cannot be composed.`);
  }
  return truncateTails(
    {
      interval: a.interval,
      offset: a.offset + b.offset,
      masses: convolve(a.masses, b.masses),
      // Infinite loss in either part makes the composed loss infinite.
      infinityMass: 1 - (1 - a.infinityMass) * (1 - b.infinityMass),
    },
    tail,
  );
}

/**
 * The PLD of `count` independent runs of one mechanism. A Chernoff bound on the composed loss,
 * P(S > u) ≤ exp(count·log E[e^{λL}] − λu) and its mirror for the lower tail, gives a window
 * holding all but `tail` of the mass at each end; one cyclic FFT of that window's size raises the
 * PLD to the power `count`. Mass outside the window folds back into it: from below it lands on a
 * larger loss (pessimistic); from above, at most `tail`, it could land lower, so `tail` is added
 * to the mass at L = ∞.
 */
export function selfComposePld(
  pld: Readonly<DiscretePld>,
  count: number,
  tail = DEFAULT_TAIL_TRUNCATION,
): DiscretePld {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`A PLD is composed a whole number of times, not ${count}.`);
  }
  if (count === 0) return identityPld(pld.interval);
  if (count === 1) return truncateTails(pld, 0);
  const h = pld.interval;
  const last = pld.masses.length - 1;
  let upper = count * (pld.offset + last);
  let lower = count * pld.offset;
  const logTail = Math.log(tail);
  const { losses, masses: weights } = support(pld);
  for (let lambda = 1 / 64; lambda <= 4096; lambda *= 1.5) {
    const up = (count * logMgf(losses, weights, lambda) - logTail) / (lambda * h);
    const down = (count * logMgf(losses, weights, -lambda) - logTail) / (lambda * h);
    if (Number.isFinite(up)) upper = Math.min(upper, Math.ceil(up));
    if (Number.isFinite(down)) lower = Math.max(lower, Math.floor(-down));
  }
  let n = 1;
  while (n < Math.max(upper - lower + 1, pld.masses.length)) n <<= 1;
  const cyclic = cyclicSelfConvolve(pld.masses, n, count);
  // Linear index j of the k-fold sum is loss (count·offset + j)·h; keep j for losses lower…upper.
  const masses = new Float64Array(upper - lower + 1);
  const shift = lower - count * pld.offset;
  for (let i = 0; i < masses.length; i++) {
    const p = (((shift + i) % n) + n) % n;
    masses[i] = Math.max(0, cyclic[p] as number);
  }
  const finite = Math.pow(1 - pld.infinityMass, count);
  return {
    interval: h,
    offset: lower,
    masses,
    infinityMass: Math.min(1, 1 - finite + (upper < count * (pld.offset + last) ? tail : 0)),
  };
}

/** log E[e^{λL}] over the finite losses (log-sum-exp, so large λ·L cannot overflow). */
function logMgf(losses: Float64Array, masses: Float64Array, lambda: number): number {
  let max = -Infinity;
  for (let i = 0; i < losses.length; i++) max = Math.max(max, lambda * (losses[i] as number));
  let sum = 0;
  for (let i = 0; i < losses.length; i++) {
    sum += (masses[i] as number) * Math.exp(lambda * (losses[i] as number) - max);
  }
  return max + Math.log(sum);
}

/** The losses that carry mass, and their masses, for {@link logMgf}. */
function support(pld: Readonly<DiscretePld>): { losses: Float64Array; masses: Float64Array } {
  let n = 0;
  for (const mass of pld.masses) if (mass > 0) n++;
  const losses = new Float64Array(n);
  const masses = new Float64Array(n);
  let j = 0;
  pld.masses.forEach((mass, i) => {
    if (mass > 0) {
      losses[j] = (pld.offset + i) * pld.interval;
      masses[j++] = mass;
    }
  });
  return { losses, masses };
}

/** The PLD of releasing nothing: all mass at L = 0. */
export function identityPld(interval: number): DiscretePld {
  return { interval, offset: 0, masses: Float64Array.of(1), infinityMass: 0 };
}

/** δ(ε) = P(L = ∞) + Σ P(L = l)·(1 − e^{ε − l})₊, the hockey-stick divergence at e^ε. */
export function deltaForEpsilon(pld: Readonly<DiscretePld>, epsilon: number): number {
  let delta = pld.infinityMass;
  pld.masses.forEach((mass, i) => {
    const loss = (pld.offset + i) * pld.interval;
    if (loss > epsilon && mass > 0) delta -= mass * Math.expm1(epsilon - loss);
  });
  return Math.min(1, delta);
}

/**
 * The smallest ε ≥ 0 with δ(ε) ≤ delta: Infinity when the infinite-loss mass alone exceeds δ.
 * δ(ε) is linear in e^ε between grid points, so the crossing is solved exactly.
 */
export function epsilonForDelta(pld: Readonly<DiscretePld>, delta: number): number {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must lie in (0, 1), not ${delta}.`);
  if (pld.infinityMass > delta) return Infinity;
  const h = pld.interval;
  const m = pld.masses;
  const decay = Math.exp(-h);
  // Going down from the top, for k: above = Σ_{j≥k} m_j and scaled = Σ_{j≥k} m_j e^{l_{k−1} − l_j},
  // so that on [l_{k−1}, l_k) δ(ε) = ∞-mass + above − e^{ε − l_{k−1}}·scaled; δ(l_k) ≤ δ is known.
  let above = 0;
  let scaled = 0;
  let lowerLoss = 0;
  for (let k = m.length - 1; k >= 0; k--) {
    above += m[k] as number;
    scaled = (scaled + (m[k] as number)) * decay;
    lowerLoss = (pld.offset + k - 1) * h;
    if (pld.infinityMass + above - scaled > delta) break;
  }
  // The crossing lies above lowerLoss (or, when the loop ran out, on the ray below it, where the
  // same line holds).
  if (!(scaled > 0) || pld.infinityMass + above <= delta) return 0;
  return Math.max(0, lowerLoss + Math.log((pld.infinityMass + above - delta) / scaled));
}
