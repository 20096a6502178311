// Three hospitals taking part in a run through a gateway process, as the trainer does (its
// participation loop and outbox, checking on each hospital's own peer), with synthetic updates
// that a test can recompute; and the coordinator creating that run. Used by the Fabric fault tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPEC, initialModel, update } from '@fedledger/gateway/testing';
import type { OwnLedgerView, ParticipationResult } from '@fedledger/trainer';
import {
  connectOwnPeer,
  loadHospitalIdentity,
  newGatewayClient,
  newOutbox,
  participateInRun,
} from '@fedledger/trainer';
import type { AuditIo } from '@fedledger/gateway';
import { runAudit } from '@fedledger/gateway';
import type { GatewayProcess } from './gateway-process';
import { networkDir } from './network';

export const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;
export const HOSPITAL_MSPS = ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'];

/** The update hospital `i` (0-based) sends in `round` of `runId`. */
export function hospitalUpdate(runId: string, round: number, i: number): Uint8Array {
  return update(runId, round, HOSPITAL_MSPS[i] as string, 10 * (i + 1), round * 3 + i);
}

/** Creates a run of the three hospitals through the gateway, as the coordinator. */
export async function createHospitalRun(
  connectionJson: string,
  gw: GatewayProcess,
  runId: string,
  rounds: number,
  quorum: number,
): Promise<void> {
  const coordinator = loadHospitalIdentity(connectionJson, 'coordinator');
  const operator = newGatewayClient({
    url: gw.url,
    caCertPem: readFileSync(gw.caCertPath),
    certPem: coordinator.certPem,
    keyPem: coordinator.keyPem,
  });
  try {
    await operator.coordinatorCreateRun({
      runId,
      participants: HOSPITAL_MSPS,
      roundsPlanned: rounds,
      minUpdatesPerRound: quorum,
      modelSpec: SPEC,
      initialModel: initialModel(runId).bytes,
      updateNormBound: 10,
      roundDeadlineSeconds: 3600,
      sampleCounts: Object.fromEntries(HOSPITAL_MSPS.map((msp) => [msp, 1000])),
    });
  } finally {
    operator.close();
  }
}

/** The three hospitals at work in a run. */
export interface Participation {
  /** Each hospital's own peer, in HOSPITALS order. */
  owns: OwnLedgerView[];
  /** Every line the hospitals' trainers logged, prefixed with their MSP ID. */
  logs: string[];
  /** Resolves when every hospital has the run's final model. */
  results: Promise<ParticipationResult[]>;
  /** Closes every connection. */
  close(): void;
}

/**
 * Starts the three hospitals' participation loops in `runId` through the gateway `gw`: each
 * sends {@link hospitalUpdate} every round and keeps undelivered updates in its outbox under
 * `workdir/<hospital>`.
 */
export function participate(options: {
  connectionJson: string;
  gw: GatewayProcess;
  runId: string;
  workdir: string;
  timeoutMs?: number;
  pollMs?: number;
  maxPollMs?: number;
}): Participation {
  const { connectionJson, gw, runId } = options;
  const owns = HOSPITALS.map((h) => connectOwnPeer(connectionJson, h));
  const clients: { close(): void }[] = [];
  const logs: string[] = [];
  const results = Promise.all(
    HOSPITALS.map(async (name, i) => {
      const id = loadHospitalIdentity(connectionJson, name);
      const client = newGatewayClient({
        url: gw.url,
        caCertPem: readFileSync(gw.caCertPath),
        certPem: id.certPem,
        keyPem: id.keyPem,
        ledger: id.ledger,
        ownLedger: owns[i],
        timeoutMs: options.timeoutMs ?? 30_000,
      });
      clients.push(client);
      const log = (line: string): void => void logs.push(`${id.mspId} ${line}`);
      return participateInRun({
        client,
        outbox: newOutbox({ workdir: join(options.workdir, name), client, signer: id.signer, log }),
        runId,
        mspId: id.mspId,
        trainRound: ({ round }) =>
          Promise.resolve({ bytes: hospitalUpdate(runId, round, i), accuracy: 0 }),
        pollMs: options.pollMs ?? 100,
        maxPollMs: options.maxPollMs ?? 500,
        log,
      });
    }),
  );
  return {
    owns,
    logs,
    results,
    close() {
      for (const c of clients) c.close();
      for (const o of owns) o.close();
    },
  };
}

/** `fedledger-audit verify` of a run from the auditor's own peer, with the gateway's blobs. */
export async function verifyFromAuditorPeer(
  runId: string,
  gw: GatewayProcess,
): Promise<{ code: number; out: string }> {
  let out = '';
  const io: AuditIo = { out: (t) => void (out += t), err: (t) => void (out += t) };
  const code = await runAudit(
    [
      'verify',
      runId,
      '--blobs',
      gw.url,
      '--gateway-ca',
      gw.caCertPath,
      '--network-dir',
      networkDir(),
      '--identity',
      'auditor',
      '--peer',
      'peer0.auditor',
    ],
    { io },
  );
  return { code, out };
}
