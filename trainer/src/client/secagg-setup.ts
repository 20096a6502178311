// Steps (a)–(c) of a hospital's secure-aggregation round (Bonawitz et al., CCS 2017, rounds 0 and
// 1): its round secrets kept on disk before anything is advertised, its keys advertised through a
// transaction it checks and signs itself, and once its peers' keys are on the ledger, its secrets
// dealt to them as Shamir shares sealed per recipient, the bundle handed to the gateway. A round
// whose secrets were wiped (it was over for this hospital) is never set up again.
import type { RunRecord } from '@fedledger/protocol';
import {
  advertise,
  dealShares,
  encodeShareBundle,
  newRoundSecrets,
} from '@fedledger/protocol/secagg';
import { GatewayRequestError } from './errors';
import type { DigestSigner } from './identity';
import type { SecAggClient } from './secagg-client';
import type { Poller } from './secagg-polling';
import { checkedKeys, secAggSettingsOf } from './secagg-steps';
import type { SecAggStore, StoredRound } from './secagg-store';

/** True when `err` is the gateway refusing with one of `codes`. */
export const refusedFor = (err: unknown, ...codes: string[]): boolean =>
  err instanceof GatewayRequestError && codes.includes(err.code);

/** What {@link newRoundSetup} needs. */
export interface RoundSetupOptions {
  client: SecAggClient;
  store: SecAggStore;
  /** This hospital's MSP ID. */
  mspId: string;
  /** Signs the AdvertiseKeys digests with the hospital's key. */
  signer: DigestSigner;
  log: (line: string) => void;
  poller: Poller;
}

/** Steps (a)–(c) of a round. */
export interface RoundSetup {
  /** (a), (b): the round's state with its secrets, advertised on the ledger; undefined: sit out. */
  advertised(run: RunRecord, round: number): Promise<StoredRound | undefined>;
  /**
   * (c): the bundle dealt to the keys on the ledger, handed to the gateway; false: too late.
   * @throws {SecAggRoundError} SECAGG_KEYS_INVALID; what the client throws.
   */
  dealt(run: RunRecord, round: number, state: StoredRound): Promise<boolean>;
}

/** The set-up steps of a hospital's rounds. */
export function newRoundSetup(options: Readonly<RoundSetupOptions>): RoundSetup {
  const { client, store, mspId: me, log } = options;
  const { poll, retrying } = options.poller;

  const advertised = async (run: RunRecord, round: number): Promise<StoredRound | undefined> => {
    const ctx = { runId: run.runId, round };
    let state = await store.load(run, round);
    if (state && !state.secrets) {
      // Wiped: the round was over for this hospital, and new secrets would mean new masks.
      log(
        `round ${round}: its secrets were wiped when the round was over for this hospital; sitting it out`,
      );
      return undefined;
    }
    for (;;) {
      const mine = (await retrying(() => client.readKeys(run.runId, round))).find(
        (k) => k.mspId === me,
      );
      if (mine) {
        const ad = state?.secrets ? advertise(ctx, me, state.secrets) : undefined;
        if (ad?.encryptionKey === mine.encryptionKey && ad.maskKey === mine.maskKey) return state;
        log(
          `round ${round}: ${client.source} shows keys this hospital advertised, but ${store.dir} holds ${ad ? 'other' : 'no'} secrets for them; sitting the round out`,
        );
        return undefined;
      }
      if (!state?.secrets) {
        state = {
          runId: run.runId,
          runTxId: run.txId,
          round,
          mspId: me,
          secrets: newRoundSecrets(),
        };
        await store.save(state);
      }
      const secrets = state.secrets as NonNullable<StoredRound['secrets']>;
      try {
        const done = await retrying(() =>
          client.advertiseKeys({
            runId: run.runId,
            round,
            advertisement: advertise(ctx, me, secrets),
            signer: options.signer,
          }),
        );
        log(
          `round ${round}: keys advertised (tx ${done.commit.txId}, block ${done.commit.blockNumber}; confirmed on ${done.confirmedBy})`,
        );
        return state;
      } catch (err) {
        // An earlier attempt committed (its reply lost): the loop reads the keys again.
        if (refusedFor(err, 'FL_ERR_KEYS_EXIST')) continue;
        if (refusedFor(err, 'FL_ERR_SECAGG_PHASE', 'FL_ERR_ROUND_NOT_OPEN')) {
          log(
            `round ${round}: too late to advertise keys (${(err as Error).message}); sitting the round out`,
          );
          return undefined;
        }
        throw err;
      }
    }
  };

  const dealt = async (run: RunRecord, round: number, state: StoredRound): Promise<boolean> => {
    const settings = secAggSettingsOf(run);
    if (state.bundle === undefined) {
      // Deal once everyone advertised, or once half the key phase is gone with enough keys: the
      // coordinator fixes the mask set when the phase ends, and a bundle dealt then comes late.
      const quorum = Math.max(settings.threshold, run.minUpdatesPerRound);
      const halfPhaseMs = (settings.phaseSeconds * 1000) / 2;
      const keys = await poll(async () => {
        const record = await client.readRound(run.runId, round);
        if (!record || record.status !== 'open' || record.secagg) return 'late' as const;
        const found = checkedKeys(run, round, await client.readKeys(run.runId, round));
        const due = Date.now() >= Date.parse(record.openedAt) + halfPhaseMs;
        return found.size === run.participants.length || (due && found.size >= quorum)
          ? found
          : undefined;
      });
      if (keys === 'late') {
        log(
          `round ${round}: the mask set was fixed before this hospital could deal its shares; sitting the round out`,
        );
        return false;
      }
      const ctx = { runId: run.runId, round };
      const bundle = await dealShares(
        ctx,
        me,
        state.secrets!,
        [...keys.values()],
        settings.threshold,
      );
      state.bundle = Buffer.from(encodeShareBundle(bundle)).toString('utf8');
      await store.save(state);
      log(
        `round ${round}: shares dealt to ${bundle.recipients.join(', ')} (threshold ${settings.threshold}; keys read from ${client.source})`,
      );
    }
    const bytes = new Uint8Array(Buffer.from(state.bundle, 'utf8'));
    try {
      await retrying(() => client.postShares(run.runId, round, bytes));
    } catch (err) {
      // Sent before a restart, and the mask set is fixed now: the ledger says whether it counted.
      if (!refusedFor(err, 'FL_ERR_SECAGG_PHASE')) throw err;
    }
    return true;
  };

  return { advertised, dealt };
}
