// The checks and computations of a hospital's secure-aggregation round, without I/O: which key
// advertisements to deal to (from the ledger, each made by the hospital it names), the shares it
// holds of the mask set (each bundle the one the ledger names, each share authenticated under its
// dealer's ledger key), its masked update (Bonawitz et al., CCS 2017, round 2), and the split of
// survivors and dropped it reveals for (round 4), never two splits for one round.
import type {
  ContainerMetadata,
  HeldShare,
  KeyAdvertisement,
  KeysRecord,
  MaskSetEntry,
  ModelSpec,
  RoundContext,
  RoundRecord,
  RoundSecrets,
  RunRecord,
  SecAggSettings,
  Tensor,
} from '@fedledger/protocol';
import {
  checkTensorsMatchSpec,
  decodeContainer,
  encodeContainer,
  maskedTensor,
  modelTensorShapes,
  sha256Hex,
  validateModelSpec,
} from '@fedledger/protocol';
import {
  SecAggError,
  checkAdvertisement,
  checkRunSecAggSettings,
  decodeShareBundle,
  maskUpdate,
  openShare,
  quantise,
} from '@fedledger/protocol/secagg';
import { GatewayClientError } from './errors';
import type { RevealedSplit } from './secagg-store';

/** Why a hospital refused a step of a secure-aggregation round. */
export type SecAggRoundErrorCode =
  /** A share bundle's bytes are not the ones the ledger's mask set names (swapped or altered). */
  | 'SECAGG_BUNDLE_MISMATCH'
  /** A share does not decrypt under the key its dealer recorded on the ledger (forged, moved). */
  | 'SECAGG_SHARE_UNAUTHENTIC'
  /** A key advertisement on the ledger is malformed, for another round, or made by another MSP. */
  | 'SECAGG_KEYS_INVALID'
  /** The ledger's survivors differ from the split this hospital already revealed for. */
  | 'SECAGG_SPLIT_CHANGED'
  /** The run's secure-aggregation settings are unusable. */
  | 'SECAGG_SETTINGS'
  /** A bundle, the mask set or the hospital's own update is not what the protocol calls for. */
  | 'SECAGG_MALFORMED';

/** A hospital refused a secure-aggregation step; `mspId` names the hospital concerned. */
export class SecAggRoundError extends GatewayClientError {
  /** The hospital whose bundle, share or keys failed (the dealer), when one is to blame. */
  readonly mspId: string | undefined;

  constructor(
    code: SecAggRoundErrorCode,
    message: string,
    options?: ErrorOptions & { mspId?: string },
  ) {
    super(code, message, options);
    this.mspId = options?.mspId;
  }
}

/**
 * The run's secure-aggregation settings, checked against the run (weights over the declared
 * sample counts, a majority threshold, at least two survivors …), as the contract checked them
 * at creation: a hospital masks under no settings it has not checked itself.
 * @throws {SecAggRoundError} SECAGG_SETTINGS.
 */
