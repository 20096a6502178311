// The hospital's secure-aggregation steps without a gateway: three hospitals' masked updates,
// unmasked from their reveals, sum to Σ (n/S)·Δ within the quantisation bound (so the update is
// flattened in the spec's order and weighted as the rules decode it); a swapped bundle, a forged
// one the ledger names, a bundle of its own the ledger does not name, and keys recorded by
// another MSP are refused naming the hospital; a second split of survivors is refused; the round
// state on disk is private (0600), its secrets wiped once the round is over, and kept apart from
// the state of an earlier run with the same ID.
import { copyFileSync, statSync } from 'node:fs';
import { expect } from 'chai';
import type {
  KeyAdvertisement,
  KeysRecord,
  MaskSetEntry,
  RoundRecord,
  RoundSecrets,
  RunRecord,
  SecAggSettings,
} from '@fedledger/protocol';
import {
  decodeContainer,
  maskedWords,
  modelSpecHash,
  parameterCount,
  sha256Hex,
} from '@fedledger/protocol';
import {
  advertise,
  dealShares,
  decodeReveal,
  dequantise,
  encodeReveal,
  encodeShareBundle,
  newRoundSecrets,
  revealShares,
  unmaskSum,
} from '@fedledger/protocol/secagg';
import type { SecAggRoundErrorCode } from '../src/client/secagg-steps';
import {
  SecAggRoundError,
  checkSameSplit,
  checkedKeys,
  flattenUpdate,
  maskedUpdateBytes,
  openMaskSetShares,
  revealPlan,
} from '../src/client/secagg-steps';
import { newSecAggStore } from '../src/client/secagg-store';
import { TINY_SPEC, tinyUpdate } from './gateway-client-fixture';
import { tempDir } from './helpers';

const MSPS = ['Hospital1MSP', 'Hospital2MSP', 'Hospital3MSP'];
const ctx = { runId: 'sa', round: 1 };
const settings: SecAggSettings = {
  threshold: 2,
  range: 16,
  fractionBits: 24,
  weightScale: 60,
  phaseSeconds: 60,
  minSurvivors: 2,
};
/** Declared sample counts (they weigh the masked updates), summing to the weight scale. */
const DECLARED: Record<string, number> = { Hospital1MSP: 15, Hospital2MSP: 20, Hospital3MSP: 25 };
const run = {
  runId: 'sa',
  participants: MSPS,
  sampleCounts: DECLARED,
  minUpdatesPerRound: 2,
  modelSpecHash: modelSpecHash(TINY_SPEC),
  settings: { modelSpec: TINY_SPEC, encoding: 'secagg', secagg: settings },
} as unknown as RunRecord;

async function rejected(
  promise: Promise<unknown> | (() => unknown),
  code: SecAggRoundErrorCode,
): Promise<SecAggRoundError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    expect(err, (err as Error).stack).to.be.instanceOf(SecAggRoundError);
    expect((err as SecAggRoundError).code).to.equal(code);
    return err as SecAggRoundError;
  }
  throw new Error(`expected ${code}`);
}

