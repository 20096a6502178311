// Share dealing (Bonawitz et al., CCS 2017, round 1, ShareKeys): a hospital splits its mask secret
// and its self-mask seed with Shamir's scheme (t of n) and seals each recipient's pair of shares
// with AES-256-GCM under a key only the two of them can derive from their ledger-recorded X25519
// keys. The gateway carries the bundle but can neither read an entry nor move it to another
// recipient or pass it off as another dealer's: the key and the associated data bind run, round,
// dealer and recipient.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { split } from 'shamir-secret-sharing';
import { canonicalJson } from '../canonical-json';
import { SecAggError } from '../errors';
import { SECRET_BYTES, agree, shareAad, shareKey } from './derive';
import { checkAdvertisement, checkAdvertisements, checkOwnAdvertisement } from './keys';
import type { HeldShare, KeyAdvertisement, RoundContext, RoundSecrets, ShareBundle } from './types';
import {
  checkContext,
  checkMspId,
  exactFields,
  fromHex,
  malformed,
  parseCanonicalJson,
  strictlySorted,
  toHex,
} from './wire';

const FORMAT = 'fedledger-secagg-shares/1';
/** Bytes of one Shamir share of a 32-byte secret: the value bytes and the x coordinate. */
export const SHARE_BYTES = SECRET_BYTES + 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_BYTES = 2 * SHARE_BYTES + TAG_BYTES;
/** The Shamir library works in GF(2^8): at most 255 shares. */
export const MAX_PARTIES = 255;
/** Largest encoded bundle accepted: 255 recipients with the longest MSP IDs fit. */
export const MAX_BUNDLE_BYTES = 512 * 1024;

/**
 * Deals `secrets`' mask secret and self-mask seed to `recipients` (the dealer included), `threshold`
 * shares needed to recover either.
 * @throws {SecAggError} SECAGG_MALFORMED for bad advertisements or when the dealer's own does not
 * match its secrets; SECAGG_SETTINGS for a threshold outside 2..recipients.
 */
export async function dealShares(
  ctx: RoundContext,
  dealer: string,
  secrets: RoundSecrets,
  recipients: readonly KeyAdvertisement[],
  threshold: number,
): Promise<ShareBundle> {
  checkContext(ctx.runId, ctx.round, 'round context');
  const list = checkAdvertisements(recipients, 'recipients');
  const own = list.find((a) => a.mspId === dealer);
  if (!own) throw malformed(`the recipients must include the dealer ${dealer}`, dealer);
  checkOwnAdvertisement(own, secrets);
  if (list.length > MAX_PARTIES) {
    throw new SecAggError('SECAGG_SETTINGS', `at most ${MAX_PARTIES} recipients are supported`);
  }
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > list.length) {
    throw new SecAggError(
      'SECAGG_SETTINGS',
      `threshold must be an integer from 2 to ${list.length} (the recipients); got ${threshold}`,
    );
  }
  const maskShares = await split(new Uint8Array(secrets.maskSecret), list.length, threshold);
  const selfShares = await split(new Uint8Array(secrets.selfMaskSeed), list.length, threshold);
  const shares = list.map((recipient, i) => {
    const key = pairKey(ctx, secrets.encryptionSecret, recipient, dealer, recipient.mspId);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(shareAad(ctx, dealer, recipient.mspId));
    const body = Buffer.concat([
      cipher.update(maskShares[i] as Uint8Array),
      cipher.update(selfShares[i] as Uint8Array),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return { to: recipient.mspId, nonce: toHex(nonce), ciphertext: toHex(body) };
  });
  return {
    format: FORMAT,
    runId: ctx.runId,
    round: ctx.round,
    from: dealer,
    threshold,
    recipients: list.map((a) => a.mspId),
    shares,
  };
}

/**
 * Opens `me`'s entry of `bundle`, dealt by `dealer` (its advertisement as read from the ledger).
 * @throws {SecAggError} SECAGG_MALFORMED if the bundle is malformed or does not name this round,
 * this dealer and `me`; SECAGG_SHARE_UNAUTHENTIC if the entry does not decrypt under the key
 * `me` shares with that dealer (altered, moved, replayed or sealed by someone else).
 */
export function openShare(
  ctx: RoundContext,
  me: string,
  mySecrets: RoundSecrets,
  bundle: ShareBundle,
  dealer: KeyAdvertisement,
): HeldShare {
  const checked = checkShareBundle(bundle);
  const from = checkAdvertisement(dealer);
  if (checked.runId !== ctx.runId || checked.round !== ctx.round) {
    throw malformed(
      `the share bundle of ${checked.from} is for another run or round`,
      checked.from,
    );
  }
  if (checked.from !== from.mspId) {
    throw malformed(`the share bundle is from ${checked.from}, not ${from.mspId}`, checked.from);
  }
  const entry = checked.shares.find((s) => s.to === me);
  if (!entry)
    throw malformed(`the share bundle of ${checked.from} has no share for ${me}`, checked.from);
  const key = pairKey(ctx, mySecrets.encryptionSecret, from, from.mspId, me);
  const body = Buffer.from(entry.ciphertext, 'hex');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(entry.nonce, 'hex'));
    decipher.setAAD(shareAad(ctx, from.mspId, me));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (error) {
    throw new SecAggError(
      'SECAGG_SHARE_UNAUTHENTIC',
      `the share from ${from.mspId} to ${me} does not authenticate under their pairwise key`,
      { cause: error, mspId: from.mspId },
    );
  }
  return {
    dealer: from.mspId,
    maskSecretShare: new Uint8Array(plain.subarray(0, SHARE_BYTES)),
    selfMaskShare: new Uint8Array(plain.subarray(SHARE_BYTES)),
  };
}

