// bench:secagg's measurement of one simulated secure-aggregation round of n hospitals and P
// parameters, in one process: the client's masking step (quantise, deal shares, mask) against its
// plaintext step (encoding the float32 update container), the gateway's unmasking with everyone
// surviving and with one dropped against the plaintext FedAvg sum, and the bytes one hospital
// sends against the plaintext container. Every unmasked sum is checked before it is reported.
import { performance } from 'node:perf_hooks';
import type { Container } from '@fedledger/protocol';
import { encodeContainer } from '@fedledger/protocol';
import type {
  HeldShare,
  KeyAdvertisement,
  Reveal,
  RoundSecrets,
  ShareBundle,
} from '@fedledger/protocol/secagg';
import {
  advertise,
  dealShares,
  defaultSecAggSettings,
  dequantise,
  encodeReveal,
  encodeShareBundle,
  maskUpdate,
  newRoundSecrets,
  openShare,
  quantise,
  revealShares,
  unmaskSum,
} from '@fedledger/protocol/secagg';

export interface SecAggRoundOptions {
  hospitals: number;
  parameters: number;
  /** Timed repetitions of each step (the median is reported). */
  runs: number;
  /** Called with a line of progress for long steps. */
  progress?: (line: string) => void;
}

export interface SecAggRoundFigures {
  hospitals: number;
  parameters: number;
  threshold: number;
  /** One hospital: quantise + deal shares + mask. */
  clientMaskMs: number;
  /** One hospital, plaintext: encode the float32 update container. */
  plainClientMs: number;
  /** One hospital: encode the masked (I32) container. */
  maskedEncodeMs: number;
  /** One hospital: open the n bundles dealt to it and make its reveal. */
  clientOpenRevealMs: number;
  /** Gateway: unmask the sum of n masked updates, everyone surviving. */
  unmaskMs: number;
  /** Gateway: unmask the sum of n − 1 masked updates, one hospital dropped. */
  unmaskDroppedMs: number;
  /** Gateway, plaintext: the sample-weighted sum of n float32 updates. */
  plainSumMs: number;
  maskedContainerBytes: number;
  bundleBytes: number;
  revealBytes: number;
  /** What one hospital sends: masked container + share bundle + reveal. */
  secaggBytes: number;
  plainBytes: number;
  /** Largest difference between the decoded sum and Σ w·Δ, and the bound n·2^-(f+1). */
  maxAbsError: number;
  errorBound: number;
}

interface Party {
  name: string;
  secrets: RoundSecrets;
  ad: KeyAdvertisement;
  update: Float32Array;
  weight: number;
}

const ctx = { runId: 'bench-secagg', round: 1 };
const SPEC_HASH = '0'.repeat(64);

/** Median wall time of `runs` calls and the last call's result. */
export async function medianMs<T>(runs: number, work: () => Promise<T> | T): Promise<[number, T]> {
  const times: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < Math.max(1, runs); i++) {
    const start = performance.now();
    last = await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return [times[Math.floor(times.length / 2)] as number, last as T];
}

/** Deterministic update-like values in [-1, 1] (xorshift), as bench:he uses. */
export function updateVector(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 0xffffffff) * 2 - 1;
  }
  return out;
}

function container(party: Party, tensor: Container['tensors'][number]): Container {
  return {
    metadata: {
      kind: 'update',
      runId: ctx.runId,
      round: ctx.round,
      mspId: party.name,
      sampleCount: 1000,
      modelSpecHash: SPEC_HASH,
      // The container's encoding tag for masked updates is the gateway's to define; the tag's
      // length changes the size by a few bytes at most.
      encoding: 'float32',
    },
    extra: {},
    tensors: [tensor],
  };
}

function plainFedAvg(parties: readonly Party[]): Float64Array {
  const out = new Float64Array(parties[0]?.update.length ?? 0);
  for (const { update, weight } of parties) {
    for (let i = 0; i < update.length; i++)
      out[i] = (out[i] as number) + weight * (update[i] as number);
  }
  return out;
}

function wrappedSum(vectors: readonly Uint32Array[], length: number): Uint32Array {
  const sum = new Uint32Array(length);
  for (const v of vectors)
    for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + (v[i] as number);
  return sum;
}

