// The run's secure-aggregation settings: the Shamir threshold, the fixed-point encoding (range and
// fraction bits) and the phase timeout, validated once and given sensible defaults.
//
// Resolution and error. A coordinate is encoded as round(x · 2^f), so each hospital's encoding is
// off by at most 2^-(f+1) and the decoded sum of n hospitals by at most n · 2^-(f+1) per
// coordinate (clamping aside). The default f = 26 gives a resolution of 2^-26 ≈ 1.49e-8 and, for
// n = 3, an error of at most 3 · 2^-27 ≈ 2.24e-8 per coordinate of the weighted sum; the sum
// decodes correctly while its magnitude stays below 2^(31-f) = 32 (the range 16 leaves headroom).
import { SecAggError } from '../errors';
import { MAX_PARTIES } from './shares';
import type { SecAggSettings } from './types';

const FIELDS = [
  'threshold',
  'range',
  'fractionBits',
  'weightScale',
  'phaseSeconds',
  'minSurvivors',
] as const;

/** Default clamp of a weighted coordinate. */
export const DEFAULT_RANGE = 16;
/** Default fixed-point fraction bits. */
export const DEFAULT_FRACTION_BITS = 26;
/** Default seconds per phase. */
export const DEFAULT_PHASE_SECONDS = 60;

function refuse(message: string): SecAggError {
  return new SecAggError('SECAGG_SETTINGS', `secure-aggregation settings: ${message}`);
}

/**
 * Validated settings for a run of `participants` hospitals: 2 ≤ threshold ≤ participants ≤ 255,
 * range > 0, integer fractionBits in [0, 30] with range · 2^fractionBits < 2^31, weightScale a
 * positive integer, phaseSeconds > 0, and no other fields.
 * @throws {SecAggError} SECAGG_SETTINGS naming the first field out of bounds.
 */
export function checkSettings(s: unknown, participants: number): SecAggSettings {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw refuse('must be an object');
  const r = s as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw refuse(`unexpected field "${key}"`);
  }
  const num = (key: (typeof FIELDS)[number]): number => {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw refuse(`${key} must be a finite number`);
    return v;
  };
  const threshold = num('threshold');
  const range = num('range');
  const fractionBits = num('fractionBits');
  const weightScale = num('weightScale');
  const phaseSeconds = num('phaseSeconds');
  const minSurvivors = num('minSurvivors');
  if (!Number.isInteger(participants) || participants < 2 || participants > MAX_PARTIES) {
    throw refuse(`participants must be an integer from 2 to ${MAX_PARTIES}; got ${participants}`);
  }
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > participants) {
    throw refuse(`threshold must be an integer from 2 to ${participants}; got ${threshold}`);
  }
  if (!Number.isInteger(fractionBits) || fractionBits < 0 || fractionBits > 30) {
    throw refuse(`fractionBits must be an integer from 0 to 30; got ${fractionBits}`);
  }
  if (range <= 0) throw refuse(`range must be positive; got ${range}`);
  if (range * 2 ** fractionBits >= 2 ** 31) {
    throw refuse(`range · 2^fractionBits must be below 2^31; got ${range} · 2^${fractionBits}`);
  }
  if (!Number.isSafeInteger(weightScale) || weightScale <= 0) {
    throw refuse(`weightScale must be a positive integer; got ${weightScale}`);
  }
  if (phaseSeconds <= 0) throw refuse(`phaseSeconds must be positive; got ${phaseSeconds}`);
  if (!Number.isInteger(minSurvivors) || minSurvivors < 2 || minSurvivors > participants) {
    throw refuse(`minSurvivors must be an integer from 2 to ${participants}; got ${minSurvivors}`);
  }
  return { threshold, range, fractionBits, weightScale, phaseSeconds, minSurvivors };
}

/**
 * Defaults for `participants` hospitals whose declared sample counts sum to `weightScale`: a
 * majority threshold floor(n/2) + 1 (at least 2), so no minority can recover a secret and a
 * majority's shares are enough after dropouts; range 16; 26 fraction bits (see the module header
 * for the resulting resolution and error bound); 60 s per phase.
 * @throws {SecAggError} SECAGG_SETTINGS for fewer than 2 participants or a bad weightScale.
 */
export function defaultSecAggSettings(participants: number, weightScale: number): SecAggSettings {
  return checkSettings(
    {
      threshold: Math.max(2, Math.floor(participants / 2) + 1),
      range: DEFAULT_RANGE,
      fractionBits: DEFAULT_FRACTION_BITS,
      weightScale,
      phaseSeconds: DEFAULT_PHASE_SECONDS,
      minSurvivors: Math.min(3, participants),
    },
    participants,
  );
}

/**
 * The secure-aggregation settings of a run, checked against the run itself, by the contract at
 * creation and by every hospital before it masks: beyond {@link checkSettings}, weights divided by
 * the sum of the declared sample counts (a larger divisor would quantise every update to zero, a
 * smaller one wrap the sum), a majority threshold (fewer colluders than that cannot recover a
 * secret), at least 16 fraction bits and a range of at least 1.
 * @throws {SecAggError} SECAGG_SETTINGS naming what is off.
 */
export function checkRunSecAggSettings(
  s: unknown,
  participants: readonly string[],
  sampleCounts: Readonly<Record<string, number>>,
): SecAggSettings {
  const settings = checkSettings(s, participants.length);
  const declared = participants.reduce((n, msp) => n + (sampleCounts[msp] ?? 0), 0);
  if (settings.weightScale !== declared) {
    throw refuse(
      `weightScale must be the sum of the declared sample counts (${declared}); got ${settings.weightScale}`,
    );
  }
  const majority = Math.max(2, Math.floor(participants.length / 2) + 1);
  if (settings.threshold < majority) {
    throw refuse(
      `threshold must be at least a majority of the participants (${majority}); got ${settings.threshold}`,
    );
  }
  if (settings.fractionBits < 16) {
    throw refuse(`fractionBits must be at least 16; got ${settings.fractionBits}`);
  }
  if (settings.range < 1) throw refuse(`range must be at least 1; got ${settings.range}`);
  return settings;
}
