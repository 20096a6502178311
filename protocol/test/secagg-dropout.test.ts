// Dropouts: a hospital that dealt its shares but never sent its masked update is unmasked out of
// the sum by the survivors' reveals of its mask secret, and the survivors' sum comes out exact.
import { expect } from 'chai';
import { defaultSecAggSettings, quantise, unmaskSum } from '../src/secagg';
import {
  ctx,
  dealAndOpen,
  expectCode,
  hospitals,
  maskAll,
  plainSum,
  revealAll,
  seededVector,
} from './secagg-helpers';

const P = 5_000;

describe('secure aggregation: dropouts', function () {
  this.timeout(60_000);

  it('recovers the survivors’ exact sum when one of three drops before sending its update', async () => {
    const settings = defaultSecAggSettings(3, 3);
    const all = hospitals(3);
    const quantised = new Map(
      all.map((h, k) => [h.name, quantise(seededVector(P, 20 + k), 1 / 3, settings)]),
    );
    const { held } = await dealAndOpen(all, settings.threshold);
    const [a, b, c] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0]];
    const masked = maskAll(all, [a, b], quantised);
    const reveals = revealAll([a, b], held, [a.name, b.name], [c.name]);
    expect(reveals.map((r) => r.maskSecretShares.map((s) => s.of))).to.deep.equal([
      [c.name],
      [c.name],
    ]);
    expect(reveals.map((r) => r.selfMaskShares.map((s) => s.of))).to.deep.equal([
      [a.name, b.name],
      [a.name, b.name],
    ]);
    const sum = await unmaskSum(
      ctx,
      all.map((h) => h.ad),
      masked,
      reveals,
      settings.threshold,
    );
    const expected = plainSum([quantised.get(a.name), quantised.get(b.name)] as Uint32Array[], P);
    expect(sum).to.deep.equal(expected);
  });

  it('without the dropped hospital’s mask secret the sum is refused, naming it', async () => {
    const all = hospitals(3);
    const quantised = new Map(all.map((h) => [h.name, new Uint32Array(10)]));
    const { held } = await dealAndOpen(all, 2);
    const [a, b, c] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0]];
    const masked = maskAll(all, [a, b], quantised);
    // The reveals were made as if everyone survived: no share of c's mask secret.
    const reveals = revealAll([a, b, c], held, [a.name, b.name, c.name], []);
    const error = await expectCode(
      () =>
        unmaskSum(
          ctx,
          all.map((h) => h.ad),
          masked,
          reveals,
          2,
        ),
      'SECAGG_RECOVERY_FAILED',
    );
    expect(error.mspId).to.equal(c.name);
    expect(error.message).to.contain(c.name);
  });

  it('two of five drop: the three survivors’ sum, threshold 3', async () => {
    const all = hospitals(5);
    const quantised = new Map(
      all.map((h, k) => [
        h.name,
        quantise(seededVector(P, 40 + k), 0.2, defaultSecAggSettings(5, 5)),
      ]),
    );
    const { held } = await dealAndOpen(all, 3);
    const alive = all.slice(0, 3);
    const gone = all.slice(3);
    const masked = maskAll(all, alive, quantised);
    const reveals = revealAll(
      alive,
      held,
      alive.map((h) => h.name),
      gone.map((h) => h.name),
    );
    const sum = await unmaskSum(
      ctx,
      all.map((h) => h.ad),
      masked,
      reveals,
      3,
    );
    expect(sum).to.deep.equal(
      plainSum(
        alive.map((h) => quantised.get(h.name) as Uint32Array),
        P,
      ),
    );
  });

  it('refuses to aggregate fewer survivors than the threshold', async () => {
    const all = hospitals(3);
    const { held } = await dealAndOpen(all, 2);
    const quantised = new Map(all.map((h) => [h.name, new Uint32Array(4)]));
    const masked = maskAll(all, all.slice(0, 1), quantised);
    const reveals = revealAll(
      all.slice(0, 2),
      held,
      [all[0]?.name as string, all[1]?.name as string],
      [],
    );
    await expectCode(
      () =>
        unmaskSum(
          ctx,
          all.map((h) => h.ad),
          masked,
          reveals,
          2,
        ),
      'SECAGG_RECOVERY_FAILED',
    );
  });
});
