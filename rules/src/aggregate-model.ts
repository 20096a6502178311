// The next global model of a plaintext run: θ + strategy(Δ_k), as a canonical model container.
// Deterministic (fixed order, float64 accumulation), so a re-computation gives the same bytes.
import type { RoundRecord, RunRecord } from '@fedledger/protocol';
import { decodeContainer, sealContainer } from '@fedledger/protocol';
import type { ClientUpdate } from './strategies';
import { STRATEGY_FUNCTIONS, applyDelta, flattenTensors, unflattenTensors } from './strategies';
import { runSettings } from './run-settings';

/** The aggregate model's bytes, SHA-256, and the MSP IDs the strategy selected. */
export interface AggregateModel {
  bytes: Uint8Array;
  sha256: string;
  selected: string[];
}

/**
 * Applies the run's strategy to `updates` (valid updates of `round`) on top of the round's input
 * model (`inputBytes`, already verified against `round.inputModelHash`).
 */
export function aggregateModel(
  run: RunRecord,
  round: Pick<RoundRecord, 'round' | 'inputModelHash'>,
  inputBytes: Uint8Array,
  updates: readonly ClientUpdate[],
): AggregateModel {
  const settings = runSettings(run);
  const result = STRATEGY_FUNCTIONS[run.strategy](updates, settings.strategyParams);
  const samples = updates
    .filter((u) => result.selected.includes(u.mspId))
    .reduce((n, u) => n + u.sampleCount, 0);
  return sealAggregate(run, round, inputBytes, result.delta, result.selected, samples);
}

/**
 * θ + Δ as the next global model's container, Δ already aggregated from the `selected` updates
 * (`samples` their summed sample counts).
 * @throws {NonFiniteValueError} when θ + Δ has a non-finite value in float32.
 */
export function sealAggregate(
  run: RunRecord,
  round: Pick<RoundRecord, 'round' | 'inputModelHash'>,
  inputBytes: Uint8Array,
  delta: Float64Array,
  selected: string[],
  samples: number,
): AggregateModel {
  const settings = runSettings(run);
  const global = flattenTensors(decodeContainer(inputBytes).tensors, settings.modelSpec);
  const sealed = sealContainer({
    metadata: {
      kind: 'model',
      runId: run.runId,
      round: round.round + 1,
      mspId: '',
      sampleCount: samples,
      modelSpecHash: run.modelSpecHash,
      encoding: 'float32',
    },
    extra: { 'aggregate.strategy': run.strategy, 'aggregate.input': round.inputModelHash },
    tensors: unflattenTensors(applyDelta(global, delta), settings.modelSpec),
  });
  return { ...sealed, selected };
}