/** Runs and times one simulated round; throws if an unmasked sum is wrong. */
export async function measureSecAggRound(options: SecAggRoundOptions): Promise<SecAggRoundFigures> {
  const { hospitals: n, parameters: p, runs } = options;
  const progress = options.progress ?? (() => undefined);
  const counts = Array.from({ length: n }, (_, k) => 1000 + 137 * k);
  const total = counts.reduce((a, b) => a + b, 0);
  const settings = defaultSecAggSettings(n, total);
  const t = settings.threshold;
  const parties: Party[] = counts.map((count, k) => {
    const name = `Hospital${String(k + 1).padStart(2, '0')}MSP`;
    const secrets = newRoundSecrets();
    return {
      name,
      secrets,
      ad: advertise(ctx, name, secrets),
      update: updateVector(p, k + 1),
      weight: count / total,
    };
  });
  const ads = parties.map((h) => h.ad);
  const first = parties[0] as Party;

  // The client step of one hospital, timed; the others run it once to make the round's inputs.
  const quantised = new Map<string, Uint32Array>();
  const masked = new Map<string, Uint32Array>();
  const bundles = new Map<string, ShareBundle>();
  const clientStep = async (h: Party): Promise<void> => {
    const q = quantise(h.update, h.weight, settings);
    bundles.set(h.name, await dealShares(ctx, h.name, h.secrets, ads, t));
    masked.set(h.name, maskUpdate(ctx, h.name, h.secrets, ads, q));
    quantised.set(h.name, q);
  };
  progress(`n=${n} P=${p}: client step of one hospital (${runs} runs)`);
  const [clientMaskMs] = await medianMs(runs, () => clientStep(first));
  const [plainClientMs, plainBytes] = await medianMs(
    runs,
    () =>
      encodeContainer(
        container(first, { name: 'update', dtype: 'F32', shape: [p], data: first.update }),
      ).length,
  );
  const maskedOf = (h: Party): Uint32Array => masked.get(h.name) as Uint32Array;
  const [maskedEncodeMs, maskedContainerBytes] = await medianMs(runs, () => {
    const words = maskedOf(first);
    const data = new Int32Array(words.buffer, words.byteOffset, words.length);
    return encodeContainer(container(first, { name: 'update', dtype: 'I32', shape: [p], data }))
      .length;
  });
  for (const [k, h] of parties.entries()) {
    if (k === 0) continue;
    if (k % 10 === 0) progress(`n=${n} P=${p}: masking hospital ${k + 1} of ${n}`);
    await clientStep(h);
  }

  progress(`n=${n} P=${p}: opening the shares`);
  const held = new Map<string, HeldShare[]>();
  const open = (me: Party): HeldShare[] =>
    parties.map((dealer) =>
      openShare(ctx, me.name, me.secrets, bundles.get(dealer.name) as ShareBundle, dealer.ad),
    );
  for (const h of parties.slice(1)) held.set(h.name, open(h));
  const names = parties.map((h) => h.name);
  const [clientOpenRevealMs, firstReveal] = await medianMs(runs, () => {
    held.set(first.name, open(first));
    return revealShares(ctx, first.name, held.get(first.name) as HeldShare[], names, []);
  });
  const reveals: Reveal[] = parties.map((h, k) =>
    k === 0 ? firstReveal : revealShares(ctx, h.name, held.get(h.name) as HeldShare[], names, []),
  );

  progress(`n=${n} P=${p}: gateway unmasking, everyone surviving (${runs} runs)`);
  const [plainSumMs, expected] = await medianMs(runs, () => plainFedAvg(parties));
  const [unmaskMs, sum] = await medianMs(runs, () => unmaskSum(ctx, ads, masked, reveals, t));
  const decoded = dequantise(sum, settings);
  let maxAbsError = 0;
  for (let i = 0; i < p; i++) {
    maxAbsError = Math.max(maxAbsError, Math.abs((decoded[i] as number) - (expected[i] as number)));
  }
  const errorBound = n * 2 ** -(settings.fractionBits + 1);
  if (maxAbsError > errorBound) {
    throw new Error(
      `n=${n} P=${p}: the unmasked sum is off by ${maxAbsError}, above ${errorBound}`,
    );
  }

  progress(`n=${n} P=${p}: gateway unmasking, one hospital dropped (${runs} runs)`);
  const dropped = parties[n - 1] as Party;
  const survivors = parties.slice(0, n - 1);
  const alive = survivors.map((h) => h.name);
  const survivorMasked = new Map(survivors.map((h) => [h.name, maskedOf(h)]));
  const droppedReveals = survivors.map((h) =>
    revealShares(ctx, h.name, held.get(h.name) as HeldShare[], alive, [dropped.name]),
  );
  const [unmaskDroppedMs, droppedSum] = await medianMs(runs, () =>
    unmaskSum(ctx, ads, survivorMasked, droppedReveals, t),
  );
  const want = wrappedSum(
    survivors.map((h) => quantised.get(h.name) as Uint32Array),
    p,
  );
  if (!droppedSum.every((x, i) => x === want[i])) {
    throw new Error(`n=${n} P=${p}: the unmasked sum with one dropped is not the survivors' sum`);
  }

  const bundleBytes = encodeShareBundle(bundles.get(first.name) as ShareBundle).length;
  const revealBytes = encodeReveal(firstReveal).length;
  return {
    hospitals: n,
    parameters: p,
    threshold: t,
    clientMaskMs,
    plainClientMs,
    maskedEncodeMs,
    clientOpenRevealMs,
    unmaskMs,
    unmaskDroppedMs,
    plainSumMs,
    maskedContainerBytes,
    bundleBytes,
    revealBytes,
    secaggBytes: maskedContainerBytes + bundleBytes + revealBytes,
    plainBytes,
    maxAbsError,
    errorBound,
  };
}
