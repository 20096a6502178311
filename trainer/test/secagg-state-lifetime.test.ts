// How long a hospital's secure-aggregation secrets live on its disk, against a scripted ledger
// view: a round it sits out, a round it sees closed before it could reveal, a round whose
// survivors leave it out, and a round that moved on while it waited all end with the round's
// secrets, shares and masked update wiped (a wiped round is never masked again under new
// secrets); a restart wipes the rounds it finds over, and the whole run once it completed. The
// state an earlier run with the same ID left behind is neither advertised nor dealt again.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type {
  KeyAdvertisement,
  KeysRecord,
  RoundRecord,
  RoundSecrets,
  RunRecord,
  SecAggBlobReply,
} from '@fedledger/protocol';
import { modelSpecHash, sha256Hex } from '@fedledger/protocol';
import { advertise, newRoundSecrets } from '@fedledger/protocol/secagg';
import { GatewayRequestError } from '../src/client/errors';
import type { DigestSigner } from '../src/client/identity';
import type { AdvertiseKeysInput, AdvertisedKeys, SecAggClient } from '../src/client/secagg-client';
import type { SecAggParticipant } from '../src/client/secagg-round';
import { newSecAggParticipant } from '../src/client/secagg-round';
import type { StoredRound } from '../src/client/secagg-store';
import { newSecAggStore } from '../src/client/secagg-store';
import { TINY_SPEC } from './gateway-client-fixture';
import { tempDir } from './helpers';

const ME = 'Hospital1MSP';
const MSPS = [ME, 'Hospital2MSP', 'Hospital3MSP'];
const RUN_ID = 'lifetime';

function runRecord(txId: string, status: RunRecord['status'] = 'active'): RunRecord {
  return {
    runId: RUN_ID,
    txId,
    status,
    participants: MSPS,
    sampleCounts: { Hospital1MSP: 20, Hospital2MSP: 20, Hospital3MSP: 20 },
    minUpdatesPerRound: 2,
    roundsPlanned: 3,
    modelSpecHash: modelSpecHash(TINY_SPEC),
    settings: {
      modelSpec: TINY_SPEC,
      encoding: 'secagg',
      secagg: {
        threshold: 2,
        range: 16,
        fractionBits: 24,
        weightScale: 60,
        phaseSeconds: 60,
        minSurvivors: 2,
      },
    },
  } as unknown as RunRecord;
}

const keysRecord = (round: number, ad: KeyAdvertisement): KeysRecord => ({
  runId: RUN_ID,
  round,
  ...ad,
  docType: 'secaggKeys',
  key: `secagg-keys/${RUN_ID}/${round}/${ad.mspId}`,
  creator: { mspId: ad.mspId, certFingerprint: 'f'.repeat(64) },
  txId: 'k'.repeat(64),
  timestamp: new Date().toISOString(),
});

/** A ledger view and gateway whose answers each test scripts. */
class ScriptedGateway implements SecAggClient {
  readonly source = 'the scripted ledger';
  readonly rounds = new Map<number, RoundRecord>();
  readonly keys = new Map<number, KeysRecord[]>();
  readonly advertised: KeyAdvertisement[] = [];
  readonly bundles: string[] = [];
  readonly reveals: string[] = [];
  /** The code AdvertiseKeys is refused with, if any. */
  refuseKeys: string | undefined;
  /** Called once the hospital's bundle is in (the coordinator moving the round on). */
  onShares: (() => void) | undefined;

  open(round: number, secagg?: RoundRecord['secagg']): void {
    this.rounds.set(round, {
      docType: 'round',
      key: `round/${RUN_ID}/${round}`,
      runId: RUN_ID,
      round,
      status: 'open',
      inputModelHash: '0'.repeat(64),
      openedAt: new Date().toISOString(),
      openTxId: 'o'.repeat(64),
      ...(secagg ? { secagg } : {}),
    });
  }

  close(round?: number): void {
    if (round === undefined) return;
    const record = this.rounds.get(round);
    if (record) this.rounds.set(round, { ...record, status: 'closed' });
  }

  /** Peers' keys for `round`, advertised before this hospital's. */
  peersAdvertise(round: number): void {
    const peers = MSPS.filter((m) => m !== ME).map((m) =>
      keysRecord(round, advertise({ runId: RUN_ID, round }, m, newRoundSecrets())),
    );
    this.keys.set(round, [...(this.keys.get(round) ?? []), ...peers]);
  }

  readRound(_runId: string, round: number): Promise<RoundRecord | undefined> {
    return Promise.resolve(this.rounds.get(round));
  }

  readKeys(_runId: string, round: number): Promise<KeysRecord[]> {
    return Promise.resolve(this.keys.get(round) ?? []);
  }

  advertiseKeys(input: Readonly<AdvertiseKeysInput>): Promise<AdvertisedKeys> {
    if (this.refuseKeys !== undefined) {
      const problem = { status: 409, code: this.refuseKeys, detail: 'refused by the script' };
      return Promise.reject(new GatewayRequestError('POST keys', problem));
    }
    this.advertised.push(input.advertisement);
    const record = keysRecord(input.round, input.advertisement);
    this.keys.set(input.round, [...(this.keys.get(input.round) ?? []), record]);
    const commit = { txId: record.txId, blockNumber: 7, status: 'VALID' };
    return Promise.resolve({ commit, record, confirmedBy: this.source });
  }

