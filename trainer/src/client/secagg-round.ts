// A hospital's part in a secure-aggregation round (Bonawitz et al., "Practical Secure Aggregation
// for Privacy-Preserving Machine Learning", CCS 2017), with every set and key read from the ledger:
// (a) fresh round secrets, kept on disk before anything is advertised; (b) its keys advertised
// through a transaction it checks and signs itself; (c) once its peers' keys are on the ledger,
// its secrets dealt to them as Shamir shares sealed per recipient; (d) once the ledger fixes the
// mask set, the shares it holds opened (each bundle the one the ledger names, each share
// authenticated under its dealer's ledger key); (e) its update weighted, quantised and masked;
// (f) after delivery, once the ledger fixes the survivors, its shares revealed for exactly that
// split, never another. The participation loop calls it through two hooks (protectUpdate,
// afterDelivery); runs that do not use secure aggregation pass through unchanged.
import type { RoundRecord, RunRecord } from '@fedledger/protocol';
import { sha256Hex } from '@fedledger/protocol';
import {
  advertise,
  dealShares,
  encodeReveal,
  encodeShareBundle,
  newRoundSecrets,
  revealShares,
} from '@fedledger/protocol/secagg';
import { GatewayRequestError } from './errors';
import type { DigestSigner } from './identity';
import type { SecAggClient } from './secagg-client';
import { newPoller } from './secagg-polling';
import {
  checkSameSplit,
  checkedKeys,
  maskedUpdateBytes,
  openMaskSetShares,
  revealPlan,
  secAggSettingsOf,
} from './secagg-steps';
import type { StoredRound } from './secagg-store';
import { newSecAggStore } from './secagg-store';
import { listSubmitted } from './submitted';

/** Options of {@link newSecAggParticipant}. */
export interface SecAggParticipantOptions {
  client: SecAggClient;
  runId: string;
  mspId: string;
  /** Signs the AdvertiseKeys digests with the hospital's key. */
  signer: DigestSigner;
  /** The trainer's working folder: round state goes to its `secagg/` (see secagg-store.ts). */
  workdir: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** First and longest poll intervals while waiting for a phase, ms (defaults 500 and 10 000). */
  pollMs?: number;
  maxPollMs?: number;
}

/** The secure-aggregation hooks of the participation loop. */
export interface SecAggParticipant {
  /**
   * Steps (a)–(e): the masked update to deliver in place of the trained `bytes` (which are
   * returned as they are for a run without secure aggregation), or undefined when this hospital
   * sits the round out (its keys came too late, it is not in the mask set, its secrets are lost).
   * @throws {SecAggRoundError} when a bundle, share or key is not what the ledger says (the
   * gateway swapped or forged it); {SigningRefusedError}; what the client throws.
   */
  protectUpdate(input: {
    run: RunRecord;
    round: number;
    bytes: Uint8Array;
  }): Promise<Uint8Array | undefined>;
  /**
   * Steps (a)–(c) before the hospital trains, so its keys and shares are in while the round
   * collects them and a hospital left out of the round does not train (nor spend privacy) for
   * nothing. False: sit the round out. `protectUpdate` does them itself when not called first.
   */
  prepareRound(run: RunRecord, round: number): Promise<boolean>;
  /**
   * Step (f), after the round's update is on the ledger: waits for the survivors on the ledger
   * and reveals for them, or returns when the round closed or this hospital has nothing to reveal.
   * @throws {SecAggRoundError} SECAGG_SPLIT_CHANGED when the ledger's split is not the one
   * revealed for before.
   */
  afterDelivery(run: RunRecord, round: number): Promise<void>;
  /**
   * Step (f) for the rounds of `runId` delivered before a restart, whose reveal may not have
   * reached the gateway (the loop waits past a round it delivered to). Reads the run with
   * `readRun` only when this hospital kept secure-aggregation state for it.
   */
  resume(readRun: () => Promise<RunRecord>): Promise<void>;
}

