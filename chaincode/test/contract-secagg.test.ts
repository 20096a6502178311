// The contract's rules of secure-aggregation rounds, in pairs: keys only from the hospital itself
// while the round collects keys, never overwritten; a mask set only of hospitals with keys, at
// least the threshold; masked updates only from the mask set while masking; the survivors fixed
// before the close, which includes only survivors and names its recovery material.
import { expect } from 'chai';
import type { AuditTrail, KeysRecord, RoundRecord } from '@fedledger/protocol';
import { SimulatedLedger } from '../src';
import {
  auditor,
  closeRequest,
  coordinator,
  expectRefusal,
  h1,
  h2,
  h3,
  hashOf,
  ledgerWithOpenRound,
  runConfig,
  submission,
} from './fixtures';

const SECAGG_SETTINGS = {
  threshold: 2,
  range: 16,
  fractionBits: 26,
  weightScale: 150_000,
  phaseSeconds: 60,
  minSurvivors: 2,
};
const SECAGG = runConfig({
  settings: { encoding: 'secagg', roundDeadlineSeconds: 600, secagg: SECAGG_SETTINGS },
});

/** The ledger's clock, moved by the tests (phases and deadlines count from the round's opening). */
let clock = Date.parse('2026-12-01T10:00:00Z');
const later = (seconds: number): void => {
  clock += seconds * 1000;
};

async function secaggLedger(config = SECAGG): Promise<SimulatedLedger> {
  const ledger = new SimulatedLedger({ now: () => new Date(clock) });
  await ledger.submit(coordinator, 'CreateRun', JSON.stringify(config));
  await ledger.submit(coordinator, 'OpenRound', config.runId, '0', config.initialModelHash);
  return ledger;
}

function keys(hospital: { mspId: string }, round = 0, overrides: Record<string, unknown> = {}) {
  return JSON.stringify({
    runId: 'run-1',
    round,
    mspId: hospital.mspId,
    encryptionKey: hashOf(`enc ${hospital.mspId}`),
    maskKey: hashOf(`mask ${hospital.mspId}`),
    selfMaskCommitment: hashOf(`commit ${hospital.mspId}`),
    ...overrides,
  });
}

const masked = (h: { mspId: string }, sampleCount = 50_000) =>
  submission(h as never, 0, { encoding: 'secagg', sampleCount });

function maskSet(...who: { mspId: string }[]) {
  return JSON.stringify({
    runId: 'run-1',
    round: 0,
    maskSet: who.map((h) => ({ mspId: h.mspId, sharesSha256: hashOf(`shares ${h.mspId}`) })),
  });
}

async function masking(ledger: SimulatedLedger): Promise<void> {
  for (const h of [h1, h2, h3]) await ledger.submit(h, 'AdvertiseKeys', keys(h));
  await ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2, h3));
}

