// Whether the hospitals of a run share validation metrics with the consortium: a run setting
// (`settings.sharedMetrics`, recorded on the ledger with the run). By default they do not: the
// metrics of a hospital's validation patients stay at the hospital. A run may instead ask for
// metrics noised by the Gaussian mechanism, whose privacy cost each hospital composes into the
// run's ε. The round rules refuse an update that carries metrics the run does not allow.

/** The run setting: metrics kept at the hospitals, or shared noised at this noise multiplier. */
export type SharedMetrics = { mode: 'none' } | { mode: 'noised'; noiseMultiplier: number };

/** Noise multiplier of shared metrics when the run names none: N(0, 50²) per confusion cell. */
export const DEFAULT_METRICS_NOISE_MULTIPLIER = 50;

/** Smallest noise multiplier a run may set for shared metrics. */
export const MIN_METRICS_NOISE_MULTIPLIER = 1;

/** Metric names a noised release may carry after `metrics.` (derived from the noised matrix). */
export const NOISED_METRIC_NAMES = [
  'accuracy',
  'macro_f1',
  'macro_precision',
  'macro_recall',
] as const;

/** The `extra` key that states the noise multiplier a hospital used for its metrics. */
export const METRICS_NOISE_MULTIPLIER_KEY = 'metrics.noise_multiplier';

/**
 * The run's shared-metrics setting from its recorded settings: absent or unreadable means
 * `none`, so nothing is ever shared by default.
 */
export function sharedMetricsOf(settings: Readonly<Record<string, unknown>>): SharedMetrics {
  const value = settings['sharedMetrics'] as Partial<Record<string, unknown>> | null | undefined;
  if (
    value &&
    value['mode'] === 'noised' &&
    typeof value['noiseMultiplier'] === 'number' &&
    value['noiseMultiplier'] >= MIN_METRICS_NOISE_MULTIPLIER
  ) {
    return { mode: 'noised', noiseMultiplier: value['noiseMultiplier'] };
  }
  return { mode: 'none' };
}

/**
 * Why a container's metric entries break the run's setting, or undefined when they keep it.
 * `none`: no `metrics.*` entry at all. `noised`: only the derived metric names and the stated
 * noise multiplier, which must be at least the run's.
 */
export function metricsViolation(
  extra: Readonly<Record<string, string>>,
  setting: SharedMetrics,
): string | undefined {
  const keys = Object.keys(extra).filter((k) => k.startsWith('metrics.'));
  if (keys.length === 0) return undefined;
  if (setting.mode === 'none') {
    return `the run keeps validation metrics at the hospitals, but the update carries ${keys.join(', ')}`;
  }
  const allowed = new Set<string>([
    METRICS_NOISE_MULTIPLIER_KEY,
    ...NOISED_METRIC_NAMES.map((n) => `metrics.${n}`),
  ]);
  const other = keys.filter((k) => !allowed.has(k));
  if (other.length > 0) {
    return `the run shares only noised ${NOISED_METRIC_NAMES.join(', ')}; the update carries ${other.join(', ')}`;
  }
  const stated = Number(extra[METRICS_NOISE_MULTIPLIER_KEY]);
  if (!(stated >= setting.noiseMultiplier)) {
    return `the update's metrics state noise multiplier ${extra[METRICS_NOISE_MULTIPLIER_KEY] ?? 'none'}; the run requires at least ${setting.noiseMultiplier}`;
  }
  return undefined;
}
