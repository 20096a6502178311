// One federated run of the experiment through the project's real machinery, as a deployment runs
// it with only the transport swapped: a gateway in this process (REST API, coordinator, blob
// store) on the experiment's ledger, and each hospital taking part with the trainer's own
// participation loop (participateInRun, the outbox, offline signing of its SubmitUpdate) over an
// in-memory connection instead of HTTPS. The hospitals protect their updates as the arm's mode
// says (./cell-protection.ts: plaintext, secure aggregation or CKKS). The coordinator closes each
// round with the round rules (decideRound); afterwards the whole run is audited from the ledger.
// No round loop of its own.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerClient, RoundClosed } from '@fedledger/gateway';
import { Verifier, runConfigFromRequest, startInProcessGateway } from '@fedledger/gateway';
import type { CommitInfo, Container, ModelSpec, RunRecord, Tensor } from '@fedledger/protocol';
import { modelSpecHash, sealContainer } from '@fedledger/protocol';
import { CKKS_PARAMS, encryptUpdate, generateSecretKey } from '@fedledger/protocol/ckks';
import { ckksAggregator, flattenTensors } from '@fedledger/rules';
import type {
  DpSettings,
  GatewayClientOptions,
  GatewayTransport,
  TrainedUpdate,
} from '@fedledger/trainer';
import {
  evaluateTensors,
  newGatewayClient,
  newInProcessTransport,
  newOutbox,
  newPrivacyAccountant,
  participateInRun,
  seededRandom,
  trainLocalRound,
} from '@fedledger/trainer';
import type { RepeatData } from './cohort';
import type { LedgerFigures, Protection, TestMetrics } from './cells';
import { testMetricsFrom } from './cells';
import { newCellProtection } from './cell-protection';
import type { ExperimentLedger } from './experiment-ledger';
import { progressLine } from '../demo/eta';

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
  dp?: { epsilon: number; delta: number; accountant?: 'pld' | 'rdp' };
  runId: string;
  /**
   * Without DP: each hospital shuffles its batches with a generator seeded by this, its MSP ID and
   * the round, so the protection modes of an arm train on the same batches and differ only by
   * what the protection does to the updates. Ignored with DP, whose sampling and noise must stay
   * unpredictable (the OS CSPRNG); absent: the CSPRNG too.
   */
  shuffleSeed?: number;
  /** How the hospitals protect their updates (default plaintext). */
  protection?: Protection;
  /** Also encrypt the first update with CKKS to report its size (a CKKS arm reports its own). */
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

/** Times the submit→commit step of each SubmitUpdate (the hospital's transaction signature). */
function timedTransport(inner: GatewayTransport, onCommit: (seconds: number) => void) {
  const timed: GatewayTransport = {
    async send(req) {
      const started = performance.now();
      const reply = await inner.send(req);
      if (req.path.endsWith('/transaction-signature')) {
        onCommit((performance.now() - started) / 1000);
      }
      return reply;
    },
    close: () => inner.close(),
  };
  return timed;
}

/** Times the coordinator's secure-aggregation phase transactions (BeginMasking, BeginUnmasking). */
function timedPhases(inner: LedgerClient, onCommit: (seconds: number) => void): LedgerClient {
  const timed =
    <A extends unknown[]>(call: (...args: A) => Promise<CommitInfo>) =>
    async (...args: A): Promise<CommitInfo> => {
      const started = performance.now();
      const commit = await call(...args);
      onCommit((performance.now() - started) / 1000);
      return commit;
    };
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'beginMasking') return timed(target.beginMasking.bind(target));
      if (property === 'beginUnmasking') return timed(target.beginUnmasking.bind(target));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/**
 * Runs the planned rounds and evaluates each round's aggregate on the pooled validation split and
 * the last one on the pooled test split.
 * @throws when a hospital's participation fails, or a ledger call fails.
 */
