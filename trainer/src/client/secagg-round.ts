// A hospital's part in a secure-aggregation round (Bonawitz et al., "Practical Secure Aggregation
// for Privacy-Preserving Machine Learning", CCS 2017), with every set and key read from the ledger:
// (a) fresh round secrets, kept on disk before anything is advertised; (b) its keys advertised
// through a transaction it checks and signs itself; (c) once its peers' keys are on the ledger,
// its secrets dealt to them as Shamir shares sealed per recipient; (d) once the ledger fixes the
// mask set, the shares it holds opened (each bundle the one the ledger names, each share
// authenticated under its dealer's ledger key); (e) its update weighted, quantised and masked;
// (f) after delivery, once the ledger fixes the survivors, its shares revealed for exactly that
// split, never another ((a)–(c) in ./secagg-setup.ts). The participation loop calls it through
// its hooks (prepareRound, protectUpdate, afterDelivery); runs that do not use secure aggregation
// pass through unchanged. Secrets live no longer than they can serve: a round's are wiped once
// the hospital sees the round over for it (reveal sent, round closed or moved on, round sat out),
// and the run's state once the run is (finish); state is bound to the run's creation
// transaction, so a run ID used again starts from nothing.
import type { RoundRecord, RunRecord } from '@fedledger/protocol';
import { sha256Hex } from '@fedledger/protocol';
import { encodeReveal, revealShares } from '@fedledger/protocol/secagg';
import type { DigestSigner } from './identity';
import type { SecAggClient } from './secagg-client';
import { newPoller } from './secagg-polling';
import { newRoundSetup, refusedFor } from './secagg-setup';
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
   * reached the gateway (the loop waits past a round it delivered to); wipes the rounds it did
   * not deliver to that are over, the state of an earlier run with the same ID, and all of the
   * run's state when the run has completed. Reads the run with `readRun` only when this hospital
   * kept secure-aggregation state under its ID.
   */
  resume(readRun: () => Promise<RunRecord>): Promise<void>;
  /**
   * Wipes all of the run's secure-aggregation state (every round, the splits revealed for
   * included): to call once the run has completed, when nothing of it can be asked again.
   */
  finish(run: RunRecord): Promise<void>;
}

const isSecAgg = (run: RunRecord): boolean => run.settings['encoding'] === 'secagg';

