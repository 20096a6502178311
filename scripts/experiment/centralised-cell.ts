// The centralised arm: the same model and recipe (Adam, batch 32, oversampled training split)
// trained on all hospitals' training rows pooled in one place, for the federated arms' whole
// budget of local epochs (rounds × epochs per round), so both see every record equally often.
import type { ModelSpec, Tensor } from '@fedledger/protocol';
import { evaluateTensors, trainPlain } from '@fedledger/trainer';
import { progressLine } from '../demo/eta';
import type { RepeatData } from './cohort';
import type { TestMetrics } from './cells';
import { testMetricsFrom } from './cells';

/** Inputs of {@link runCentralisedCell}. */
export interface CentralisedCellInput {
  data: RepeatData;
  spec: ModelSpec;
  initialTensors: readonly Tensor[];
  /** Epochs over the pooled data: the federated arms' rounds × local epochs. */
  epochs: number;
  log: (line: string) => void;
}

/** What the centralised run measured. */
export interface CentralisedCellOutput {
  test: TestMetrics;
  validationAccuracy: number[];
  trainingSeconds: number;
}

/** Trains on the pooled training split, evaluating the pooled validation split after each epoch. */
export async function runCentralisedCell(
  input: CentralisedCellInput,
): Promise<CentralisedCellOutput> {
  const { data, spec } = input;
  const validationAccuracy: number[] = [];
  const started = performance.now();
  const trained = await trainPlain(spec, input.initialTensors, data.centralised.train, {
    epochs: input.epochs,
    validation: data.centralised.validation,
    onEpoch: (progress) => {
      const accuracy = progress.validation?.accuracy ?? NaN;
      validationAccuracy.push(accuracy);
      if (progress.epoch === 1 || progress.epoch % 5 === 0 || progress.epoch === progress.epochs) {
        const eta = progressLine(
          {
            done: progress.epoch,
            total: progress.epochs,
            elapsedSeconds: (performance.now() - started) / 1000,
          },
          'epoch',
        );
        input.log(
          `epoch ${progress.epoch}/${progress.epochs}: pooled validation accuracy ${(accuracy * 100).toFixed(1)} %; ${eta}`,
        );
      }
    },
  });
  const trainingSeconds = (performance.now() - started) / 1000;
  const test = evaluateTensors(spec, trained.tensors, data.centralised.test);
  return {
    test: testMetricsFrom(test, data.centralised.test.classes),
    validationAccuracy,
    trainingSeconds,
  };
}
