// JSON Schemas of the secure-aggregation routes: the key advertisement a hospital posts, the
// share bundle and reveal it relays, and the gateway's replies. type-checks.ts holds them equal
// to the types of @fedledger/protocol/secagg.
import { Type } from '@sinclair/typebox';
import {
  KeysRecordSchema,
  Sha256Hex,
  Timestamp,
  UUID_PATTERN,
  literals,
  strictObject,
} from './records';

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes, hex' });
const Hex = (description: string) => Type.String({ pattern: '^[0-9a-f]+$', description });

/** Body of `POST …/secagg/keys`: this hospital's public keys for the round. */
export const KeyAdvertisementRequestSchema = strictObject(
  {
    encryptionKey: Hex32,
    maskKey: Hex32,
    selfMaskCommitment: Hex32,
  },
  "the hospital's X25519 public keys for the round and its self-mask commitment",
);

/** Body of `POST …/secagg/shares` and reply of `GET …/secagg/shares/{mspId}`. */
export const ShareBundleSchema = strictObject(
  {
    format: Type.Literal('fedledger-secagg-shares/1'),
    runId: Type.String(),
    round: Type.Integer({ minimum: 0 }),
    from: Type.String(),
    threshold: Type.Integer({ minimum: 2 }),
    recipients: Type.Array(Type.String()),
    shares: Type.Array(
      strictObject({
        to: Type.String(),
        nonce: Hex('AES-256-GCM nonce, 12 bytes'),
        ciphertext: Hex('AES-256-GCM ciphertext with its tag'),
      }),
    ),
  },
  "a hospital's Shamir shares of its round secrets, each encrypted to its recipient",
);

const RevealedShareSchema = strictObject({ of: Type.String(), share: Hex('a Shamir share') });

/** Body of `POST …/secagg/reveal`. */
export const RevealSchema = strictObject(
  {
    format: Type.Literal('fedledger-secagg-reveal/1'),
    runId: Type.String(),
    round: Type.Integer({ minimum: 0 }),
    from: Type.String(),
    selfMaskShares: Type.Array(RevealedShareSchema),
    maskSecretShares: Type.Array(RevealedShareSchema),
  },
  "a survivor's shares: self-mask seeds of the survivors, mask secrets of those that dropped",
);

/** Reply of `POST …/secagg/keys` (201): the AdvertiseKeys proposal to check and sign. */
export const KeysUploadReplySchema = strictObject({
  submissionId: Type.String({ pattern: UUID_PATTERN }),
  submission: strictObject({
    runId: Type.String(),
    round: Type.Integer({ minimum: 0 }),
    mspId: Type.String(),
    encryptionKey: Hex32,
    maskKey: Hex32,
    selfMaskCommitment: Hex32,
  }),
  proposal: strictObject({
    format: literals(['fabric', 'simulated'] as const),
    bytes: Type.String({ contentEncoding: 'base64', description: 'the AdvertiseKeys proposal' }),
  }),
  proposalDigest: Type.String({ contentEncoding: 'base64' }),
  expiresAt: Timestamp,
});

/** Reply of `POST …/secagg/shares` and `POST …/secagg/reveal` (201). */
export const SecAggBlobReplySchema = strictObject({
  sha256: Sha256Hex,
  byteLength: Type.Integer({ minimum: 1 }),
});

/** Reply of `GET …/secagg/keys`. */
export const KeysListReplySchema = Type.Array(KeysRecordSchema);
