// One federated run of the experiment through the project's real round machinery: the
// coordinator records the run and every round on the ledger, each hospital trains locally, stores
// its update in the blob store and signs its own SubmitUpdate transaction (offline signing), and
// the coordinator closes each round by aggregating only updates whose bytes match their ledger
// record (FedAvg). Afterwards the whole run is audited from the ledger. No hand-rolled averaging.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerClient } from '@fedledger/gateway';
import { Coordinator, Verifier, newFsBlobStore, runConfigFromRequest } from '@fedledger/gateway';
import { flattenTensors } from '@fedledger/rules';
import type { Container, ModelSpec, Tensor, UpdateSubmission } from '@fedledger/protocol';
import {
  decodeContainer,
  encodeContainer,
  modelSpecHash,
  sealContainer,
  sha256Hex,
} from '@fedledger/protocol';
import { CKKS_PARAMS, encryptUpdate, generateSecretKey } from '@fedledger/protocol/ckks';
import type { DpSettings, HospitalIdentity } from '@fedledger/trainer';
import { evaluateTensors, newRdpAccountant, trainLocalRound } from '@fedledger/trainer';
import type { RepeatData } from './cohort';
import type { LedgerFigures, TestMetrics } from './cells';
import type { ExperimentLedger } from './experiment-ledger';

/** Inputs of {@link runFederatedCell}. */
export interface FederatedCellInput {
  ledger: ExperimentLedger;
  /** Blob store and coordinator notes of this run; removed when the run is done. */
  workDir: string;
  data: RepeatData;
  spec: ModelSpec;
  initialTensors: readonly Tensor[];
  rounds: number;
  epochs: number;
  /** DP-SGD at this target (ε, δ) over the planned rounds; absent for plain FedAvg. */
  dp?: { epsilon: number; delta: number };
  runId: string;
  /** Also encrypt the first update with CKKS to report its size. */
  measureCkks: boolean;
  log: (line: string) => void;
}

/** What a federated run measured. */
export interface FederatedCellOutput {
  test: TestMetrics;
  validationAccuracy: number[];
  trainingSeconds: number;
  updateBytes: number;
  ckksUpdateBytes?: number;
  epsilonSpent?: number;
  noiseMultiplier?: number;
  ledger: LedgerFigures;
}

function initialModel(input: FederatedCellInput): { bytes: Uint8Array; sha256: string } {
  return sealContainer({
    metadata: {
      kind: 'model',
      runId: input.runId,
      round: 0,
      mspId: '',
      sampleCount: 0,
      modelSpecHash: modelSpecHash(input.spec),
      encoding: 'float32',
    },
    extra: {},
    tensors: input.initialTensors.map((t) => ({ ...t, shape: [...t.shape] })),
  });
}

/** Encrypts `update` as a hospital of an encrypted run would; returns the container's size. */
async function ckksSize(update: Container, spec: ModelSpec): Promise<number> {
  const { encoding: _plain, ...metadata } = update.metadata;
  const bytes = await encryptUpdate({
    params: CKKS_PARAMS,
    secretKey: await generateSecretKey(CKKS_PARAMS),
    flat: flattenTensors(update.tensors, spec),
    metadata,
  });
  return bytes.byteLength;
}

/** One hospital's update, stored and recorded on the ledger under its own signature. */
async function submitUpdate(
  client: LedgerClient,
  hospital: HospitalIdentity,
  submission: UpdateSubmission,
): Promise<void> {
  const offline = await client.newSubmission(
    { mspId: hospital.mspId, certificatePem: hospital.certPem },
    submission,
  );
  const transactionDigest = await offline.endorse(await hospital.signer(offline.proposalDigest));
  await offline.submit(await hospital.signer(transactionDigest));
}

/**
 * Runs the planned rounds and evaluates each round's aggregate on the pooled validation split and
 * the last one on the pooled test split.
 * @throws when a round does not close after every hospital submitted, or a ledger call fails.
 */
