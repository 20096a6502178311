// Validation metrics leave a hospital only as the run allows (simulated ledger). A run keeps them
// at the hospitals unless it says otherwise, and records that on the ledger; a hospital that
// sends its metrics anyway (here a client that puts un-noised accuracy and loss in its update) is
// refused at upload with FL_ERR_METRICS_NOT_SHARED and nothing reaches the ledger or the metrics
// endpoint. A run that shares noised metrics takes only the noised names at the run's noise.
import { expect } from 'chai';
import type { RunRecord } from '@fedledger/protocol';
import { Harness, SPEC, createRun, update } from '../src/testing';

describe('validation metrics leave a hospital only as the run allows', function () {
  this.timeout(30_000);
  let h: Harness;

  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  const runOf = async (runId: string) =>
    (await h.call('auditor', 'GET', `/v1/runs/${runId}`)).json<{ run: RunRecord }>().run;
  const metricsOf = async (runId: string) =>
    (await h.call('hospital2', 'GET', `/v1/runs/${runId}/metrics`)).json<{
      metrics: Record<string, unknown>[];
    }>().metrics;
  const withExtra = (runId: string, mspId: string, extra: Record<string, string>) =>
    update(runId, 0, mspId, 10, 1, (c) => Object.assign(c.extra, extra));

  it('records "metrics stay at the hospitals" on the ledger when the run says nothing', async () => {
    await createRun(h, 'private');
    expect((await runOf('private')).settings['sharedMetrics']).to.deep.equal({ mode: 'none' });
  });

  it('refuses an update carrying un-noised validation metrics (422), then takes it without them', async () => {
    const leaky = withExtra('private', 'Hospital1MSP', {
      'metrics.accuracy': '0.873421',
      'metrics.loss': '0.312',
    });
    const reply = await h.submit('hospital1', 'private', 0, leaky);
    expect(reply.status, reply.body.toString()).to.equal(422);
    expect(reply.json<{ code: string; detail: string }>()).to.deep.include({
      code: 'FL_ERR_METRICS_NOT_SHARED',
      detail:
        'the run keeps validation metrics at the hospitals, but the update carries metrics.accuracy, metrics.loss',
    });
    expect(await metricsOf('private')).to.deep.equal([]);
    const clean = await h.submit(
      'hospital1',
      'private',
      0,
      update('private', 0, 'Hospital1MSP', 10, 1),
    );
    expect(clean.status, clean.body.toString()).to.equal(200);
    const served = await metricsOf('private');
    expect(served.every((p) => !('accuracy' in p) && !('loss' in p))).to.equal(true);
  });

  it('in a run sharing noised metrics, refuses other names and too little noise, takes the rest', async () => {
    await createRun(h, 'noised', { sharedMetrics: { mode: 'noised', noiseMultiplier: 40 } });
    expect((await runOf('noised')).settings['sharedMetrics']).to.deep.equal({
      mode: 'noised',
      noiseMultiplier: 40,
    });
    for (const [extra, detail] of [
      [
        { 'metrics.loss': '0.3', 'metrics.noise_multiplier': '40' },
        /shares only noised accuracy, macro_f1, macro_precision, macro_recall; the update carries metrics.loss/,
      ],
      [
        { 'metrics.accuracy': '0.8', 'metrics.noise_multiplier': '4' },
        /state noise multiplier 4; the run requires at least 40/,
      ],
      [{ 'metrics.accuracy': '0.8' }, /state noise multiplier none/],
    ] as const) {
      const reply = await h.submit(
        'hospital2',
        'noised',
        0,
        withExtra('noised', 'Hospital2MSP', extra),
      );
      expect(reply.status).to.equal(422);
      expect(reply.json<{ code: string }>().code).to.equal('FL_ERR_METRICS_NOT_SHARED');
      expect(reply.json<{ detail: string }>().detail).to.match(detail);
    }
    const ok = await h.submit(
      'hospital2',
      'noised',
      0,
      withExtra('noised', 'Hospital2MSP', {
        'metrics.accuracy': '0.81',
        'metrics.noise_multiplier': '40',
      }),
    );
    expect(ok.status, ok.body.toString()).to.equal(200);
    expect(await metricsOf('noised')).to.deep.include.members([
      { round: 0, mspId: 'Hospital2MSP', accuracy: 0.81, noise_multiplier: 40 },
    ]);
  });

  it('refuses a run whose shared-metrics setting is not one of the two (400)', async () => {
    for (const sharedMetrics of [
      'noised',
      { mode: 'raw' },
      { mode: 'noised', noiseMultiplier: 0.1 },
      { mode: 'none', noiseMultiplier: 3 },
    ]) {
      const reply = await h.call('coordinator', 'POST', '/v1/runs', {
        runId: 'refused',
        participants: ['Hospital1MSP'],
        roundsPlanned: 1,
        minUpdatesPerRound: 1,
        modelSpec: SPEC,
        initialModelSha256: 'a'.repeat(64),
        sampleCounts: { Hospital1MSP: 1 },
        sharedMetrics,
      });
      expect(reply.status).to.equal(400);
      expect(reply.json<{ detail: string }>().detail).to.match(/^sharedMetrics must be/);
    }
  });
});