describe('contract: secure-aggregation rounds', () => {
  it('rejects a run whose settings do not fit it: weights over other counts, a minority threshold, no minSurvivors', async () => {
    const ledger = new SimulatedLedger();
    const misfits = [
      { ...SECAGG_SETTINGS, weightScale: 2 ** 40 },
      { ...SECAGG_SETTINGS, weightScale: 1 },
      { ...SECAGG_SETTINGS, minSurvivors: undefined },
      { ...SECAGG_SETTINGS, fractionBits: 4 },
    ];
    for (const secagg of misfits) {
      const config = runConfig({ settings: { encoding: 'secagg', secagg } });
      await expectRefusal(
        ledger.submit(coordinator, 'CreateRun', JSON.stringify(config)),
        'INVALID_ARGUMENT',
      );
    }
    const median = runConfig({ strategy: 'median', settings: SECAGG.settings });
    await expectRefusal(
      ledger.submit(coordinator, 'CreateRun', JSON.stringify(median)),
      'INVALID_ARGUMENT',
    );
    await ledger.submit(coordinator, 'CreateRun', JSON.stringify(SECAGG));
  });

  it('accepts keys a hospital advertises for itself, readable by everyone, and lists them in the trail', async () => {
    const ledger = await secaggLedger();
    await ledger.submit(h1, 'AdvertiseKeys', keys(h1));
    const listed = JSON.parse(
      await ledger.evaluate(auditor, 'ListKeys', 'run-1', '0'),
    ) as KeysRecord[];
    expect(listed.map((k) => [k.mspId, k.creator.mspId, k.key])).to.deep.equal([
      ['Hospital1MSP', 'Hospital1MSP', 'secagg-keys/run-1/0/Hospital1MSP'],
    ]);
    const trail = JSON.parse(
      await ledger.evaluate(auditor, 'GetAuditTrail', 'run-1'),
    ) as AuditTrail;
    expect(trail.rounds[0]?.keys?.length).to.equal(1);
  });

  it('rejects keys for another hospital, twice, from outsiders, in a plain run or after the mask set is fixed', async () => {
    const ledger = await secaggLedger();
    await expectRefusal(ledger.submit(h1, 'AdvertiseKeys', keys(h2)), 'MSP_MISMATCH');
    await expectRefusal(ledger.submit(auditor, 'AdvertiseKeys', keys(auditor)), 'NOT_PARTICIPANT');
    await expectRefusal(
      ledger.submit(h1, 'AdvertiseKeys', keys(h1, 0, { maskKey: 'zz' })),
      'INVALID_ARGUMENT',
    );
    await expectRefusal(
      ledger.submit(h1, 'AdvertiseKeys', keys(h1, 0, { extra: 1 })),
      'INVALID_ARGUMENT',
    );
    await ledger.submit(h1, 'AdvertiseKeys', keys(h1));
    await expectRefusal(ledger.submit(h1, 'AdvertiseKeys', keys(h1)), 'KEYS_EXIST');
    await ledger.submit(h2, 'AdvertiseKeys', keys(h2));
    later(60);
    await ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2));
    await expectRefusal(ledger.submit(h3, 'AdvertiseKeys', keys(h3)), 'SECAGG_PHASE');
    const plain = await ledgerWithOpenRound();
    await expectRefusal(plain.submit(h1, 'AdvertiseKeys', keys(h1)), 'NOT_SECAGG');
    await expectRefusal(ledger.submit(h1, 'AdvertiseKeys', keys(h1, 1)), 'ROUND_NOT_OPEN');
  });

  it('rejects a mask set from a hospital, below the threshold, naming a hospital without keys, or twice', async () => {
    const ledger = await secaggLedger();
    await ledger.submit(h1, 'AdvertiseKeys', keys(h1));
    await ledger.submit(h2, 'AdvertiseKeys', keys(h2));
    await expectRefusal(ledger.submit(h1, 'BeginMasking', maskSet(h1, h2)), 'NOT_COORDINATOR');
    await expectRefusal(ledger.submit(coordinator, 'BeginMasking', maskSet(h1)), 'QUORUM_NOT_MET');
    await expectRefusal(
      ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2, h3)),
      'NOT_IN_MASK_SET',
    );
    // Leaving Hospital3 out is refused until the key phase (60 s) is over.
    await expectRefusal(
      ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2)),
      'SECAGG_PHASE',
    );
    later(58);
    await expectRefusal(
      ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2)),
      'SECAGG_PHASE',
    );
    later(3);
    await ledger.submit(coordinator, 'BeginMasking', maskSet(h2, h1));
    const round = JSON.parse(
      await ledger.evaluate(auditor, 'GetRound', 'run-1', '0'),
    ) as RoundRecord;
    expect(round.secagg?.maskSet.map((e) => e.mspId)).to.deep.equal([
      'Hospital1MSP',
      'Hospital2MSP',
    ]);
    await expectRefusal(
      ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2)),
      'SECAGG_PHASE',
    );
    const plain = await ledgerWithOpenRound();
    await expectRefusal(plain.submit(coordinator, 'BeginMasking', maskSet(h1, h2)), 'NOT_SECAGG');
  });

  it('accepts masked updates from the mask set while masking, and rejects them before, after, from outside it or unmasked', async () => {
    const ledger = await secaggLedger();
    await expectRefusal(ledger.submit(h1, 'SubmitUpdate', masked(h1)), 'SECAGG_PHASE');
    for (const h of [h1, h2, h3]) await ledger.submit(h, 'AdvertiseKeys', keys(h));
    later(60);
    await ledger.submit(coordinator, 'BeginMasking', maskSet(h1, h2));
    await expectRefusal(ledger.submit(h3, 'SubmitUpdate', masked(h3)), 'NOT_IN_MASK_SET');
    await expectRefusal(ledger.submit(h1, 'SubmitUpdate', submission(h1, 0)), 'INVALID_ARGUMENT');
    // The weight is inside the masked words: the declared count, no other.
    await expectRefusal(ledger.submit(h1, 'SubmitUpdate', masked(h1, 1)), 'INVALID_SAMPLE_COUNT');
    await ledger.submit(h1, 'SubmitUpdate', masked(h1));
    // One survivor is below the fewest the run allows (2): never unmasked.
    later(600);
    await expectRefusal(
      ledger.submit(coordinator, 'BeginUnmasking', 'run-1', '0'),
      'QUORUM_NOT_MET',
    );
    await ledger.submit(h2, 'SubmitUpdate', masked(h2));
    await ledger.submit(coordinator, 'BeginUnmasking', 'run-1', '0');
    await expectRefusal(ledger.submit(h2, 'SubmitUpdate', masked(h2)), 'SECAGG_PHASE');
    await expectRefusal(ledger.submit(coordinator, 'BeginUnmasking', 'run-1', '0'), 'SECAGG_PHASE');
    const plain = await ledgerWithOpenRound();
    await expectRefusal(plain.submit(h1, 'SubmitUpdate', masked(h1)), 'INVALID_ARGUMENT');
    await expectRefusal(plain.submit(coordinator, 'BeginUnmasking', 'run-1', '0'), 'NOT_SECAGG');
  });

  it('closes only after the survivors are fixed, with survivors only, and records the recovery material', async () => {
    const ledger = await secaggLedger();
    await masking(ledger);
    await ledger.submit(h1, 'SubmitUpdate', masked(h1));
    await ledger.submit(h2, 'SubmitUpdate', masked(h2));
    // Hospital3 has until the deadline: the survivors are not fixed before it.
    await expectRefusal(ledger.submit(coordinator, 'BeginUnmasking', 'run-1', '0'), 'SECAGG_PHASE');
    later(600);
    const recovery = [h2, h1].map((h) => ({ mspId: h.mspId, sha256: hashOf(`reveal ${h.mspId}`) }));
    const request = closeRequest(0, ['Hospital1MSP', 'Hospital2MSP'], { recovery });
    await ledger.submit(coordinator, 'BeginUnmasking', 'run-1', '0');
    await expectRefusal(
      ledger.submit(
        coordinator,
        'CloseRound',
        closeRequest(0, ['Hospital1MSP', 'Hospital2MSP'], {
          recovery: [{ mspId: 'Hospital3MSP', sha256: hashOf('x') }],
        }),
      ),
      'INVALID_ARGUMENT',
    );
    await expectRefusal(
      ledger.submit(
        coordinator,
        'CloseRound',
        closeRequest(0, ['Hospital1MSP', 'Hospital2MSP'], { recovery: [recovery[0], recovery[0]] }),
      ),
      'INVALID_ARGUMENT',
    );
    const closed = JSON.parse(
      (await ledger.submit(coordinator, 'CloseRound', request)).result,
    ) as RoundRecord;
    expect(closed.secagg?.survivors).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    expect(closed.secagg?.recovery?.map((e) => e.mspId)).to.deep.equal([
      'Hospital1MSP',
      'Hospital2MSP',
    ]);
    const plain = await ledgerWithOpenRound();
    for (const h of [h1, h2]) await plain.submit(h, 'SubmitUpdate', submission(h, 0));
    await expectRefusal(
      plain.submit(
        coordinator,
        'CloseRound',
        closeRequest(0, ['Hospital1MSP', 'Hospital2MSP'], { recovery }),
      ),
      'INVALID_ARGUMENT',
    );
  });

  it('abandons an unmasking round only after its reveal phase, by the coordinator, carrying its input model over', async () => {
    const ledger = await secaggLedger(runConfig({ ...SECAGG, roundsPlanned: 1 }));
    const abandon = (recovery: unknown[] = []) =>
      JSON.stringify({ runId: 'run-1', round: 0, recovery });
    await expectRefusal(ledger.submit(coordinator, 'AbandonRound', abandon()), 'SECAGG_PHASE');
    await masking(ledger);
    for (const h of [h1, h2, h3]) await ledger.submit(h, 'SubmitUpdate', masked(h));
    await ledger.submit(coordinator, 'BeginUnmasking', 'run-1', '0');
    await expectRefusal(ledger.submit(coordinator, 'AbandonRound', abandon()), 'SECAGG_PHASE');
    later(61);
    await expectRefusal(ledger.submit(h1, 'AbandonRound', abandon()), 'NOT_COORDINATOR');
    await expectRefusal(
      ledger.submit(
        coordinator,
        'AbandonRound',
        abandon([{ mspId: 'AuditorMSP', sha256: hashOf('r') }]),
      ),
      'INVALID_ARGUMENT',
    );
    const plain = await ledgerWithOpenRound();
    await expectRefusal(plain.submit(coordinator, 'AbandonRound', abandon()), 'NOT_SECAGG');
    const recovery = [{ mspId: 'Hospital1MSP', sha256: hashOf('reveal') }];
    const closed = JSON.parse(
      (await ledger.submit(coordinator, 'AbandonRound', abandon(recovery))).result,
    ) as RoundRecord;
    expect(closed.status).to.equal('closed');
    expect(closed.aggregateHash).to.equal(SECAGG.initialModelHash);
    expect(closed.included).to.deep.equal([]);
    expect(closed.excluded?.map((e) => e.code)).to.deep.equal([
      'SECAGG_UNRECOVERABLE',
      'SECAGG_UNRECOVERABLE',
      'SECAGG_UNRECOVERABLE',
    ]);
    expect(closed.secagg?.abandoned).to.equal(true);
    expect(closed.secagg?.recovery).to.deep.equal(recovery);
    const run = JSON.parse(await ledger.evaluate(auditor, 'GetRun', 'run-1')) as { status: string };
    expect(run.status).to.equal('completed');
    await expectRefusal(ledger.submit(coordinator, 'AbandonRound', abandon()), 'RUN_COMPLETED');
  });
});