export function secAggSettingsOf(run: RunRecord): SecAggSettings {
  try {
    return checkRunSecAggSettings(run.settings['secagg'], run.participants, run.sampleCounts);
  } catch (err) {
    throw new SecAggRoundError('SECAGG_SETTINGS', `run ${run.runId}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The advertisements of a round's key records, by MSP ID: each for this run and round, made by
 * the participant it names (the record's creator), well formed, once per hospital.
 * @throws {SecAggRoundError} SECAGG_KEYS_INVALID naming the hospital.
 */
export function checkedKeys(
  run: RunRecord,
  round: number,
  records: readonly KeysRecord[],
): Map<string, KeyAdvertisement> {
  const out = new Map<string, KeyAdvertisement>();
  for (const r of records) {
    const bad = (why: string, cause?: unknown): never => {
      throw new SecAggRoundError(
        'SECAGG_KEYS_INVALID',
        `the key advertisement of ${r.mspId} for round ${round} of run ${run.runId} ${why}; refusing the round.`,
        { mspId: r.mspId, ...(cause !== undefined ? { cause } : {}) },
      );
    };
    if (r.runId !== run.runId || r.round !== round) bad(`is for ${r.runId} round ${r.round}`);
    if (r.creator?.mspId !== r.mspId) bad(`was recorded by ${r.creator?.mspId ?? 'nobody'}`);
    if (!run.participants.includes(r.mspId)) bad('names no participant of the run');
    if (out.has(r.mspId)) bad('is recorded twice');
    try {
      out.set(
        r.mspId,
        checkAdvertisement({
          mspId: r.mspId,
          encryptionKey: r.encryptionKey,
          maskKey: r.maskKey,
          selfMaskCommitment: r.selfMaskCommitment,
        }),
      );
    } catch (err) {
      bad(`is unusable (${(err as Error).message})`, err);
    }
  }
  return out;
}

/** What {@link openMaskSetShares} needs. */
export interface OpenSharesInput {
  ctx: RoundContext;
  me: string;
  secrets: RoundSecrets;
  /** The mask set as the ledger records it (this hospital included). */
  maskSet: readonly MaskSetEntry[];
  /** Every member's advertisement, from the ledger. */
  keys: ReadonlyMap<string, KeyAdvertisement>;
  /** The bundle this hospital dealt (canonical JSON), which the ledger must name as its own. */
  ownBundle: string;
  /** Fetches a dealer's bundle from the gateway. */
  fetch(dealer: string): Promise<Uint8Array>;
}

/**
 * Opens this hospital's share in every mask-set member's bundle, after checking that each bundle
 * hashes to the SHA-256 the ledger names for its dealer.
 * @throws {SecAggRoundError} SECAGG_BUNDLE_MISMATCH, SECAGG_SHARE_UNAUTHENTIC or SECAGG_MALFORMED,
 * naming the dealer.
 */
export async function openMaskSetShares(input: Readonly<OpenSharesInput>): Promise<HeldShare[]> {
  const { ctx, me } = input;
  const held: HeldShare[] = [];
  for (const entry of input.maskSet) {
    const dealer = entry.mspId;
    const ad = input.keys.get(dealer);
    if (!ad) {
      throw new SecAggRoundError(
        'SECAGG_MALFORMED',
        `the mask set names ${dealer}, who has no key advertisement on the ledger; refusing to mask.`,
        { mspId: dealer },
      );
    }
    const bytes =
      dealer === me
        ? new Uint8Array(Buffer.from(input.ownBundle, 'utf8'))
        : await input.fetch(dealer);
    const actual = sha256Hex(bytes);
    if (actual !== entry.sharesSha256) {
      throw new SecAggRoundError(
        'SECAGG_BUNDLE_MISMATCH',
        dealer === me
          ? `the ledger's mask set names a bundle of ${me} (${entry.sharesSha256}) that is not the one it dealt (${actual}); refusing to mask.`
          : `the gateway serves a bundle of ${dealer} that hashes to ${actual}, but the ledger's mask set names ${entry.sharesSha256}; refusing to mask.`,
        { mspId: dealer },
      );
    }
    try {
      held.push(openShare(ctx, me, input.secrets, decodeShareBundle(bytes), ad));
    } catch (err) {
      if (!(err instanceof SecAggError)) throw err;
      const unauthentic = err.code === 'SECAGG_SHARE_UNAUTHENTIC';
      throw new SecAggRoundError(
        unauthentic ? 'SECAGG_SHARE_UNAUTHENTIC' : 'SECAGG_MALFORMED',
        unauthentic
          ? `the share ${dealer} dealt to ${me} does not authenticate under ${dealer}'s key on the ledger (forged or substituted); refusing to mask.`
          : `the bundle of ${dealer} is unusable (${err.message}); refusing to mask.`,
        { mspId: dealer, cause: err },
      );
    }
  }
  return held;
}

