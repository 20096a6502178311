// The hospital's client of the gateway's secure-aggregation routes (keys, share bundles, reveals),
// with the ledger reads a round depends on. Keys and round records come from the hospital's own
// peer when it has one, never from the gateway: a gateway that could name the keys would
// receive shares encrypted to itself. Only on the simulated ledger, with no peer of its own, does
// the hospital take the gateway's word, and the source it returns says so.
import type { KeysRecord, RoundDetails, RoundRecord, SecAggBlobReply } from '@fedledger/protocol';
import { sha256Hex } from '@fedledger/protocol';
import { GatewayRequestError, HashMismatchError } from './errors';
import type { GatewayClientOptions } from './gateway-client';
import type { GatewayTransport } from './https-transport';
import { newHttpsTransport } from './https-transport';
import type { AdvertiseKeysInput, AdvertisedKeys } from './keys-submission';
import { advertiseSignedKeys } from './keys-submission';
import { GATEWAY_SOURCE } from './own-ledger';
import { json } from './replies';
import type { SubmissionContext } from './update-submission';

export type { AdvertiseKeysInput, AdvertisedKeys } from './keys-submission';

/** A client of the secure-aggregation routes, authenticated as one hospital. */
export interface SecAggClient {
  /** Where {@link readRound} and {@link readKeys} read: the own peer, or the gateway's word. */
  readonly source: string;
  /** A round's ledger record (with its `secagg` phase), or undefined when there is no such round. */
  readRound(runId: string, round: number): Promise<RoundRecord | undefined>;
  /** A round's key advertisements as the ledger holds them. */
  readKeys(runId: string, round: number): Promise<KeysRecord[]>;
  /**
   * Advertises the hospital's keys for a round (AdvertiseKeys, signed here after checking).
   * @throws {SigningRefusedError} for anything but its own keys; {CommitNotConfirmedError};
   * {GatewayRequestError} FL_ERR_KEYS_EXIST, FL_ERR_SECAGG_PHASE, FL_ERR_ROUND_NOT_OPEN …
   */
  advertiseKeys(input: Readonly<AdvertiseKeysInput>): Promise<AdvertisedKeys>;
  /**
   * Hands the gateway this hospital's share bundle (canonical JSON bytes).
   * @throws {HashMismatchError} when the gateway stored other bytes; {GatewayRequestError}.
   */
  postShares(runId: string, round: number, bytes: Uint8Array): Promise<SecAggBlobReply>;
  /** The share bundle a dealer handed the gateway (checked against the ledger by the caller). */
  getShares(runId: string, round: number, dealer: string): Promise<Uint8Array>;
  /**
   * Hands the gateway this hospital's reveal (canonical JSON bytes).
   * @throws {HashMismatchError} when the gateway stored other bytes; {GatewayRequestError}.
   */
  postReveal(runId: string, round: number, bytes: Uint8Array): Promise<SecAggBlobReply>;
  /** Closes idle connections. */
  close(): void;
}

/** A secure-aggregation client with the same options (and identity) as a gateway client. */
export function newSecAggClient(options: Readonly<GatewayClientOptions>): SecAggClient {
  const transport: GatewayTransport =
    options.transport ??
    newHttpsTransport({
      url: options.url,
      caCertPem: options.caCertPem,
      certPem: options.certPem,
      keyPem: options.keyPem,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
  const own = options.ownLedger;
  const ctx: SubmissionContext = {
    transport,
    certificatePem: Buffer.from(options.certPem).toString('utf8'),
    ...(options.ledger ? { ledger: options.ledger } : {}),
    ...(own ? { ownLedger: own } : {}),
    confirmTimeoutMs: options.confirmTimeoutMs ?? 30_000,
  };
  const base = (runId: string, round: number): string =>
    `/v1/runs/${encodeURIComponent(runId)}/rounds/${round}`;

  const readRound = async (runId: string, round: number): Promise<RoundRecord | undefined> => {
    if (own) return own.getRound(runId, round);
    const path = base(runId, round);
    try {
      return json<RoundDetails>(await transport.send({ method: 'GET', path }), path).round;
    } catch (err) {
      if (err instanceof GatewayRequestError && err.status === 404) return undefined;
      throw err;
    }
  };
  const readKeys = async (runId: string, round: number): Promise<KeysRecord[]> => {
    if (own) return own.listKeys(runId, round);
    const path = `${base(runId, round)}/secagg/keys`;
    return json<KeysRecord[]>(await transport.send({ method: 'GET', path }), path);
  };
  const post = async (path: string, bytes: Uint8Array): Promise<SecAggBlobReply> => {
    const reply = json<SecAggBlobReply>(
      await transport.send({ method: 'POST', path, body: bytes, contentType: 'application/json' }),
      path,
    );
    const sha256 = sha256Hex(bytes);
    if (reply.sha256 !== sha256) {
      throw new HashMismatchError(
        `${path}: the gateway stored ${reply.sha256}, but the bytes sent hash to ${sha256}.`,
        sha256,
        String(reply.sha256),
      );
    }
    return reply;
  };

  return {
    source: own?.source ?? GATEWAY_SOURCE,
    readRound,
    readKeys,
    advertiseKeys: (input) =>
      advertiseSignedKeys(
        ctx,
        async (runId, round) => ({
          records: await readKeys(runId, round),
          source: own?.source ?? GATEWAY_SOURCE,
        }),
        input,
      ),
    postShares: (runId, round, bytes) => post(`${base(runId, round)}/secagg/shares`, bytes),
    async getShares(runId, round, dealer) {
      const path = `${base(runId, round)}/secagg/shares/${encodeURIComponent(dealer)}`;
      return (await transport.send({ method: 'GET', path })).body;
    },
    postReveal: (runId, round, bytes) => post(`${base(runId, round)}/secagg/reveal`, bytes),
    close: () => transport.close(),
  };
}
