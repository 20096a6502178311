// The settings a run records on the ledger (RunRecord.settings) that decide its rounds: the model
// spec, the strategy's parameters, the norm bound, the encoding and the HE parameters.
import type { ModelSpec, RunRecord, SecAggSettings, SharedMetrics } from '@fedledger/protocol';
import { modelTensorShapes } from '@fedledger/protocol';
import type { StrategyParams } from './strategies';

/** Settings a run records with itself on the ledger; the coordinator and auditors obey them. */
export interface RunSettings {
  modelSpec: ModelSpec;
  strategyParams: StrategyParams;
  /** Largest accepted L2 norm of a plaintext update (after DP clipping); null: no bound. */
  updateNormBound: number | null;
  /** Seconds after a round opens when it closes with at least the quorum. */
  roundDeadlineSeconds: number;
  encoding: 'float32' | 'ckks' | 'secagg';
  /** Differential privacy the hospitals apply (recorded for auditors; ε is reported per update). */
  dp: Record<string, unknown> | null;
  /** CKKS parameters and key fingerprint of an encrypted run; null for plaintext runs. */
  he: Record<string, unknown> | null;
  /** Whether validation metrics leave the hospitals; absent in older runs, read as `none`. */
  sharedMetrics?: SharedMetrics;
  /**
   * SHA-256 of the shared preprocessing every hospital applies (protocol's preprocessingSha256);
   * null or absent: each hospital preprocesses on its own.
   */
  preprocessingSha256?: string | null;
  /** What hides the updates from the gateway; absent in older runs (read from `encoding`). */
  protection?: 'plaintext' | 'ckks' | 'secagg';
  /** Secure aggregation (encoding 'secagg'): threshold, fixed-point range, weight divisor. */
  secagg?: SecAggSettings;
}

/**
 * The L2 bound on updates of a run that names none: 10 √P for a model of P parameters, a
 * root-mean-square change of 10 per parameter. Far above what local training moves a model (a
 * plain local round of the reference MLP, 8,000 rows × 5 epochs, measured ‖Δ‖ 5–11 against a
 * bound of 1,379), it still refuses the overflowing or model-replacing update a dishonest
 * hospital would send.
 */
export function defaultUpdateNormBound(spec: ModelSpec): number {
  const parameters = modelTensorShapes(spec).reduce(
    (n, t) => n + t.shape.reduce((a, b) => a * b, 1),
    0,
  );
  return Math.ceil(10 * Math.sqrt(parameters));
}

/** The settings of a run read back from the ledger. */
export function runSettings(run: Pick<RunRecord, 'settings'>): RunSettings {
  return run.settings as unknown as RunSettings;
}