export async function runFederatedCell(input: FederatedCellInput): Promise<FederatedCellOutput> {
  const { ledger, data, spec, runId } = input;
  await mkdir(input.workDir, { recursive: true });
  const latencySeconds: number[] = [];
  const seconds = (since: number): number => (performance.now() - since) / 1000;
  const closed: RoundClosed[] = [];
  const cellStarted = performance.now();
  const protection = await newCellProtection(input.protection ?? 'plaintext');
  // resume is off: on a shared Fabric channel it would take over other active runs.
  const gateway = await startInProcessGateway({
    ledger: timedPhases(ledger.client, (s) => latencySeconds.push(s)),
    stateDir: join(input.workDir, 'gateway'),
    organisations: ledger.organisations,
    encrypted: ckksAggregator(),
    resume: false,
    observer: {
      roundClosed: (event) => {
        if (event.runId !== runId) return;
        closed.push(event);
        latencySeconds.push(event.closeLatencyMs / 1000);
        if (event.openLatencyMs !== undefined) latencySeconds.push(event.openLatencyMs / 1000);
        // Rounds numbered as on the ledger (from 0), with the time left at the pace so far.
        const eta = progressLine(
          { done: closed.length, total: input.rounds, elapsedSeconds: seconds(cellStarted) },
          'round',
        );
        input.log(
          `round ${event.round} closed: ${event.included.length} updates aggregated by the coordinator (ledger block ${event.close.blockNumber}); ${eta}`,
        );
      },
    },
  });
  try {
    const participants = data.hospitals.map((h) => h.mspId);
    const initial = initialModel(input);
    await gateway.blobs.putBytes(initial.bytes);
    const config = runConfigFromRequest({
      runId,
      participants,
      roundsPlanned: input.rounds,
      minUpdatesPerRound: participants.length,
      modelSpec: spec,
      initialModelSha256: initial.sha256,
      sampleCounts: Object.fromEntries(data.hospitals.map((h) => [h.mspId, h.trainOriginal.rows])),
      roundDeadlineSeconds: 7 * 24 * 3600,
      ...protection.runRequest,
      dp: input.dp
        ? {
            mechanism: 'dp-sgd',
            targetEpsilon: String(input.dp.epsilon),
            delta: String(input.dp.delta),
          }
        : null,
    });
    const started = performance.now();
    await gateway.coordinator.createRun(config);
    // CreateRun and OpenRound(0) are timed together; each counts for half.
    latencySeconds.push(seconds(started) / 2, seconds(started) / 2);

    const dp: DpSettings | undefined = input.dp
      ? {
          mode: 'dp-sgd',
          targetEpsilon: input.dp.epsilon,
          delta: input.dp.delta,
          plannedRounds: input.rounds,
          accountant: input.dp.accountant ?? 'pld',
        }
      : undefined;
    const updateSizes: number[] = [];
    let trainingSeconds = 0;
    let ckksUpdateBytes: number | undefined;
    let epsilonSpent: number | undefined;
    let noiseMultiplier: number | undefined;
    // Hospitals share this machine's CPU: one trains at a time, as they did in sequence before.
    let cpu: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
      const next = cpu.then(work, work);
      cpu = next.catch(() => undefined);
      return next;
    };

    const hospitalTakesPart = async (splits: RepeatData['hospitals'][number]) => {
      const identity = ledger.hospitals.find((h) => h.mspId === splits.mspId);
      if (!identity) throw new Error(`no ledger identity for ${splits.mspId}`);
      const accountant = newPrivacyAccountant({ kind: input.dp?.accountant ?? 'pld' });
      const transport = timedTransport(
        newInProcessTransport({ connect: () => gateway.connect(identity.certPem) }),
        (s) => latencySeconds.push(s),
      );
      const clientOptions: GatewayClientOptions = {
        url: 'in-process',
        caCertPem: '',
        certPem: identity.certPem,
        keyPem: identity.keyPem,
        ledger: identity.ledger,
        transport,
      };
      const client = newGatewayClient(clientOptions);
      const workdir = join(input.workDir, identity.mspId);
      const guard = protection.hospital({ runId, identity, clientOptions, client, spec, workdir });
      const trainRound = (round: { run: RunRecord; round: number; model: Container }) =>
        exclusive(async (): Promise<TrainedUpdate> => {
          const t0 = performance.now();
          const result = await trainLocalRound({
            spec,
            globalTensors: round.model.tensors,
            data: splits,
            runId,
            round: round.round,
            mspId: identity.mspId,
            epochs: input.epochs,
            ...(dp ? { dp, accountant } : {}),
            ...(!dp && input.shuffleSeed !== undefined
              ? {
                  random: seededRandom(`${input.shuffleSeed}/${identity.mspId}/${round.round}`),
                }
              : {}),
          });
          trainingSeconds += seconds(t0);
          if (result.epsilon !== undefined) {
            epsilonSpent = Math.max(epsilonSpent ?? 0, result.epsilon);
          }
          if (result.dp) noiseMultiplier = result.dp.noiseMultiplier;
          const bytes = await guard.updateBytes(result.update);
          if (protection.mode === 'ckks') ckksUpdateBytes ??= bytes.byteLength;
          else if (input.measureCkks && ckksUpdateBytes === undefined) {
            ckksUpdateBytes = await ckksSize(result.update, spec);
          }
          return {
            bytes,
            accuracy: result.metrics.after.accuracy,
            ...(result.epsilon !== undefined ? { epsilon: result.epsilon } : {}),
          };
        });
      try {
        await guard.resume();
        return await participateInRun({
          client,
          outbox: newOutbox({ workdir, client, signer: identity.signer }),
          runId,
          mspId: identity.mspId,
          trainRound,
          // Idle hospitals poll while another trains: at most a quarter second late per round.
          pollMs: 20,
          maxPollMs: 250,
          ...guard.hooks,
          // What is delivered (masked, in a secure-aggregation run) is what is measured.
          protectUpdate: async (update) => {
            const bytes = guard.hooks.protectUpdate
              ? await guard.hooks.protectUpdate(update)
              : update.bytes;
            if (bytes) updateSizes.push(bytes.byteLength);
            return bytes;
          },
        });
      } finally {
        guard.close();
        client.close();
      }
    };
    await Promise.all(data.hospitals.map(hospitalTakesPart));

    // Each round's aggregate on the pooled validation split, in round order.
    const validationAccuracy: number[] = [];
    let model: Tensor[] = [];
    const readModel = protection.modelReader(input.initialTensors, spec);
    for (const event of [...closed].sort((a, b) => a.round - b.round)) {
      model = await readModel(await gateway.blobs.get(event.aggregateHash));
      const validation = evaluateTensors(spec, model, data.federatedValidation);
      validationAccuracy.push(validation.accuracy);
      input.log(
        `round ${event.round}: pooled validation accuracy ${(validation.accuracy * 100).toFixed(1)} %${epsilonSpent !== undefined && event.round === input.rounds - 1 ? `, ε spent ${epsilonSpent.toFixed(3)}` : ''}`,
      );
    }
    if (closed.length !== input.rounds) {
      throw new Error(`${runId}: ${closed.length} of ${input.rounds} rounds closed`);
    }
    const test = evaluateTensors(spec, model, data.federatedTest);
    const report = await new Verifier(
      ledger.client,
      { get: (sha256) => gateway.blobs.getUnverified(sha256) },
      ckksAggregator(),
    ).verifyRun(runId);
    const trail = await ledger.client.getAuditTrail(runId);
    return {
      test: testMetricsFrom(test, data.federatedTest.classes),
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
    await gateway.close();
    await rm(input.workDir, { recursive: true, force: true });
  }
}