/** The update's F32 tensors as one vector, in the model spec's order (as the aggregate reads it). */
export function flattenUpdate(tensors: readonly Tensor[], spec: ModelSpec): Float32Array {
  checkTensorsMatchSpec(tensors, spec);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const parts = modelTensorShapes(spec).map((s) => byName.get(s.name)?.data as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What {@link maskedUpdateBytes} needs. */
export interface MaskInput {
  run: RunRecord;
  settings: SecAggSettings;
  ctx: RoundContext;
  me: string;
  secrets: RoundSecrets;
  /** The mask set's advertisements from the ledger, this hospital's included. */
  maskSet: readonly KeyAdvertisement[];
  /** The hospital's plaintext update container (float32, DP already applied). */
  plaintext: Uint8Array;
}

/**
 * The masked update container: the plaintext update flattened in spec order, weighted by
 * n / weightScale, quantised and double-masked; same metadata (samples, DP) with encoding secagg.
 * @throws {SecAggRoundError} SECAGG_MALFORMED when the plaintext is not this round's float32 update.
 */
export function maskedUpdateBytes(input: Readonly<MaskInput>): Uint8Array {
  const { run, settings, ctx, me } = input;
  const container = decodeContainer(input.plaintext);
  const m = container.metadata;
  if (
    m.kind !== 'update' ||
    m.encoding !== 'float32' ||
    m.runId !== ctx.runId ||
    m.round !== ctx.round ||
    m.mspId !== me
  ) {
    throw new SecAggRoundError(
      'SECAGG_MALFORMED',
      `the trained update is a ${m.encoding} ${m.kind} of ${m.mspId} for ${m.runId} round ${m.round}, not this hospital's float32 update for round ${ctx.round}.`,
    );
  }
  let flat: Float32Array;
  try {
    flat = flattenUpdate(container.tensors, validateModelSpec(run.settings['modelSpec']));
  } catch (err) {
    throw new SecAggRoundError('SECAGG_MALFORMED', `the trained update: ${String(err)}`, {
      cause: err,
    });
  }
  // Weighed by the declared count, the one the contract holds a masked update to: the weight is
  // inside the masked words, where nobody can check it against another count.
  const declared = run.sampleCounts[me];
  if (declared === undefined) {
    throw new SecAggRoundError('SECAGG_SETTINGS', `run ${run.runId} declares no samples for ${me}`);
  }
  const quantised = quantise(flat, declared / settings.weightScale, settings);
  const masked = maskUpdate(ctx, me, input.secrets, input.maskSet, quantised);
  const metadata: ContainerMetadata = { ...m, sampleCount: declared, encoding: 'secagg' };
  return encodeContainer({ metadata, extra: container.extra, tensors: [maskedTensor(masked)] });
}

/** The split a hospital reveals for, or why it reveals nothing. */
export type RevealPlan =
  { reveal: true; survivors: string[]; dropped: string[] } | { reveal: false; why: string };

/**
 * The survivors and dropped of an unmasking round, from its ledger record: survivors drawn from
 * the mask set, this hospital among them, at least `fewest` of them (the threshold and the run's
 * minSurvivors).
 */
export function revealPlan(record: RoundRecord, me: string, fewest: number): RevealPlan {
  const state = record.secagg;
  if (state?.phase !== 'unmasking' || !state.survivors) {
    return { reveal: false, why: 'the ledger has fixed no survivors' };
  }
  const members = state.maskSet.map((e) => e.mspId);
  const survivors = [...new Set(state.survivors)].sort();
  const strangers = survivors.filter((s) => !members.includes(s));
  if (strangers.length > 0 || survivors.length !== state.survivors.length) {
    return {
      reveal: false,
      why: `the survivors name ${strangers.join(', ') || 'a hospital twice'} outside the mask set`,
    };
  }
  if (!survivors.includes(me)) {
    return { reveal: false, why: `${me} is not among the survivors (its update is not in)` };
  }
  if (survivors.length < fewest) {
    // Fewer would give a gateway colluding with one survivor the others' updates.
    return {
      reveal: false,
      why: `${survivors.length} survivors, fewer than the run allows (${fewest}: its threshold and minSurvivors)`,
    };
  }
  return { reveal: true, survivors, dropped: members.filter((m) => !survivors.includes(m)).sort() };
}

/**
 * Refuses a split other than the one already revealed for this round: shares of a hospital's
 * self-mask seed in one and of its mask secret in another would unmask its update.
 * @throws {SecAggRoundError} SECAGG_SPLIT_CHANGED naming a hospital that would change sides.
 */
export function checkSameSplit(
  previous: RevealedSplit | undefined,
  split: { survivors: readonly string[]; dropped: readonly string[] },
): void {
  if (!previous) return;
  const same = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
  if (same(previous.survivors, split.survivors) && same(previous.dropped, split.dropped)) return;
  const moved = [
    ...split.survivors.filter((s) => previous.dropped.includes(s)),
    ...split.dropped.filter((d) => previous.survivors.includes(d)),
  ];
  throw new SecAggRoundError(
    'SECAGG_SPLIT_CHANGED',
    `this hospital already revealed for survivors [${previous.survivors.join(', ')}] and dropped [${previous.dropped.join(', ')}]; refusing to reveal for survivors [${split.survivors.join(', ')}] and dropped [${split.dropped.join(', ')}]${moved.length > 0 ? ` (${moved.join(', ')} would be unmasked)` : ''}.`,
    ...(moved[0] !== undefined ? [{ mspId: moved[0] }] : []),
  );
}