/** The secure-aggregation side of a hospital's participation. */
export function newSecAggParticipant(
  options: Readonly<SecAggParticipantOptions>,
): SecAggParticipant {
  const { client, mspId: me } = options;
  const log = options.log ?? (() => undefined);
  const store = newSecAggStore(options.workdir);

  const poller = newPoller(options);
  const { poll, retrying } = poller;
  const setup = newRoundSetup({
    client,
    store,
    mspId: me,
    signer: options.signer,
    log,
    poller,
  });

  /** Steps (a)–(c) under way or done in this process, by run and round (see prepare). */
  const prepared = new Map<string, Promise<StoredRound | undefined>>();

  /** Once per run and process: state under the run's ID from another creation of it goes. */
  const claimed = new Map<string, Promise<void>>();
  const claim = (run: RunRecord): Promise<void> => {
    const key = `${run.runId}/${run.txId}`;
    let once = claimed.get(key);
    if (once === undefined) {
      once = (async () => {
        const others = await store.forgetOtherRuns(run);
        if (others.length > 0) {
          log(
            `secure aggregation: state under run ID ${run.runId} not from its creation (tx ${run.txId}) ignored and wiped: ${others.join(', ')}`,
          );
        }
      })();
      claimed.set(key, once);
      once.catch(() => claimed.delete(key));
    }
    return once;
  };

  /** Wipes a round's secrets, shares held and masked update, keeping its split; logs why. */
  const wipe = async (run: RunRecord, round: number, why: string): Promise<void> => {
    prepared.delete(`${run.runId}/${round}`);
    if (await store.forget(run, round)) log(`round ${round}: secrets wiped (${why})`);
  };
  /** The round's record once `ready` says so, or 'closed' when it closed (or vanished) first. */
  const waitForRound = (run: RunRecord, round: number, ready: (r: RoundRecord) => boolean) =>
    poll(async (): Promise<RoundRecord | 'closed' | undefined> => {
      const record = await client.readRound(run.runId, round);
      if (!record || record.status !== 'open') return 'closed';
      return ready(record) ? record : undefined;
    });

  const afterDelivery = async (run: RunRecord, round: number): Promise<void> => {
    if (!isSecAgg(run)) return;
    await claim(run);
    const state = await store.load(run, round);
    if (!state?.held) return;
    const settings = secAggSettingsOf(run);
    const record = await waitForRound(run, round, (r) => r.secagg?.phase === 'unmasking');
    if (record === 'closed') {
      await wipe(run, round, 'the round closed without its reveal');
      return;
    }
    const plan = revealPlan(record, me, Math.max(settings.threshold, settings.minSurvivors));
    if (!plan.reveal) {
      // The ledger fixes the survivors once: this hospital will not reveal for this round.
      log(`round ${round}: revealing nothing: ${plan.why}`);
      await wipe(run, round, 'nothing to reveal');
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
      await wipe(run, round, 'the round moved on');
      return;
    }
    // Nothing of the round's secrets is needed again: the reveal is kept to be sent again as is.
    prepared.delete(`${run.runId}/${round}`);
    await store.forgetBefore(run, round + 1);
    log(
      `round ${round}: revealed self-mask shares of ${plan.survivors.join(', ')}${plan.dropped.length > 0 ? ` and mask-secret shares of ${plan.dropped.join(', ')}` : ''} (survivors read from ${client.source})`,
    );
  };

  /** (a)–(c) once per round in this process: the round's state, or undefined to sit it out. */
  const prepare = (run: RunRecord, round: number): Promise<StoredRound | undefined> => {
    const key = `${run.runId}/${round}`;
    let once = prepared.get(key);
    if (once === undefined) {
      once = (async () => {
        await claim(run);
        const wiped = await store.forgetBefore(run, round);
        if (wiped.length > 0)
          log(`secure aggregation: secrets of round(s) ${wiped.join(', ')} wiped`);
        const state = await setup.advertised(run, round);
        if (state && (await setup.dealt(run, round, state))) return state;
        // Sitting the round out: nothing of its secrets will be used.
        if (await store.forget(run, round)) log(`round ${round}: secrets wiped (sat out)`);
        return undefined;
      })();
      prepared.set(key, once);
      // A failure (the gateway down) is tried afresh by the next call.
      once.catch(() => prepared.delete(key));
    }
    return once;
  };

  /** The update masked before a restart, if any: it is delivered again as it is. */
  const maskedBefore = async (run: RunRecord, round: number): Promise<Uint8Array | undefined> => {
    await claim(run);
    const kept = await store.load(run, round);
    if (kept?.maskedSha256 === undefined) return undefined;
    const masked = await store.loadMasked(run, round);
    return masked && sha256Hex(masked) === kept.maskedSha256 ? masked : undefined;
  };

  const finish = async (run: RunRecord): Promise<void> => {
    for (const round of await store.rounds(run)) prepared.delete(`${run.runId}/${round}`);
    if (await store.forgetRun(run.runId)) {
      log(`secure aggregation: all round state of run ${run.runId} wiped from ${store.dir}`);
    }
  };

  return {
    afterDelivery,

    async prepareRound(run, round) {
      if (!isSecAgg(run)) return true;
      if ((await maskedBefore(run, round)) !== undefined) return true;
      return (await prepare(run, round)) !== undefined;
    },

    async protectUpdate({ run, round, bytes }) {
      if (!isSecAgg(run)) return bytes;
      const runId = run.runId;
      const settings = secAggSettingsOf(run);
      const before = await maskedBefore(run, round);
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
        await wipe(run, round, 'sat out');
        return undefined;
      }
      const maskSet = record.secagg.maskSet;
      const fewest = Math.max(settings.threshold, settings.minSurvivors);
      if (maskSet.length < fewest) {
        // Masked among fewer, this update would be exposed to the gateway colluding with the rest.
        log(
          `round ${round}: the mask set on the ledger has ${maskSet.length} hospitals, fewer than the run allows (${fewest}); sitting the round out`,
        );
        await wipe(run, round, 'sat out');
        return undefined;
      }
      if (!maskSet.some((e) => e.mspId === me)) {
        log(
          `round ${round}: not in the mask set fixed on the ledger (${maskSet.map((e) => e.mspId).join(', ')}); sitting the round out`,
        );
        await wipe(run, round, 'sat out');
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
      await store.saveMasked(run, round, masked);
      state.maskedSha256 = sha256Hex(masked);
      await store.save(state);
      log(
        `round ${round}: mask set ${maskSet.map((e) => e.mspId).join(', ')} (read from ${client.source}); every bundle the one the ledger names, every share authentic; update masked`,
      );
      return masked;
    },

    async resume(readRun) {
      if (!(await store.hasRun(options.runId))) return;
      const run = await retrying(readRun);
      await claim(run);
      if (run.status === 'completed' || !isSecAgg(run)) {
        await finish(run);
        return;
      }
      const delivered = new Set(
        (await listSubmitted(options.workdir, run.runId)).map((c) => c.round),
      );
      for (const round of await store.rounds(run)) {
        const state = await store.load(run, round);
        if (delivered.has(round) && state?.held) {
          await afterDelivery(run, round);
          continue;
        }
        // Not delivered (or nothing held): its secrets serve only while the round is open.
        const record = await retrying(() => client.readRound(run.runId, round));
        if (record?.status !== 'open') await wipe(run, round, 'the round is over');
      }
    },

    finish,
  };
}