describe('secure-aggregation steps of a hospital', () => {
  const secrets = new Map<string, RoundSecrets>();
  const ads = new Map<string, KeyAdvertisement>();
  const bundles = new Map<string, Uint8Array>();
  let maskSet: MaskSetEntry[];

  before(async () => {
    for (const msp of MSPS) {
      secrets.set(msp, newRoundSecrets());
      ads.set(msp, advertise(ctx, msp, secrets.get(msp)!));
    }
    for (const msp of MSPS) {
      const bundle = await dealShares(ctx, msp, secrets.get(msp)!, [...ads.values()], 2);
      bundles.set(msp, encodeShareBundle(bundle));
    }
    maskSet = MSPS.map((mspId) => ({ mspId, sharesSha256: sha256Hex(bundles.get(mspId)!) }));
  });

  const open = (me: string, fetch = (d: string) => Promise.resolve(bundles.get(d)!)) =>
    openMaskSetShares({
      ctx,
      me,
      secrets: secrets.get(me)!,
      maskSet,
      keys: ads,
      ownBundle: Buffer.from(bundles.get(me)!).toString('utf8'),
      fetch,
    });

  it('masks updates whose unmasked sum is Σ (n/S)·Δ in spec order, within the quantisation bound', async () => {
    const masked = new Map<string, Uint32Array>();
    const reveals = [];
    const expected = new Float64Array(parameterCount(TINY_SPEC));
    for (const [i, me] of MSPS.entries()) {
      const plaintext = tinyUpdate('sa', 1, me, i + 3);
      const { metadata, tensors } = decodeContainer(plaintext);
      const flat = flattenUpdate(tensors, TINY_SPEC);
      // Weighed by the declared count, whatever the trained update says.
      flat.forEach((x, k) => (expected[k]! += (DECLARED[me]! / settings.weightScale) * x));
      const held = await open(me);
      const bytes = maskedUpdateBytes({
        run,
        settings,
        ctx,
        me,
        secrets: secrets.get(me)!,
        maskSet: [...ads.values()],
        plaintext,
      });
      const container = decodeContainer(bytes);
      expect(container.metadata).to.deep.equal({
        ...metadata,
        sampleCount: DECLARED[me],
        encoding: 'secagg',
      });
      const words = maskedWords(container, expected.length);
      // Masked words look random: nearly all are far outside the quantised update's ±2^18.
      const large = [...words].filter((w) => Math.abs(w | 0) > 2 ** 24).length;
      expect(large / words.length).to.be.greaterThan(0.9);
      masked.set(me, words);
      reveals.push(decodeReveal(encodeReveal(revealShares(ctx, me, held, MSPS, []))));
    }
    const sum = dequantise(
      await unmaskSum(ctx, [...ads.values()], masked, reveals, settings.threshold),
      settings,
    );
    const bound = 3 * 2 ** -(settings.fractionBits + 1);
    let worst = 0;
    sum.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - expected[k]!))));
    expect(worst).to.be.at.most(bound);
    expect(Math.max(...expected.map(Math.abs))).to.be.greaterThan(1e-3);
  });

  it('refuses a bundle the gateway swapped for another dealer’s, naming the dealer', async () => {
    const err = await rejected(
      open('Hospital1MSP', (d) =>
        Promise.resolve(bundles.get(d === 'Hospital2MSP' ? 'Hospital3MSP' : d)!),
      ),
      'SECAGG_BUNDLE_MISMATCH',
    );
    expect(err.mspId).to.equal('Hospital2MSP');
    expect(err.message).to.contain('the gateway serves a bundle of Hospital2MSP');
  });

  it('refuses a forged bundle even when the mask set names it (sealed under another key)', async () => {
    const impostor = newRoundSecrets();
    const recipients = [...ads.values()].map((a) =>
      a.mspId === 'Hospital2MSP' ? advertise(ctx, 'Hospital2MSP', impostor) : a,
    );
    const forged = encodeShareBundle(
      await dealShares(ctx, 'Hospital2MSP', impostor, recipients, 2),
    );
    const saved = maskSet;
    maskSet = maskSet.map((e) =>
      e.mspId === 'Hospital2MSP' ? { ...e, sharesSha256: sha256Hex(forged) } : e,
    );
    try {
      const err = await rejected(
        open('Hospital1MSP', (d) =>
          Promise.resolve(d === 'Hospital2MSP' ? forged : bundles.get(d)!),
        ),
        'SECAGG_SHARE_UNAUTHENTIC',
      );
      expect(err.mspId).to.equal('Hospital2MSP');
      // The mask set now names a bundle Hospital2 never dealt: Hospital2 refuses as well.
      const own = await rejected(open('Hospital2MSP'), 'SECAGG_BUNDLE_MISMATCH');
      expect(own.mspId).to.equal('Hospital2MSP');
      expect(own.message).to.contain('not the one it dealt');
    } finally {
      maskSet = saved;
    }
  });

  it('refuses key records made by another MSP, for another round or twice', async () => {
    const record = (msp: string, changes: Partial<KeysRecord> = {}): KeysRecord => ({
      ...ctx,
      ...ads.get(msp)!,
      docType: 'secaggKeys',
      key: `secagg-keys/sa/1/${msp}`,
      creator: { mspId: msp, certFingerprint: 'f'.repeat(64) },
      txId: 't',
      timestamp: '2026-01-01T00:00:00.000Z',
      ...changes,
    });
    expect([
      ...checkedKeys(
        run,
        1,
        MSPS.map((m) => record(m)),
      ).keys(),
    ]).to.deep.equal(MSPS);
    const forged = record('Hospital2MSP', {
      creator: { mspId: 'Hospital1MSP', certFingerprint: 'f'.repeat(64) },
    });
    const err = await rejected(
      () => checkedKeys(run, 1, [record('Hospital1MSP'), forged]),
      'SECAGG_KEYS_INVALID',
    );
    expect(err.mspId).to.equal('Hospital2MSP');
    expect(err.message).to.contain('was recorded by Hospital1MSP');
    await rejected(
      () => checkedKeys(run, 1, [record('Hospital1MSP', { round: 0 })]),
      'SECAGG_KEYS_INVALID',
    );
    await rejected(
      () => checkedKeys(run, 1, [record('Hospital1MSP'), record('Hospital1MSP')]),
      'SECAGG_KEYS_INVALID',
    );
  });

  it('reveals for the ledger’s survivors only, and never for a second split', async () => {
    const record = (survivors: string[]): RoundRecord =>
      ({
        status: 'open',
        secagg: { phase: 'unmasking', maskSet, maskingAt: '', survivors },
      }) as unknown as RoundRecord;
    expect(revealPlan(record(['Hospital1MSP', 'Hospital3MSP']), 'Hospital1MSP', 2)).to.deep.equal({
      reveal: true,
      survivors: ['Hospital1MSP', 'Hospital3MSP'],
      dropped: ['Hospital2MSP'],
    });
    expect(revealPlan(record(['Hospital2MSP', 'Hospital3MSP']), 'Hospital1MSP', 2).reveal).to.equal(
      false,
    );
    expect(revealPlan(record(['Hospital1MSP']), 'Hospital1MSP', 2).reveal).to.equal(false);
    expect(revealPlan(record(['Hospital1MSP', 'StrangerMSP']), 'Hospital1MSP', 2).reveal).to.equal(
      false,
    );
    const first = { survivors: MSPS, dropped: [], reveal: '{}' };
    checkSameSplit(first, { survivors: [...MSPS].reverse(), dropped: [] });
    const err = await rejected(
      () =>
        checkSameSplit(first, {
          survivors: ['Hospital1MSP', 'Hospital2MSP'],
          dropped: ['Hospital3MSP'],
        }),
      'SECAGG_SPLIT_CHANGED',
    );
    expect(err.mspId).to.equal('Hospital3MSP');
    expect(err.message).to.contain('Hospital3MSP would be unmasked');
  });

  it('keeps round state private (0600) and wipes its secrets once the round is over', async () => {
    const store = newSecAggStore(tempDir());
    const bound = { runId: 'sa', txId: 'ab'.repeat(32) };
    const held = await open('Hospital1MSP');
    await store.save({
      runId: 'sa',
      runTxId: bound.txId,
      round: 1,
      mspId: 'Hospital1MSP',
      secrets: secrets.get('Hospital1MSP')!,
      held,
      revealed: { survivors: MSPS, dropped: [], reveal: '{}' },
    });
    await store.saveMasked(bound, 1, new Uint8Array([1, 2, 3]));
    const file = `${store.dir}/sa/abababababab/1.json`;
    expect(store.runDir(bound)).to.equal(`${store.dir}/sa/abababababab`);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(`${store.dir}/sa/abababababab`).mode & 0o777).to.equal(0o700);
    const loaded = await store.load(bound, 1);
    expect(loaded?.secrets?.maskSecret).to.deep.equal(secrets.get('Hospital1MSP')!.maskSecret);
    expect(loaded?.held).to.deep.equal(held);
    expect(await store.forgetBefore(bound, 1)).to.deep.equal([]);
    expect(await store.forgetBefore(bound, 2)).to.deep.equal([1]);
    const wiped = await store.load(bound, 1);
    expect(wiped).to.deep.equal({
      runId: 'sa',
      runTxId: bound.txId,
      round: 1,
      mspId: 'Hospital1MSP',
      revealed: { survivors: MSPS, dropped: [], reveal: '{}' },
    });
    expect(await store.loadMasked(bound, 1)).to.equal(undefined);
    expect(await store.forget(bound, 1)).to.equal(false);
    expect(await store.forgetRun('sa')).to.equal(true);
    expect(await store.hasRun('sa')).to.equal(false);
    expect(await store.load(bound, 1)).to.equal(undefined);
  });

  it('keeps the state of a run apart from an earlier run with the same ID', async () => {
    const store = newSecAggStore(tempDir());
    const earlier = { runId: 'sa', txId: '11'.repeat(32) };
    const later = { runId: 'sa', txId: '22'.repeat(32) };
    const state = { runId: 'sa', round: 0, mspId: 'Hospital1MSP' };
    await store.save({ ...state, runTxId: earlier.txId, secrets: secrets.get('Hospital1MSP')! });
    expect(await store.load(later, 0)).to.equal(undefined);
    expect(await store.rounds(later)).to.deep.equal([]);
    expect(await store.hasRun('sa')).to.equal(true);
    // A file moved under the other run's folder is refused, not read as that run's.
    await store.save({ ...state, runTxId: later.txId });
    copyFileSync(`${store.runDir(earlier)}/0.json`, `${store.runDir(later)}/0.json`);
    try {
      await store.load(later, 0);
      expect.fail('a file of the earlier run was read');
    } catch (err) {
      expect(err).to.be.instanceOf(TypeError);
    }
    expect(await store.forgetOtherRuns(later)).to.deep.equal(['111111111111']);
    expect(await store.load(earlier, 0)).to.equal(undefined);
    expect(await store.hasRun('sa')).to.equal(true);
    // A transaction ID that is not hex still gets a folder of its own, not a path.
    expect(store.runDir({ runId: 'sa', txId: '../x' })).to.match(/\/sa\/[0-9a-f]{12}$/);
  });
});