  postShares(_runId: string, _round: number, bytes: Uint8Array): Promise<SecAggBlobReply> {
    this.bundles.push(Buffer.from(bytes).toString('utf8'));
    this.onShares?.();
    return Promise.resolve({ sha256: sha256Hex(bytes), byteLength: bytes.length });
  }

  getShares(): Promise<Uint8Array> {
    return Promise.reject(new Error('no bundle is served in this script'));
  }

  postReveal(_runId: string, _round: number, bytes: Uint8Array): Promise<SecAggBlobReply> {
    this.reveals.push(Buffer.from(bytes).toString('utf8'));
    return Promise.resolve({ sha256: sha256Hex(bytes), byteLength: bytes.length });
  }
}

interface Hospital {
  participant: SecAggParticipant;
  lines: string[];
}

function hospital(gateway: ScriptedGateway, workdir: string): Hospital {
  const lines: string[] = [];
  const participant = newSecAggParticipant({
    client: gateway,
    runId: RUN_ID,
    mspId: ME,
    signer: {} as DigestSigner,
    workdir,
    log: (line) => lines.push(line),
    pollMs: 5,
    maxPollMs: 20,
  });
  return { participant, lines };
}

/** A round's state as after masking and delivery: secrets, held shares, the masked update. */
async function deliveredState(workdir: string, run: RunRecord, round: number): Promise<void> {
  const store = newSecAggStore(workdir);
  const secrets: RoundSecrets = newRoundSecrets();
  const masked = new Uint8Array([1, 2, 3, 4]);
  const state: StoredRound = {
    runId: run.runId,
    runTxId: run.txId,
    round,
    mspId: ME,
    secrets,
    bundle: '{"dealt":true}',
    held: MSPS.map((dealer) => ({
      dealer,
      maskSecretShare: new Uint8Array([1]),
      selfMaskShare: new Uint8Array([2]),
    })),
    maskedSha256: sha256Hex(masked),
  };
  await store.save(state);
  await store.saveMasked(run, round, masked);
}

/** Asserts that a round's file is left with nothing secret in it. */
async function expectWiped(workdir: string, run: RunRecord, round: number): Promise<void> {
  const store = newSecAggStore(workdir);
  const state = await store.load(run, round);
  expect(state, `round ${round} state`).to.not.equal(undefined);
  expect(state?.secrets, `round ${round} secrets`).to.equal(undefined);
  expect(state?.held, `round ${round} held shares`).to.equal(undefined);
  expect(state?.bundle, `round ${round} bundle`).to.equal(undefined);
  expect(state?.maskedSha256).to.equal(undefined);
  expect(await store.loadMasked(run, round)).to.equal(undefined);
}

