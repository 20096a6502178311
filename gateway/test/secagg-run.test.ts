// A secure-aggregation run through the real gateway on the simulated ledger, hospitals played
// with the protocol's own functions (gateway/src/testing/secagg-hospitals.ts): keys advertised in
// transactions each hospital signs, shares dealt and relayed, masked updates, reveals. The
// aggregate equals the plaintext FedAvg within the quantisation bound, the gateway's stored
// update is uncorrelated with the plain one, a hospital that drops after dealing its shares does
// not stop the round, and the auditor recomputes every aggregate from what the ledger names.
import { expect } from 'chai';
import { RoundDecisionError, decideRound } from '@fedledger/rules';
import { decodeContainer, maskedWords } from '@fedledger/protocol';
import type { KeysRecord } from '@fedledger/protocol';
import { SecAggError, advertise, newRoundSecrets, quantise } from '@fedledger/protocol/secagg';
import type { OrgName } from '../src/testing';
import {
  Harness,
  SECAGG_HOSPITALS,
  SECAGG_MSP,
  createSecAggRun,
  playSecAggRound,
  secAggError,
  secAggSettingsOf,
  wordCorrelation,
} from '../src/testing';

const ALL = Object.values(SECAGG_MSP);

describe('secure-aggregation run (simulated ledger, real gateway)', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  async function verify(runId: string) {
    const res = await h.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`);
    return res.json<{ ok: boolean; rounds: { ok: boolean; problems: unknown[] }[] }>();
  }

  it('aggregates three masked updates to the plaintext FedAvg within the quantisation bound, and the auditor agrees', async () => {
    const runId = 'secagg-all';
    const initial = await createSecAggRun(h, runId, 2);
    const s = await secAggSettingsOf(h, runId);
    expect(s.threshold).to.equal(2);
    expect(s.weightScale).to.equal(3000);
    let input = await h.gateway.blobs.get(initial);
    for (let r = 0; r < 2; r++) {
      const { hospitals, closed } = await playSecAggRound(h, runId, r, {
        submitters: SECAGG_HOSPITALS,
      });
      expect(closed.included).to.deep.equal(ALL);
      expect(closed.secagg?.recovery?.map((e) => e.mspId)).to.deep.equal(ALL);
      const { worst, bound } = await secAggError(h, closed, input, hospitals, s);
      expect(worst).to.be.greaterThan(0);
      expect(worst).to.be.lessThan(bound);
      // What the gateway stores for one hospital looks nothing like its update.
      const first = hospitals[0];
      const details = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${r}`);
      const record = details.json<{ updates: { sha256: string }[] }>().updates[0];
      const stored = decodeContainer(await h.gateway.blobs.get(record?.sha256 ?? ''));
      const words = maskedWords(stored, first?.plain.length ?? 0);
      const plain = quantise(first?.plain ?? [], 600 / s.weightScale, s);
      expect(Math.abs(wordCorrelation(words, plain))).to.be.lessThan(0.05);
      // …while the plain words do follow the update (the measure can see a relation).
      const again = quantise(first?.plain ?? [], 1200 / s.weightScale, s);
      expect(wordCorrelation(again, plain)).to.be.greaterThan(0.99);
      input = await h.gateway.blobs.get(closed.aggregateHash ?? '');
    }
    const report = await verify(runId);
    expect(
      report.rounds.map((x) => x.ok),
      JSON.stringify(report.rounds),
    ).to.deep.equal([true, true]);
    expect(report.ok).to.equal(true);
  });

  it('closes and verifies a round whose third hospital dropped after dealing its shares', async () => {
    const runId = 'secagg-dropout';
    // Closing with two of three survivors is the run's choice (minSurvivors 2): by default a
    // round needs all three, so that no survivor's update is the sum minus a colluder's.
    const initial = await createSecAggRun(h, runId, 1, { phaseSeconds: 2, minSurvivors: 2 });
    const s = await secAggSettingsOf(h, runId);
    const { hospitals, closed } = await playSecAggRound(h, runId, 0, {
      submitters: ['hospital1', 'hospital2'],
    });
    expect(closed.secagg?.maskSet.map((e) => e.mspId)).to.deep.equal(ALL);
    expect(closed.secagg?.survivors).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    expect(closed.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    const input = await h.gateway.blobs.get(initial);
    const { worst, bound } = await secAggError(h, closed, input, hospitals, s);
    expect(worst).to.be.lessThan(bound);
    expect((await verify(runId)).ok).to.equal(true);
  });

  it('a gateway that substitutes a hospital’s keys is caught by the others before they mask', async () => {
    const runId = 'secagg-substituted';
    await createSecAggRun(h, runId, 1);
    // The gateway tells Hospital2 that Hospital1's keys are keys the gateway holds the secrets of.
    const theirs = advertise({ runId, round: 0 }, 'Hospital1MSP', newRoundSecrets());
    const lying = async (who: OrgName, id: string, round: number): Promise<KeysRecord[]> => {
      const res = await h.call(who, 'GET', `/v1/runs/${id}/rounds/${round}/secagg/keys`);
      const keys = res.json<KeysRecord[]>();
      if (who !== 'hospital2') return keys;
      return keys.map((k) => (k.mspId === 'Hospital1MSP' ? { ...k, ...theirs } : k));
    };
    let refused: unknown;
    try {
      await playSecAggRound(h, runId, 0, { submitters: SECAGG_HOSPITALS, readKeys: lying });
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(SecAggError);
    expect((refused as SecAggError).code).to.equal('SECAGG_SHARE_UNAUTHENTIC');
    expect((refused as Error).message).to.contain('Hospital1MSP');
    // Nobody masked: no update reached the ledger.
    const details = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/0`);
    expect(details.json<{ updates: unknown[] }>().updates).to.deep.equal([]);
  });

  it('leaves out of the mask set a dealer that left another hospital out of its bundle, not its victim', async () => {
    const runId = 'secagg-omitting-dealer';
    await createSecAggRun(h, runId, 1, { phaseSeconds: 2, minSurvivors: 2 });
    const { closed } = await playSecAggRound(h, runId, 0, {
      submitters: ['hospital1', 'hospital2'],
      omit: { dealer: 'hospital3', recipient: 'Hospital1MSP' },
    });
    expect(closed.secagg?.maskSet.map((e) => e.mspId)).to.deep.equal([
      'Hospital1MSP',
      'Hospital2MSP',
    ]);
    expect(closed.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    const report = await verify(runId);
    expect(report.ok).to.equal(true);
    expect(JSON.stringify(report.rounds[0])).to.contain('LEFT_OUT_OF_MASK_SET');
    expect(JSON.stringify(report.rounds[0])).to.contain('Hospital3MSP advertised keys');
  });

  it('by default never unmasks two survivors of three: the round waits rather than expose one update', async () => {
    const runId = 'secagg-two-of-three';
    await createSecAggRun(h, runId, 1);
    expect((await secAggSettingsOf(h, runId)).minSurvivors).to.equal(3);
    let stuck: unknown;
    try {
      await playSecAggRound(h, runId, 0, {
        submitters: ['hospital1', 'hospital2'],
        timeoutMs: 6000,
      });
    } catch (err) {
      stuck = err;
    }
    expect(String(stuck)).to.match(/did not reach the state awaited/);
    const round = (await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/0`)).json<{
      round: { status: string; secagg?: { phase: string } };
    }>().round;
    expect(round.status).to.equal('open');
    expect(round.secagg?.phase).to.equal('masking');
  });

  it('abandons a round a hospital spoiled with shares of another seed, carries the model over, and goes on', async () => {
    const runId = 'secagg-spoiled';
    const initial = await createSecAggRun(h, runId, 2);
    const { closed } = await playSecAggRound(h, runId, 0, {
      submitters: SECAGG_HOSPITALS,
      inconsistentDealer: 'hospital2',
    });
    expect(closed.secagg?.abandoned).to.equal(true);
    expect(closed.aggregateHash).to.equal(initial);
    expect(closed.included).to.deep.equal([]);
    expect(closed.excluded?.map((e) => e.code)).to.deep.equal([
      'SECAGG_UNRECOVERABLE',
      'SECAGG_UNRECOVERABLE',
      'SECAGG_UNRECOVERABLE',
    ]);
    // The run goes on from the same model, and the next round aggregates.
    const next = await playSecAggRound(h, runId, 1, { submitters: SECAGG_HOSPITALS });
    expect(next.closed.included).to.deep.equal(ALL);
    const report = await verify(runId);
    expect(
      report.rounds.map((x) => x.ok),
      JSON.stringify(report.rounds),
    ).to.deep.equal([true, true]);
  });

  it('flags a round abandoned by a coordinator although its sum could be recovered (FALSE_ABANDON)', async () => {
    const liar = await Harness.create({
      decide: async (input) => {
        if (input.run.runId === 'secagg-false-abandon') {
          throw new RoundDecisionError('SECAGG_UNRECOVERABLE', 'a lie: nothing was wrong');
        }
        return decideRound(input);
      },
    });
    try {
      const runId = 'secagg-false-abandon';
      await createSecAggRun(liar, runId, 1);
      const { closed } = await playSecAggRound(liar, runId, 0, { submitters: SECAGG_HOSPITALS });
      expect(closed.secagg?.abandoned).to.equal(true);
      const res = await liar.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`);
      const report = res.json<{ ok: boolean; rounds: { problems: { code: string }[] }[] }>();
      expect(report.ok).to.equal(false);
      expect(report.rounds[0]?.problems.map((p) => p.code)).to.deep.equal(['FALSE_ABANDON']);
    } finally {
      await liar.dispose();
    }
  });

  it('refuses a reveal before unmasking and a share bundle that is not one', async () => {
    const runId = 'secagg-phases';
    await createSecAggRun(h, runId, 1);
    const json = { 'content-type': 'application/json' };
    const base = `/v1/runs/${runId}/rounds/0/secagg`;
    const early = await h.call('hospital1', 'POST', `${base}/reveal`, '{}', json);
    expect(early.status).to.equal(409);
    expect(early.json<{ code: string }>().code).to.equal('FL_ERR_SECAGG_PHASE');
    const bad = await h.call('hospital1', 'POST', `${base}/shares`, '{"format":"x"}', json);
    expect(bad.status).to.equal(422);
    expect(bad.json<{ code: string }>().code).to.equal('FL_ERR_SECAGG_MALFORMED');
    const plainRun = await h.call('hospital1', 'GET', `/v1/runs/nope/rounds/0/secagg/keys`);
    expect(plainRun.status).to.equal(404);
  });
});
