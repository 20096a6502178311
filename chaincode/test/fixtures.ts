// Shared fixtures for contract tests: identities, a run config and helpers over the simulated ledger.
import { expect } from 'chai';
import { sha256Hex } from '@fedledger/protocol';
import type { RoundRecord, RunConfig, UpdateRecord, UpdateSubmission } from '@fedledger/protocol';
import { SimulatedLedger, newSimulatedIdentity } from '../src';
import type { SimulatedIdentity } from '../src';

export const coordinator = newSimulatedIdentity('CoordinatorMSP', 'coordinator');
export const impostor = newSimulatedIdentity('CoordinatorMSP', 'someone-else');
export const auditor = newSimulatedIdentity('AuditorMSP', 'auditor');
export const hospitals = [1, 2, 3].map((i) =>
  newSimulatedIdentity(`Hospital${i}MSP`, `user1.hospital${i}`),
);
export const [h1, h2, h3] = hospitals as [SimulatedIdentity, SimulatedIdentity, SimulatedIdentity];

/** A deterministic fake SHA-256 for test content. */
export function hashOf(label: string): string {
  return sha256Hex(Buffer.from(label, 'utf8'));
}

export const INITIAL = hashOf('initial model');

export function runConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    runId: 'run-1',
    modelSpecHash: hashOf('spec'),
    initialModelHash: INITIAL,
    participants: hospitals.map((h) => h.mspId),
    roundsPlanned: 3,
    minUpdatesPerRound: 2,
    strategy: 'fedavg',
    sampleCounts: Object.fromEntries(hospitals.map((h) => [h.mspId, 50_000])),
    settings: { dp: { epsilon: '1.0', delta: '1e-5' } },
    ...overrides,
  };
}

export function submission(
  hospital: SimulatedIdentity,
  round: number,
  overrides: Partial<UpdateSubmission> = {},
) {
  const value: UpdateSubmission = {
    runId: 'run-1',
    round,
    mspId: hospital.mspId,
    sha256: hashOf(`${hospital.mspId}/${round}`),
    sampleCount: 40000,
    byteLength: 77000,
    encoding: 'float32',
    dp: { mechanism: 'gaussian-update', epsilonSpent: '0.31', delta: '1e-5' },
    ...overrides,
  };
  return JSON.stringify(value);
}

/** A ledger with run-1 created and round 0 open. */
export async function ledgerWithOpenRound(config = runConfig()): Promise<SimulatedLedger> {
  const ledger = new SimulatedLedger();
  await ledger.submit(coordinator, 'CreateRun', JSON.stringify(config));
  await ledger.submit(coordinator, 'OpenRound', config.runId, '0', config.initialModelHash);
  return ledger;
}

export async function submitAll(
  ledger: SimulatedLedger,
  round: number,
  who = hospitals,
): Promise<void> {
  for (const h of who) await ledger.submit(h, 'SubmitUpdate', submission(h, round));
}

export function closeRequest(
  round: number,
  included: string[],
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    runId: 'run-1',
    round,
    aggregateHash: hashOf(`aggregate ${round}`),
    included,
    excluded: [],
    ...extra,
  });
}

export async function closeWithAll(ledger: SimulatedLedger, round: number): Promise<RoundRecord> {
  const commit = await ledger.submit(
    coordinator,
    'CloseRound',
    closeRequest(
      round,
      hospitals.map((h) => h.mspId),
    ),
  );
  return JSON.parse(commit.result) as RoundRecord;
}

export async function getUpdate(
  ledger: SimulatedLedger,
  round: number,
  msp: string,
): Promise<UpdateRecord> {
  return JSON.parse(
    await ledger.evaluate(auditor, 'GetUpdate', 'run-1', String(round), msp),
  ) as UpdateRecord;
}

/** Asserts that `promise` is refused with a message starting with `code:`. */
export async function expectRefusal(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(new RegExp(`^${code}: `));
    return error as Error;
  }
  expect.fail(`expected a ${code} refusal, but the transaction succeeded`);
}
