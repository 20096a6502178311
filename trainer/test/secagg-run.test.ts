// Three hospitals take part in a two-round secure-aggregation run through a real gateway on the
// simulated ledger, with the deployment's participation loop and hooks: two read keys and round
// sets from their own ledger view, the third takes the gateway's word (and says so). Each round's
// model is the FedAvg of the three plaintext updates within the quantisation bound, though the
// gateway only ever held masked ones; every secret is wiped once its reveal is sent, and all of
// the run's state once the run is over (finish). A gateway
// that serves one dealer's bundle as another's is refused by the hospital, naming the dealer,
// before it masks anything.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Container, RunRecord } from '@fedledger/protocol';
import {
  decodeContainer,
  encodeContainer,
  modelTensorShapes,
  parameterCount,
} from '@fedledger/protocol';
import type { GatewayClientOptions } from '../src/client/gateway-client';
import type { GatewayTransport } from '../src/client/https-transport';
import { newOutbox } from '../src/client/outbox';
import type { ParticipationResult } from '../src/client/participation';
import { ParticipationStoppedError, participateInRun } from '../src/client/participation';
import { newSecAggClient } from '../src/client/secagg-client';
import type { SecAggParticipant } from '../src/client/secagg-round';
import { newSecAggParticipant } from '../src/client/secagg-round';
import { SecAggRoundError, flattenUpdate } from '../src/client/secagg-steps';
import { newSecAggStore } from '../src/client/secagg-store';
import type { OrgName } from './gateway-client-fixture';
import { GatewayFixture, TINY_SPEC, tinyUpdate } from './gateway-client-fixture';
import { tempDir } from './helpers';

const HOSPITALS = [
  { name: 'hospital1', mspId: 'Hospital1MSP', samples: 600, own: true },
  { name: 'hospital2', mspId: 'Hospital2MSP', samples: 900, own: true },
  { name: 'hospital3', mspId: 'Hospital3MSP', samples: 1500, own: false },
] as const;
const SAMPLES = Object.fromEntries(HOSPITALS.map((h) => [h.mspId, h.samples]));

/** Hospital `index`'s plaintext update of `round`: deterministic, its declared sample count. */
function plaintextUpdate(runId: string, round: number, index: number): Uint8Array {
  const h = HOSPITALS[index]!;
  const c = decodeContainer(tinyUpdate(runId, round, h.mspId, 10 * index + round + 1));
  return encodeContainer({ ...c, metadata: { ...c.metadata, sampleCount: h.samples } });
}

interface Hospital {
  secagg: SecAggParticipant;
  lines: string[];
  workdir: string;
  result: Promise<ParticipationResult>;
  controller: AbortController;
}

interface StartOptions {
  /** Rewrites what the gateway says to this hospital's secure-aggregation client. */
  lie?: (transport: GatewayTransport) => GatewayTransport;
  /** The working folder of an earlier start (a restart). */
  workdir?: string;
  /** Stops the hospital right after its first delivery, before it reveals (a crash). */
  crashAfterDelivery?: boolean;
}

function startHospital(
  f: GatewayFixture,
  runId: string,
  index: number,
  start: StartOptions = {},
): Hospital {
  const lie = start.lie;
  const h = HOSPITALS[index]!;
  const name = h.name as OrgName;
  const id = f.identity(name);
  const options: GatewayClientOptions = {
    url: f.url,
    caCertPem: readFileSync(f.tls.caCertPath),
    certPem: id.certPem,
    keyPem: id.keyPem,
    ledger: id.ledger,
    ...(h.own ? { ownLedger: f.ownLedger(name) } : {}),
  };
  const client = f.client(name, h.own ? { ownLedger: options.ownLedger! } : {});
  const secaggClient = newSecAggClient(
    lie ? { ...options, transport: lie(f.transport(name)) } : options,
  );
  const workdir = start.workdir ?? tempDir();
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const controller = new AbortController();
  const secagg = newSecAggParticipant({
    client: secaggClient,
    runId,
    mspId: h.mspId,
    signer: id.signer,
    workdir,
    log,
    signal: controller.signal,
    pollMs: 20,
    maxPollMs: 200,
  });
  const result = secagg
    .resume(async () => (await client.verifiedRun((await client.getRun(runId)).run)).run)
    .then(() =>
      participateInRun({
        client,
        outbox: newOutbox({ workdir, client, signer: id.signer, log }),
        runId,
        mspId: h.mspId,
        trainRound: ({ round }) =>
          Promise.resolve({ bytes: plaintextUpdate(runId, round, index), accuracy: 0.5 }),
        signal: controller.signal,
        pollMs: 20,
        maxPollMs: 200,
        log,
        prepareRound: (run, round) => secagg.prepareRound(run, round),
        protectUpdate: (input) => secagg.protectUpdate(input),
        afterDelivery: (run: RunRecord, round: number) => {
          if (!start.crashAfterDelivery) return secagg.afterDelivery(run, round);
          controller.abort();
          return Promise.reject(new Error('crashed'));
        },
      }),
    )
    .finally(() => secaggClient.close());
  return { secagg, lines, workdir, result, controller };
}