export async function runFederatedCell(input: FederatedCellInput): Promise<FederatedCellOutput> {
  const { ledger, data, spec, runId } = input;
  const client = ledger.client;
  await mkdir(input.workDir, { recursive: true });
  const blobs = newFsBlobStore({ root: join(input.workDir, 'blobs') });
  // resume() is not called: on a shared Fabric channel it would take over other active runs.
  const coordinator = new Coordinator({
    ledger: client,
    blobs,
    stateDir: join(input.workDir, 'coordinator'),
  });
  const latencySeconds: number[] = [];
  const seconds = (since: number): number => (performance.now() - since) / 1000;
  try {
    const participants = data.hospitals.map((h) => h.mspId);
    // Each hospital: its ledger identity, its splits, and its privacy accountant for the run.
    const members = data.hospitals.map((splits) => {
      const identity = ledger.hospitals.find((h) => h.mspId === splits.mspId);
      if (!identity) throw new Error(`no ledger identity for ${splits.mspId}`);
      return { identity, splits, accountant: newRdpAccountant({}) };
    });
    const initial = initialModel(input);
    await blobs.putBytes(initial.bytes);
    const config = runConfigFromRequest({
      runId,
      participants,
      roundsPlanned: input.rounds,
      minUpdatesPerRound: participants.length,
      modelSpec: spec,
      initialModelSha256: initial.sha256,
      updateNormBound: null,
      roundDeadlineSeconds: 7 * 24 * 3600,
      dp: input.dp
        ? {
            mechanism: 'dp-sgd',
            targetEpsilon: String(input.dp.epsilon),
            delta: String(input.dp.delta),
          }
        : null,
    });
    let started = performance.now();
    await coordinator.createRun(config);
    // CreateRun and OpenRound(0) are timed together; each counts for half.
    latencySeconds.push(seconds(started) / 2, seconds(started) / 2);

    const dp: DpSettings | undefined = input.dp
      ? {
          mode: 'dp-sgd',
          targetEpsilon: input.dp.epsilon,
          delta: input.dp.delta,
          plannedRounds: input.rounds,
        }
      : undefined;
    const validationAccuracy: number[] = [];
    const updateSizes: number[] = [];
    let trainingSeconds = 0;
    let ckksUpdateBytes: number | undefined;
    let epsilonSpent: number | undefined;
    let noiseMultiplier: number | undefined;
    let model: Tensor[] = [];
    for (let round = 0; round < input.rounds; round++) {
      const open = await client.getRound(runId, round);
      if (open?.status !== 'open') throw new Error(`round ${round} of ${runId} is not open`);
      const global = decodeContainer(await blobs.get(open.inputModelHash)).tensors;
      let closed;
      for (const { identity: hospital, splits, accountant } of members) {
        started = performance.now();
        const result = await trainLocalRound({
          spec,
          globalTensors: global,
          data: splits,
          runId,
          round,
          mspId: hospital.mspId,
          epochs: input.epochs,
          ...(dp ? { dp, accountant } : {}),
        });
        trainingSeconds += seconds(started);
        if (result.epsilon !== undefined)
          epsilonSpent = Math.max(epsilonSpent ?? 0, result.epsilon);
        if (result.dp) {
          noiseMultiplier = result.dp.noiseMultiplier;
        }
        if (input.measureCkks && ckksUpdateBytes === undefined)
          ckksUpdateBytes = await ckksSize(result.update, spec);
        const bytes = encodeContainer(result.update);
        updateSizes.push(bytes.byteLength);
        await blobs.putBytes(bytes);
        started = performance.now();
        await submitUpdate(client, hospital, {
          runId,
          round,
          mspId: hospital.mspId,
          sha256: sha256Hex(bytes),
          sampleCount: result.sampleCount,
          byteLength: bytes.byteLength,
          encoding: 'float32',
          ...(result.dpAccounting ? { dp: result.dpAccounting } : {}),
        });
        latencySeconds.push(seconds(started));
        closed = await coordinator.updateCommitted(runId, round);
      }
      if (!closed) throw new Error(`round ${round} of ${runId} did not close`);
      latencySeconds.push(closed.closeLatencyMs / 1000);
      if (closed.openLatencyMs !== undefined) latencySeconds.push(closed.openLatencyMs / 1000);
      model = decodeContainer(await blobs.get(closed.aggregateHash)).tensors;
      const validation = evaluateTensors(spec, model, data.federatedValidation);
      validationAccuracy.push(validation.accuracy);
      input.log(
        `round ${round + 1}/${input.rounds}: ${closed.included.length} updates aggregated by the coordinator (ledger block ${closed.close.blockNumber}), pooled validation accuracy ${(validation.accuracy * 100).toFixed(1)} %${epsilonSpent !== undefined ? `, ε spent ${epsilonSpent.toFixed(3)}` : ''}`,
      );
    }
    const test = evaluateTensors(spec, model, data.federatedTest);
    const report = await new Verifier(client, blobs).verifyRun(runId);
    const trail = await client.getAuditTrail(runId);
    return {
      test: {
        accuracy: test.accuracy,
        precision: test.macroPrecision,
        recall: test.macroRecall,
        f1: test.macroF1,
        loss: test.loss,
      },
      validationAccuracy,
      trainingSeconds,
      updateBytes: updateSizes.reduce((a, b) => a + b, 0) / Math.max(1, updateSizes.length),
      ...(ckksUpdateBytes !== undefined ? { ckksUpdateBytes } : {}),
      ...(epsilonSpent !== undefined ? { epsilonSpent } : {}),
      ...(noiseMultiplier !== undefined ? { noiseMultiplier } : {}),
      ledger: {
        kind: ledger.kind,
        label: ledger.label,
        runId,
        transactions: latencySeconds.length,
        latencySeconds,
        recordBytes: Buffer.byteLength(JSON.stringify(trail ?? {}), 'utf8'),
        verified: report.ok,
        problems: [
          ...report.problems.map((p) => p.message),
          ...report.rounds.flatMap((r) => r.problems.map((p) => `round ${r.round}: ${p.message}`)),
        ],
      },
    };
  } finally {
    coordinator.stop();
    await rm(input.workDir, { recursive: true, force: true });
  }
}
