// Secure aggregation against a gateway that tampers with sealed shares: entries moved to another
// recipient, altered, reflected back to their dealer, dealt under a substituted key advertisement
// or replayed from another round. The recipient must refuse each one.
import { expect } from 'chai';
import type { ShareBundle } from '../src/secagg';
import { advertise, dealShares, newRoundSecrets, openShare } from '../src/secagg';
import type { Hospital } from './secagg-helpers';
import { ctx, expectCode, hospitals } from './secagg-helpers';

describe('secure aggregation: a gateway tampering with sealed shares', function () {
  this.timeout(30_000);
  let all: Hospital[];
  let bundle: ShareBundle;
  let a: Hospital;
  let b: Hospital;
  let c: Hospital;

  before(async () => {
    all = hospitals(3);
    [a, b, c] = all as [Hospital, Hospital, Hospital];
    bundle = await dealShares(
      ctx,
      a.name,
      a.secrets,
      all.map((h) => h.ad),
      2,
    );
  });

  it('the genuine entry opens', () => {
    const share = openShare(ctx, b.name, b.secrets, bundle, a.ad);
    expect(share.dealer).to.equal(a.name);
    expect(share.maskSecretShare).to.have.length(33);
  });

  it('refuses an entry moved to another recipient', async () => {
    const swapped = structuredClone(bundle);
    const [, forB, forC] = swapped.shares as [
      unknown,
      ShareBundle['shares'][0],
      ShareBundle['shares'][0],
    ];
    [forB.nonce, forC.nonce] = [forC.nonce, forB.nonce];
    [forB.ciphertext, forC.ciphertext] = [forC.ciphertext, forB.ciphertext];
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, swapped, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
    await expectCode(
      () => openShare(ctx, c.name, c.secrets, swapped, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses an entry reflected back: b’s share for a passed off as a’s share for b', async () => {
    // Both directions of a pair agree on the same X25519 secret; the key and associated data
    // name dealer and recipient so one direction cannot stand in for the other.
    const fromB = await dealShares(
      ctx,
      b.name,
      b.secrets,
      all.map((h) => h.ad),
      2,
    );
    const reflected = structuredClone(bundle);
    const target = reflected.shares[1] as ShareBundle['shares'][0];
    const source = fromB.shares[0] as ShareBundle['shares'][0];
    target.nonce = source.nonce;
    target.ciphertext = source.ciphertext;
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, reflected, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses an altered ciphertext', async () => {
    const altered = structuredClone(bundle);
    const entry = altered.shares[1] as ShareBundle['shares'][0];
    entry.ciphertext = (entry.ciphertext[0] === '0' ? '1' : '0') + entry.ciphertext.slice(1);
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, altered, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses a bundle dealt under a substituted key advertisement', async () => {
    // The gateway makes keys of its own, advertises them as a's to the dealing step, and deals
    // shares it knows; b opens with a's advertisement from the ledger.
    const forged = newRoundSecrets();
    const forgedAd = advertise(ctx, a.name, forged);
    const fake = await dealShares(ctx, a.name, forged, [forgedAd, b.ad, c.ad], 2);
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, fake, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
    // And a's genuine bundle does not open against the substituted advertisement.
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, bundle, forgedAd),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses an entry replayed from another round', async () => {
    const other = { runId: ctx.runId, round: ctx.round + 1 };
    const old = await dealShares(
      other,
      a.name,
      a.secrets,
      all.map((h) => h.ad),
      2,
    );
    await expectCode(() => openShare(ctx, b.name, b.secrets, old, a.ad), 'SECAGG_MALFORMED');
    const relabelled = { ...old, round: ctx.round };
    await expectCode(
      () => openShare(ctx, b.name, b.secrets, relabelled, a.ad),
      'SECAGG_SHARE_UNAUTHENTIC',
    );
  });

  it('refuses a bundle that names another dealer or lacks the recipient', async () => {
    await expectCode(() => openShare(ctx, b.name, b.secrets, bundle, c.ad), 'SECAGG_MALFORMED');
    const partial = await dealShares(ctx, a.name, a.secrets, [a.ad, c.ad], 2);
    await expectCode(() => openShare(ctx, b.name, b.secrets, partial, a.ad), 'SECAGG_MALFORMED');
  });
});
