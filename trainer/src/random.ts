// Random sources: a seedable generator for reproducible data and tests, and a cryptographic one for
// privacy noise. Differential privacy is only as strong as the secrecy of its noise, so the
// privacy code defaults to `cryptoRandom()`; the seeded generator exists for tests and for the
// synthetic data, where reproducibility is the point.
import { randomFillSync } from 'node:crypto';

/** A source of uniform and Gaussian random numbers. */
export interface RandomSource {
  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number;
  /** A standard normal N(0, 1) draw. */
  gaussian(): number;
  /** Fills `out` with independent N(0, std²) draws and returns it. */
  fillGaussian(out: Float32Array | Float64Array, std: number): Float32Array | Float64Array;
  /** A uniform integer in [0, n). */
  integer(n: number): number;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** Fills its argument with the next random 32-bit words of a stream, in order. */
type WordRefill = (words: Uint32Array) => void;

/** Words are drawn from a source in blocks of this many (the order of the stream is unchanged). */
const BLOCK = 4096;

/**
 * A reproducible generator (sfc32, seeded through splitmix32). Same seed, same sequence, on every
 * platform. Not cryptographically secure: use it for synthetic data and tests only.
 */
export function seededRandom(seed: number | string): RandomSource {
  let s = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return fromWords((words) => {
    for (let i = 0; i < words.length; i++) words[i] = next();
  });
}

/** Randomness from the operating system's CSPRNG (node:crypto); the default for DP noise. */
export function cryptoRandom(): RandomSource {
  return fromWords((words) => randomFillSync(words));
}

// Every source reads its words from one block buffer here, so the hot paths (uniform, the noise
// loop) make no call through a per-source function; only the block refill differs.
function fromWords(refill: WordRefill): RandomSource {
  const block = new Uint32Array(BLOCK);
  let index = BLOCK;
  const next = (): number => {
    if (index === BLOCK) {
      refill(block);
      index = 0;
    }
    return block[index++] as number;
  };
  let spare: number | undefined;
  const uniform = (): number => {
    const hi = next() >>> 5; // 27 bits
    const lo = next() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  };
  const gaussian = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // Box–Muller: exact, and its consumption of uniforms is fixed, which keeps seeds stable.
    let u = uniform();
    while (u === 0) u = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  return {
    uniform,
    gaussian,
    fillGaussian(out, std) {
      // The same values, in the same order, as calling gaussian() for each element; with the
      // Box–Muller pairs unrolled here, since DP-SGD draws one per parameter at every step.
      const n = out.length;
      let i = 0;
      if (n > 0 && spare !== undefined) {
        out[i++] = gaussian() * std;
      }
      while (i + 1 < n) {
        let u = uniform();
        while (u === 0) u = uniform();
        const radius = Math.sqrt(-2 * Math.log(u));
        const angle = 2 * Math.PI * uniform();
        out[i++] = radius * Math.cos(angle) * std;
        out[i++] = radius * Math.sin(angle) * std;
      }
      if (i < n) out[i] = gaussian() * std;
      return out;
    },
    integer(n) {
      if (!Number.isSafeInteger(n) || n <= 0 || n > TWO_POW_32) {
        throw new RangeError(`integer(n) needs 0 < n <= 2^32, not ${n}.`);
      }
      // Rejection sampling avoids modulo bias.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let word = next();
      while (word >= limit) word = next();
      return word % n;
    },
  };
}

function hashString(text: string): number {
  // FNV-1a, enough to turn a textual seed into a 32-bit one.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Fisher–Yates shuffle of `items` in place, driven by `random`. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: RandomSource): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    const tmp = items[i] as T & number;
    items[i] = items[j] as T & number;
    items[j] = tmp;
  }
}
