// A hostile hospital cannot take over the model by its numbers (simulated ledger): sample counts
// are declared per participant when the run is created and an update claiming more (10^12, or
// just above) is refused at upload, as the contract refuses it; every run bounds update norms,
// so Δ = 3.4e38 is refused even where the run names no bound; a 30-day round deadline keeps the
// round open for 30 days (Node's timers overflow past 24.9 days) and a deadline past 90 days is
// refused.
import { expect } from 'chai';
import sinon from 'sinon';
import type { RunRecord } from '@fedledger/protocol';
import { defaultUpdateNormBound, runSettings } from '@fedledger/rules';
import { Harness, SPEC, createRun, update } from '../src/testing';

describe('a hostile hospital cannot inflate its weight or overflow the aggregate', function () {
  this.timeout(30_000);
  let h: Harness;

  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  /** POST /v1/runs with a one-hospital run request changed by `fields` (refused before use). */
  const runRequest = (fields: Record<string, unknown>) =>
    h.call('coordinator', 'POST', '/v1/runs', {
      runId: 'refused',
      participants: ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'],
      roundsPlanned: 1,
      minUpdatesPerRound: 1,
      modelSpec: SPEC,
      initialModelSha256: 'a'.repeat(64),
      sampleCounts: { Hospital1MSP: 1, Hospital2MSP: 1, Hospital3MSP: 1 },
      ...fields,
    });

  const runOf = async (runId: string) =>
    (await h.call('auditor', 'GET', `/v1/runs/${runId}`)).json<{ run: RunRecord }>().run;

  it('records each participant’s declared sample count on the ledger, public to all', async () => {
    await createRun(h, 'declared', {
      sampleCounts: { Hospital1MSP: 100, Hospital2MSP: 250, Hospital3MSP: 50 },
    });
    expect((await runOf('declared')).sampleCounts).to.deep.equal({
      Hospital1MSP: 100,
      Hospital2MSP: 250,
      Hospital3MSP: 50,
    });
  });

  it('refuses an update claiming 10^12 samples, or one more than declared (422, nothing recorded)', async () => {
    for (const n of [1e12, 101]) {
      const reply = await h.submit(
        'hospital1',
        'declared',
        0,
        update('declared', 0, 'Hospital1MSP', n, 1),
      );
      expect(reply.status, reply.body.toString()).to.equal(422);
      expect(reply.json<{ code: string; detail: string }>()).to.deep.include({
        code: 'FL_ERR_SAMPLE_COUNT_EXCEEDED',
        detail: `the update claims ${n} samples; Hospital1MSP declared 100 for the run`,
      });
    }
    const exact = await h.submit(
      'hospital1',
      'declared',
      0,
      update('declared', 0, 'Hospital1MSP', 100, 1),
    );
    expect(exact.status, exact.body.toString()).to.equal(200);
  });

  it('refuses a container announcing 200,000 empty tensors before parsing its header (422)', async () => {
    const entries = Array.from(
      { length: 200_000 },
      (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`,
    );
    const header = Buffer.from(`{${entries.join(',')}}`);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    const reply = await h.submit('hospital2', 'declared', 0, Buffer.concat([length, header]));
    expect(reply.status).to.equal(422);
    expect(reply.json<{ code: string; detail: string }>()).to.deep.include({
      code: 'FL_ERR_MALFORMED_CONTAINER',
      detail: `the header announces ${header.length} bytes; an update of this run's model (4 tensors) needs at most 67584`,
    });
  });

  it('refuses a run without declared sample counts, or with a non-participant in them', async () => {
    for (const sampleCounts of [
      undefined,
      { Hospital1MSP: 1, Hospital2MSP: 1 },
      { Hospital1MSP: 1, Hospital2MSP: 1, Hospital3MSP: 1, Stranger: 1 },
    ]) {
      const reply = await runRequest({ sampleCounts });
      expect(reply.status).to.equal(400);
      expect(reply.json<{ detail: string }>().detail).to.match(/sampleCounts/);
    }
  });

  it('bounds every run: without a bound it records 10 √P and refuses Δ = 3.4e38', async () => {
    await createRun(h, 'unbounded', { updateNormBound: undefined });
    const run = await runOf('unbounded');
    expect(runSettings(run).updateNormBound).to.equal(defaultUpdateNormBound(SPEC));
    const huge = update('unbounded', 0, 'Hospital1MSP', 10, 1, (c) => {
      (c.tensors[0]?.data as Float32Array)[0] = 3.4e38;
    });
    const reply = await h.submit('hospital1', 'unbounded', 0, huge);
    expect(reply.status).to.equal(422);
    expect(reply.json<{ code: string }>().code).to.equal('FL_ERR_NORM_EXCEEDED');
    const none = await runRequest({ updateNormBound: null });
    expect(none.status).to.equal(400);
    expect(none.json<{ detail: string }>().detail).to.match(
      /^updateNormBound must be a positive number/,
    );
  });

  it('refuses a round deadline past 90 days with a clear 400', async () => {
    const reply = await runRequest({ roundDeadlineSeconds: 91 * 24 * 3600 });
    expect(reply.status).to.equal(400);
    expect(reply.json<{ detail: string }>().detail).to.equal(
      'roundDeadlineSeconds must be an integer from 1 to 7776000 (90 days)',
    );
  });

  it('keeps a round with a 30-day deadline open for 30 days, then closes it with the quorum', async () => {
    const clock = sinon.useFakeTimers({
      now: Date.now(),
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
    try {
      await createRun(h, 'month', { roundsPlanned: 1, roundDeadlineSeconds: 30 * 24 * 3600 });
      for (const [who, msp] of [
        ['hospital1', 'Hospital1MSP'],
        ['hospital2', 'Hospital2MSP'],
      ] as const) {
        const reply = await h.submit(who, 'month', 0, update('month', 0, msp, 10, 1));
        expect(reply.status).to.equal(200);
      }
      const status = async () =>
        (await h.call('auditor', 'GET', '/v1/runs/month/rounds/0')).json<{
          round: { status: string };
        }>().round.status;
      await clock.tickAsync(5_000);
      expect(await status()).to.equal('open');
      await clock.tickAsync(29 * 24 * 3600 * 1000);
      expect(await status()).to.equal('open');
      await clock.tickAsync(24 * 3600 * 1000 + 5_000);
      // The deadline closes the round with 2 of 3 updates (the quorum); the close is async.
      for (let i = 0; i < 50 && (await status()) === 'open'; i++) await clock.tickAsync(100);
      expect(await status()).to.equal('closed');
    } finally {
      clock.restore();
    }
  });
});