describe('the lifetime of a hospital’s secure-aggregation secrets', () => {
  const run = runRecord('c1'.repeat(32));

  it('wipes the secrets of a round it sits out, and never masks that round under new ones', async () => {
    const workdir = tempDir();
    const gateway = new ScriptedGateway();
    gateway.open(0);
    gateway.refuseKeys = 'FL_ERR_SECAGG_PHASE';
    const h = hospital(gateway, workdir);
    expect(await h.participant.prepareRound(run, 0)).to.equal(false);
    expect(h.lines.join('\n')).to.contain('too late to advertise keys');
    await expectWiped(workdir, run, 0);
    expect(h.lines.join('\n')).to.contain('round 0: secrets wiped (sat out)');

    // Restarted while the round still takes keys: the wiped file stops a second set of secrets.
    gateway.refuseKeys = undefined;
    const again = hospital(gateway, workdir);
    expect(await again.participant.prepareRound(run, 0)).to.equal(false);
    expect(gateway.advertised).to.deep.equal([]);
    await expectWiped(workdir, run, 0);
  });

  it('wipes the secrets of a round that moved on before it took masked updates', async () => {
    const workdir = tempDir();
    const gateway = new ScriptedGateway();
    gateway.open(0);
    gateway.peersAdvertise(0);
    gateway.onShares = () => gateway.close(0);
    const h = hospital(gateway, workdir);
    const bytes = new Uint8Array([9]);
    expect(await h.participant.protectUpdate({ run, round: 0, bytes })).to.equal(undefined);
    expect(gateway.advertised).to.have.length(1);
    expect(gateway.bundles).to.have.length(1);
    await expectWiped(workdir, run, 0);
    expect(h.lines.join('\n')).to.contain('round 0: the round moved on');
  });

  it('wipes a delivered round’s secrets when it sees the round closed without its reveal', async () => {
    const workdir = tempDir();
    await deliveredState(workdir, run, 0);
    const gateway = new ScriptedGateway();
    gateway.open(0);
    gateway.close(0);
    const h = hospital(gateway, workdir);
    await h.participant.afterDelivery(run, 0);
    expect(gateway.reveals).to.deep.equal([]);
    await expectWiped(workdir, run, 0);
    expect(h.lines.join('\n')).to.contain('round 0: secrets wiped (the round closed');
  });

  it('wipes a delivered round’s secrets when the ledger’s survivors leave it out', async () => {
    const workdir = tempDir();
    await deliveredState(workdir, run, 2);
    const gateway = new ScriptedGateway();
    gateway.open(2, {
      phase: 'unmasking',
      maskSet: MSPS.map((mspId) => ({ mspId, sharesSha256: '0'.repeat(64) })),
      maskingAt: new Date().toISOString(),
      survivors: ['Hospital2MSP', 'Hospital3MSP'],
    });
    const h = hospital(gateway, workdir);
    await h.participant.afterDelivery(run, 2);
    expect(gateway.reveals).to.deep.equal([]);
    expect(h.lines.join('\n')).to.contain(`${ME} is not among the survivors`);
    await expectWiped(workdir, run, 2);
  });

  it('on a restart, wipes the rounds it finds over, and an earlier run’s, and keeps the open one', async () => {
    const workdir = tempDir();
    const earlier = runRecord('e0'.repeat(32));
    await deliveredState(workdir, earlier, 1);
    await deliveredState(workdir, run, 0);
    await deliveredState(workdir, run, 1);
    const gateway = new ScriptedGateway();
    gateway.open(0);
    gateway.close(0);
    gateway.open(1);
    const h = hospital(gateway, workdir);
    await h.participant.resume(() => Promise.resolve(run));
    await expectWiped(workdir, run, 0);
    expect(await newSecAggStore(workdir).load(earlier, 1)).to.equal(undefined);
    expect(h.lines.join('\n')).to.contain('ignored and wiped: e0e0e0e0e0e0');
    const open = await newSecAggStore(workdir).load(run, 1);
    expect(open?.secrets).to.not.equal(undefined);
    expect(open?.held).to.have.length(3);
  });

  it('wipes everything of the run once it completed, the split revealed for included', async () => {
    const workdir = tempDir();
    const store = newSecAggStore(workdir);
    await deliveredState(workdir, run, 0);
    await store.save({
      runId: RUN_ID,
      runTxId: run.txId,
      round: 1,
      mspId: ME,
      revealed: { survivors: MSPS, dropped: [], reveal: '{}' },
    });
    const h = hospital(new ScriptedGateway(), workdir);
    await h.participant.finish(run);
    expect(await store.hasRun(RUN_ID)).to.equal(false);
    expect(existsSync(join(store.dir, RUN_ID))).to.equal(false);
    expect(h.lines.join('\n')).to.contain(`all round state of run ${RUN_ID} wiped`);

    // A restart after the run completed (before it could finish) wipes it too.
    await deliveredState(workdir, run, 1);
    const restarted = hospital(new ScriptedGateway(), workdir);
    await restarted.participant.resume(() => Promise.resolve(runRecord(run.txId, 'completed')));
    expect(await store.hasRun(RUN_ID)).to.equal(false);
  });

  it('neither advertises nor deals the secrets an earlier run with the same ID left behind', async () => {
    const workdir = tempDir();
    const earlier = runRecord('e0'.repeat(32));
    const store = newSecAggStore(workdir);
    const oldSecrets = newRoundSecrets();
    await store.save({
      runId: RUN_ID,
      runTxId: earlier.txId,
      round: 0,
      mspId: ME,
      secrets: oldSecrets,
      bundle: '{"old":"bundle"}',
    });
    // State kept before runs were told apart by creation: round files right under the run ID.
    mkdirSync(join(store.dir, RUN_ID), { recursive: true });
    writeFileSync(join(store.dir, RUN_ID, '1.json'), '{"format":"fedledger-secagg-round/1"}');

    const gateway = new ScriptedGateway();
    gateway.open(0);
    gateway.peersAdvertise(0);
    const h = hospital(gateway, workdir);
    expect(await h.participant.prepareRound(run, 0)).to.equal(true);
    expect(h.lines.join('\n')).to.match(
      /state under run ID lifetime not from its creation \(tx c1c1.*\) ignored and wiped: (1\.json, e0e0e0e0e0e0|e0e0e0e0e0e0, 1\.json)/,
    );
    expect(await store.load(earlier, 0)).to.equal(undefined);
    expect(existsSync(join(store.dir, RUN_ID, '1.json'))).to.equal(false);
    const ctx = { runId: RUN_ID, round: 0 };
    expect(gateway.advertised).to.have.length(1);
    expect(gateway.advertised[0]!.maskKey).to.not.equal(advertise(ctx, ME, oldSecrets).maskKey);
    expect(gateway.bundles).to.have.length(1);
    expect(gateway.bundles[0]).to.not.equal('{"old":"bundle"}');
    const fresh = await store.load(run, 0);
    expect(fresh?.bundle).to.equal(gateway.bundles[0]);
    expect(advertise(ctx, ME, fresh!.secrets!)).to.deep.equal(gateway.advertised[0]);
  });
});