const isSecAgg = (run: RunRecord): boolean => run.settings['encoding'] === 'secagg';
const refusedFor = (err: unknown, ...codes: string[]): boolean =>
  err instanceof GatewayRequestError && codes.includes(err.code);

/** The secure-aggregation side of a hospital's participation. */
export function newSecAggParticipant(
  options: Readonly<SecAggParticipantOptions>,
): SecAggParticipant {
  const { client, mspId: me } = options;
  const log = options.log ?? (() => undefined);
  const store = newSecAggStore(options.workdir);

  const { poll, retrying } = newPoller(options);
  /** The round's record once `ready` says so, or 'closed' when it closed (or vanished) first. */
  const waitForRound = (run: RunRecord, round: number, ready: (r: RoundRecord) => boolean) =>
    poll(async (): Promise<RoundRecord | 'closed' | undefined> => {
      const record = await client.readRound(run.runId, round);
      if (!record || record.status !== 'open') return 'closed';
      return ready(record) ? record : undefined;
    });

  /** (a), (b): this round's secrets, advertised on the ledger; undefined: sit the round out. */
  const advertised = async (run: RunRecord, round: number): Promise<StoredRound | undefined> => {
    const ctx = { runId: run.runId, round };
    let state = await store.load(run.runId, round);
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
        state = { runId: run.runId, round, mspId: me, secrets: newRoundSecrets() };
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

  /** (c): the bundle dealt to the keys on the ledger, handed to the gateway; undefined: too late. */
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

  const afterDelivery = async (run: RunRecord, round: number): Promise<void> => {
    if (!isSecAgg(run)) return;
    const state = await store.load(run.runId, round);
    if (!state?.held) return;
    const settings = secAggSettingsOf(run);
    const record = await waitForRound(run, round, (r) => r.secagg?.phase === 'unmasking');
    if (record === 'closed') return;
    const plan = revealPlan(record, me, Math.max(settings.threshold, settings.minSurvivors));
    if (!plan.reveal) {
      log(`round ${round}: revealing nothing: ${plan.why}`);
      return;
    }
    checkSameSplit(state.revealed, plan);
    if (!state.revealed) {
      const reveal = revealShares(
        { runId: run.runId, round },
        me,
        state.held,
        plan.survivors,
        plan.dropped,
      );
      // Kept before it is sent: after a restart the same split, or nothing.
      state.revealed = {
        survivors: plan.survivors,
        dropped: plan.dropped,
        reveal: Buffer.from(encodeReveal(reveal)).toString('utf8'),
      };
      await store.save(state);
    }
    const bytes = new Uint8Array(Buffer.from(state.revealed.reveal, 'utf8'));
    try {
      await retrying(() => client.postReveal(run.runId, round, bytes));
    } catch (err) {
      if (!refusedFor(err, 'FL_ERR_SECAGG_PHASE', 'FL_ERR_ROUND_NOT_OPEN')) throw err;
      log(`round ${round}: the round no longer takes reveals (${(err as Error).message})`);
      return;
    }
    // Nothing of the round's secrets is needed again: the reveal is kept to be sent again as is.
    await store.forgetBefore(run.runId, round + 1);
    log(
      `round ${round}: revealed self-mask shares of ${plan.survivors.join(', ')}${plan.dropped.length > 0 ? ` and mask-secret shares of ${plan.dropped.join(', ')}` : ''} (survivors read from ${client.source})`,
    );
  };

  /** (a)–(c) once per round in this process: the round's state, or undefined to sit it out. */
  const prepared = new Map<string, Promise<StoredRound | undefined>>();
  const prepare = (run: RunRecord, round: number): Promise<StoredRound | undefined> => {
    const key = `${run.runId}/${round}`;
    let once = prepared.get(key);
    if (once === undefined) {
      once = (async () => {
        const wiped = await store.forgetBefore(run.runId, round);
        if (wiped.length > 0)
          log(`secure aggregation: secrets of round(s) ${wiped.join(', ')} wiped`);
        const state = await advertised(run, round);
        return state && (await dealt(run, round, state)) ? state : undefined;
      })();
      prepared.set(key, once);
      // A failure (the gateway down) is tried afresh by the next call.
      once.catch(() => prepared.delete(key));
    }
    return once;
  };

  /** The update masked before a restart, if any: it is delivered again as it is. */
  const maskedBefore = async (runId: string, round: number): Promise<Uint8Array | undefined> => {
    const kept = await store.load(runId, round);
    if (kept?.maskedSha256 === undefined) return undefined;
    const masked = await store.loadMasked(runId, round);
    return masked && sha256Hex(masked) === kept.maskedSha256 ? masked : undefined;
  };

  return {
    afterDelivery,

    async prepareRound(run, round) {
      if (!isSecAgg(run)) return true;
      if ((await maskedBefore(run.runId, round)) !== undefined) return true;
      return (await prepare(run, round)) !== undefined;
    },

    async protectUpdate({ run, round, bytes }) {
      if (!isSecAgg(run)) return bytes;
      const runId = run.runId;
      const settings = secAggSettingsOf(run);
      const before = await maskedBefore(runId, round);
      if (before !== undefined) {
        // A second update under the same masks would give the gateway the difference of two.
        log(
          `round ${round}: delivering the update masked before the restart; the new training is discarded`,
        );
        return before;
      }
      const state = await prepare(run, round);
      if (!state) return undefined;
      const record = await waitForRound(run, round, (r) => r.secagg !== undefined);
      if (record === 'closed' || record.secagg?.phase !== 'masking') {
        log(`round ${round}: the round moved on before it took masked updates; sitting it out`);
        return undefined;
      }
      const maskSet = record.secagg.maskSet;
      const fewest = Math.max(settings.threshold, settings.minSurvivors);
      if (maskSet.length < fewest) {
        // Masked among fewer, this update would be exposed to the gateway colluding with the rest.
        log(
          `round ${round}: the mask set on the ledger has ${maskSet.length} hospitals, fewer than the run allows (${fewest}); sitting the round out`,
        );
        return undefined;
      }
      if (!maskSet.some((e) => e.mspId === me)) {
        log(
          `round ${round}: not in the mask set fixed on the ledger (${maskSet.map((e) => e.mspId).join(', ')}); sitting the round out`,
        );
        return undefined;
      }
      const ctx = { runId, round };
      const keys = checkedKeys(run, round, await retrying(() => client.readKeys(runId, round)));
      state.held = await openMaskSetShares({
        ctx,
        me,
        secrets: state.secrets!,
        maskSet,
        keys,
        ownBundle: state.bundle!,
        fetch: (dealer) => retrying(() => client.getShares(runId, round, dealer)),
      });
      await store.save(state);
      const masked = maskedUpdateBytes({
        run,
        settings,
        ctx,
        me,
        secrets: state.secrets!,
        maskSet: maskSet.map((e) => keys.get(e.mspId)!),
        plaintext: bytes,
      });
      await store.saveMasked(runId, round, masked);
      state.maskedSha256 = sha256Hex(masked);
      await store.save(state);
      log(
        `round ${round}: mask set ${maskSet.map((e) => e.mspId).join(', ')} (read from ${client.source}); every bundle the one the ledger names, every share authentic; update masked`,
      );
      return masked;
    },

    async resume(readRun) {
      const rounds = await store.rounds(options.runId);
      if (rounds.length === 0) return;
      const run = await retrying(readRun);
      if (!isSecAgg(run)) return;
      const delivered = new Set(
        (await listSubmitted(options.workdir, run.runId)).map((c) => c.round),
      );
      for (const round of rounds) {
        if (delivered.has(round)) await afterDelivery(run, round);
      }
    },
  };
}