/** The canonical JSON bytes of a share bundle. @throws {SecAggError} SECAGG_MALFORMED. */
export function encodeShareBundle(b: ShareBundle): Uint8Array {
  return Buffer.from(canonicalJson(checkShareBundle(b)), 'utf8');
}

/**
 * Reads a share bundle strictly: canonical JSON, bounded size, exact fields, sorted recipients
 * with one entry each, nonce and ciphertext of the exact lengths.
 * @throws {SecAggError} SECAGG_MALFORMED.
 */
export function decodeShareBundle(bytes: Uint8Array): ShareBundle {
  return checkShareBundle(parseCanonicalJson(bytes, MAX_BUNDLE_BYTES, 'share bundle'));
}

/** A well-formed copy of an untrusted share bundle. @throws {SecAggError} SECAGG_MALFORMED. */
export function checkShareBundle(value: unknown): ShareBundle {
  const b = exactFields(
    value,
    ['format', 'runId', 'round', 'from', 'threshold', 'recipients', 'shares'],
    'share bundle',
  );
  if (b.format !== FORMAT) throw malformed(`share bundle format must be "${FORMAT}"`);
  checkContext(b.runId, b.round, 'share bundle');
  const from = checkMspId(b.from, 'share bundle dealer');
  const recipients = b.recipients;
  if (!Array.isArray(recipients) || recipients.length < 2 || recipients.length > MAX_PARTIES) {
    throw malformed(`share bundle recipients must list 2 to ${MAX_PARTIES} MSP IDs`, from);
  }
  const names = recipients.map((r, i) => checkMspId(r, `share bundle recipient ${i}`));
  if (!strictlySorted(names))
    throw malformed('share bundle recipients must be sorted and unique', from);
  if (!names.includes(from))
    throw malformed('share bundle recipients must include the dealer', from);
  const t = b.threshold;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 2 || t > names.length) {
    throw malformed(`share bundle threshold must be an integer from 2 to ${names.length}`, from);
  }
  const shares = b.shares;
  if (!Array.isArray(shares) || shares.length !== names.length) {
    throw malformed('share bundle must hold one share per recipient', from);
  }
  return {
    format: FORMAT,
    runId: b.runId as string,
    round: b.round as number,
    from,
    threshold: t,
    recipients: names,
    shares: shares.map((entry, i) => {
      const e = exactFields(entry, ['to', 'nonce', 'ciphertext'], `share bundle entry ${i}`);
      if (e.to !== names[i])
        throw malformed(`share bundle entry ${i} must be for ${names[i]}`, from);
      fromHex(e.nonce, NONCE_BYTES, `share bundle entry ${i} nonce`);
      fromHex(e.ciphertext, CIPHERTEXT_BYTES, `share bundle entry ${i} ciphertext`);
      return {
        to: names[i] as string,
        nonce: e.nonce as string,
        ciphertext: e.ciphertext as string,
      };
    }),
  };
}

/** The AES key between one party's encryption secret and the other's advertised public key. */
function pairKey(
  ctx: RoundContext,
  mySecret: Uint8Array,
  peer: KeyAdvertisement,
  dealer: string,
  recipient: string,
): Buffer {
  const agreement = agree(mySecret, fromHex(peer.encryptionKey, SECRET_BYTES, 'encryptionKey'));
  return shareKey(ctx, agreement, dealer, recipient);
}