describe('secure aggregation from the hospitals’ side (simulated ledger)', function () {
  this.timeout(60_000);
  let f: GatewayFixture;
  before(async () => {
    f = await GatewayFixture.create();
  });
  after(async () => {
    await f.dispose();
  });

  it('completes a two-round run whose models are the FedAvg of updates the gateway saw only masked', async () => {
    const runId = 'sa-e2e';
    await f.createRun(runId, {
      roundsPlanned: 2,
      minUpdatesPerRound: 2,
      sampleCounts: SAMPLES,
      secagg: { phaseSeconds: 30, threshold: 2 },
    });
    const hospitals = HOSPITALS.map((_, i) => startHospital(f, runId, i));
    const results = await Promise.all(hospitals.map((h) => h.result));

    // Every hospital got the same final model, as the ledger names it.
    const finals = new Set(results.map((r) => r.finalModel.sha256));
    expect(finals.size).to.equal(1);
    for (const r of results) {
      expect(r.rounds.map((x) => [x.round, x.delivery])).to.deep.equal([
        [0, 'delivered'],
        [1, 'delivered'],
      ]);
    }

    // The model of each round is the weighted mean of the plaintext updates, within the bound.
    const auditor = f.client('auditor');
    const trail = await auditor.getAuditTrail(runId);
    const total = HOSPITALS.reduce((n, h) => n + h.samples, 0);
    const P = parameterCount(TINY_SPEC);
    let model = flattenUpdate(
      decodeContainer((await auditor.downloadRoundModel(runId, 0)).bytes).tensors,
      TINY_SPEC,
    );
    for (const round of trail.rounds) {
      expect(round.status).to.equal('closed');
      expect(round.included).to.deep.equal(HOSPITALS.map((h) => h.mspId));
      expect(round.secagg?.phase).to.equal('unmasking');
      expect(round.secagg?.survivors).to.deep.equal(HOSPITALS.map((h) => h.mspId));
      expect(round.secagg?.recovery).to.have.length(3);
      for (const u of round.updates) expect(u.encoding).to.equal('secagg');
      const expected = Float64Array.from(model);
      HOSPITALS.forEach((h, i) => {
        const delta = flattenUpdate(
          decodeContainer(plaintextUpdate(runId, round.round, i)).tensors,
          TINY_SPEC,
        );
        for (let k = 0; k < P; k++) expected[k]! += (h.samples / total) * delta[k]!;
      });
      const next =
        round.round + 1 < trail.run.roundsPlanned
          ? (await auditor.downloadRoundModel(runId, round.round + 1)).bytes
          : results[0]!.finalModel.bytes;
      const container: Container = decodeContainer(next);
      expect(container.metadata.encoding).to.equal('float32');
      model = flattenUpdate(container.tensors, TINY_SPEC);
      let worst = 0;
      for (let k = 0; k < P; k++) worst = Math.max(worst, Math.abs(model[k]! - expected[k]!));
      // Quantisation (3 · 2^-27 with the default 26 fraction bits) plus float32 rounding (< 2^-26).
      expect(worst, `round ${round.round}`).to.be.below(3 * 2 ** -27 + 2 ** -26);
      expect(modelTensorShapes(TINY_SPEC).length).to.equal(container.tensors.length);
    }

    // The sources each hospital read from, and nothing of any round's secrets left on disk.
    expect(hospitals[0]!.lines.join('\n')).to.contain('read directly by Hospital1MSP');
    expect(hospitals[2]!.lines.join('\n')).to.contain("the gateway's word");
    expect(hospitals[2]!.lines.join('\n')).to.match(/round 1: revealed self-mask shares of/);
    for (const [i, h] of hospitals.entries()) {
      const store = newSecAggStore(h.workdir);
      for (const round of [0, 1]) {
        const state = await store.load(trail.run, round);
        expect(state?.secrets, `round ${round}`).to.equal(undefined);
        expect(state?.held).to.equal(undefined);
        expect(state?.revealed?.survivors).to.deep.equal(HOSPITALS.map((x) => x.mspId));
      }
      // Once the run is over, nothing of it stays.
      await h.secagg.finish(results[i]!.run);
      expect(await store.hasRun(runId)).to.equal(false);
      expect(await store.load(trail.run, 0)).to.equal(undefined);
    }
  });

  it('refuses to mask when the gateway serves one dealer’s bundle as another’s, naming the dealer', async () => {
    const runId = 'sa-swap';
    await f.createRun(runId, {
      roundsPlanned: 1,
      minUpdatesPerRound: 2,
      sampleCounts: SAMPLES,
      secagg: { phaseSeconds: 30, threshold: 2 },
    });
    const swapping = (honest: GatewayTransport): GatewayTransport => ({
      send: (req) =>
        honest.send(
          req.method === 'GET' && req.path.endsWith('/secagg/shares/Hospital2MSP')
            ? { ...req, path: req.path.replace('Hospital2MSP', 'Hospital3MSP') }
            : req,
        ),
      close: () => honest.close(),
    });
    const hospitals = HOSPITALS.map((_, i) =>
      startHospital(f, runId, i, i === 0 ? { lie: swapping } : {}),
    );
    let caught: unknown;
    try {
      await hospitals[0]!.result;
    } catch (err) {
      caught = err;
    } finally {
      for (const h of hospitals) h.controller.abort();
      await Promise.allSettled(hospitals.map((h) => h.result));
    }
    expect(caught, String(caught)).to.be.instanceOf(SecAggRoundError);
    expect((caught as SecAggRoundError).code).to.equal('SECAGG_BUNDLE_MISMATCH');
    expect((caught as SecAggRoundError).mspId).to.equal('Hospital2MSP');
    const round = await f.client('auditor').getRound(runId, 0);
    expect(round.updates.map((u) => u.mspId)).not.to.include('Hospital1MSP');
    const { run } = await f.client('auditor').getRun(runId);
    const state = await newSecAggStore(hospitals[0]!.workdir).load(run, 0);
    expect(state?.mspId).to.equal('Hospital1MSP');
    expect(state?.maskedSha256).to.equal(undefined);
  });

  it('reveals after a restart for the round it delivered before, so a round that needs it closes', async () => {
    const runId = 'sa-restart';
    // Threshold 3 of 3: the round closes only with every survivor's reveal.
    await f.createRun(runId, {
      roundsPlanned: 1,
      minUpdatesPerRound: 2,
      sampleCounts: SAMPLES,
      secagg: { phaseSeconds: 30, threshold: 3 },
    });
    const crashed = startHospital(f, runId, 0, { crashAfterDelivery: true });
    const others = [1, 2].map((i) => startHospital(f, runId, i));
    let stopped: unknown;
    try {
      await crashed.result;
    } catch (err) {
      stopped = err;
    }
    expect(stopped).to.be.instanceOf(ParticipationStoppedError);
    const { run } = await f.client('auditor').getRun(runId);
    const before = await newSecAggStore(crashed.workdir).load(run, 0);
    expect(before?.maskedSha256).to.be.a('string');
    expect(before?.revealed).to.equal(undefined);

    const restarted = startHospital(f, runId, 0, { workdir: crashed.workdir });
    const [again, ...rest] = await Promise.all([restarted.result, ...others.map((h) => h.result)]);
    expect(again.rounds).to.deep.equal([]);
    for (const r of rest) expect(r.finalModel.sha256).to.equal(again.finalModel.sha256);
    expect(restarted.lines.join('\n')).to.match(/round 0: revealed self-mask shares of/);
    const round = await f.client('auditor').getRound(runId, 0);
    expect(round.round.status).to.equal('closed');
    expect(round.round.secagg?.recovery?.map((e) => e.mspId)).to.deep.equal(
      HOSPITALS.map((h) => h.mspId),
    );
    expect(round.updates.filter((u) => u.mspId === 'Hospital1MSP')).to.have.length(1);
  });
});
