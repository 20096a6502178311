// The demo's evaluation: the model after every closed round, read back from the stored bytes the
// ledger names (decrypted where the run is encrypted), on each hospital's test split and pooled.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditTrail, ModelSpec } from '@fedledger/protocol';
import type { Dataset } from '@fedledger/trainer';
import {
  concatDatasets,
  evaluateTensors,
  majorityWarning,
  predictionWarnings,
  prepareHospitalData,
  selectBackend,
} from '@fedledger/trainer';
import type { ModelReader } from './demo-protection';
import type { RoundSummary, SplitMetrics } from './report';

/** What {@link evaluateRounds} needs. */
export interface EvaluationInput {
  trail: AuditTrail;
  /** The gateway's blob folder (`<dir>/sha256/<2 hex>/<sha256>`). */
  blobDir: string;
  spec: ModelSpec;
  hospitals: readonly { name: string; mspId: string }[];
  dataDir: string;
  schema: string;
  /** The round's close block, where the gateway's log reported it. */
  closes: ReadonlyMap<number, { block: number }>;
  /** Turns the aggregates, in round order, into plaintext models (see DemoProtection). */
  openReader: (initialModel: Uint8Array, spec: ModelSpec) => Promise<ModelReader>;
  log: (line: string) => void;
}

/** Each closed round's model on every test split and pooled. */
export async function evaluateRounds(input: Readonly<EvaluationInput>): Promise<RoundSummary[]> {
  const { trail, spec, hospitals, dataDir, schema } = input;
  const blob = (sha256: string): Uint8Array =>
    readFileSync(join(input.blobDir, 'sha256', sha256.slice(0, 2), sha256));
  await selectBackend('auto');
  const tests: Dataset[] = hospitals.map(
    (h) => prepareHospitalData({ csvFile: join(dataDir, `${h.name}.csv`), schema }).test,
  );
  const classes = tests[0]?.classes ?? [];
  const pooled = concatDatasets(tests);
  const modelAfter = await input.openReader(blob(trail.run.initialModelHash), spec);
  const rounds: RoundSummary[] = [];
  for (const r of trail.rounds) {
    if (!r.aggregateHash) continue;
    const tensors = await modelAfter(blob(r.aggregateHash));
    const evaluations = hospitals.map((h, i) =>
      metricsOf(h.mspId, evaluateTensors(spec, tensors, tests[i] as Dataset), classes),
    );
    evaluations.push(metricsOf('pooled', evaluateTensors(spec, tensors, pooled), classes));
    const close = input.closes.get(r.round);
    rounds.push({
      round: r.round,
      ...(close ? { closeBlock: close.block } : {}),
      aggregateHash: r.aggregateHash,
      included: r.included ?? [],
      evaluations,
      epsilon: Math.max(0, ...r.updates.map((u) => Number(u.dp?.epsilonSpent ?? 0))),
    });
    const pooledAccuracy = evaluations[evaluations.length - 1]?.accuracy ?? 0;
    input.log(`round ${r.round}: pooled accuracy ${(pooledAccuracy * 100).toFixed(1)} %`);
  }
  return rounds;
}

function metricsOf(
  split: string,
  m: {
    accuracy: number;
    macroPrecision: number;
    macroRecall: number;
    macroF1: number;
    confusion: number[][];
    majorityRate: number;
    balancedAccuracy: number;
    rocAuc: number;
    prAuc: number;
  },
  classes: readonly string[],
): SplitMetrics {
  const warnings = [
    ...predictionWarnings(m.confusion, classes),
    ...majorityWarning(m.accuracy, m.majorityRate),
  ];
  return {
    split,
    accuracy: m.accuracy,
    precision: m.macroPrecision,
    recall: m.macroRecall,
    f1: m.macroF1,
    majorityRate: m.majorityRate,
    balancedAccuracy: m.balancedAccuracy,
    ...(Number.isFinite(m.rocAuc) ? { rocAuc: m.rocAuc } : {}),
    ...(Number.isFinite(m.prAuc) ? { prAuc: m.prAuc } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
