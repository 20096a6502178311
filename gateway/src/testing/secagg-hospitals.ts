// Hospitals of a secure-aggregation run, played through the gateway's REST API with the
// protocol's own functions (tests only): each advertises its keys in a transaction it signs,
// deals its shares, masks its update with the mask set's keys, and reveals what the ledger's sets
// call for. Used by the simulated-ledger and the Fabric tests alike.
import type {
  Container,
  KeyAdvertisement,
  KeysRecord,
  ModelSpec,
  RoundRecord,
  Tensor,
} from '@fedledger/protocol';
import {
  decodeContainer,
  encodeContainer,
  maskedTensor,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
} from '@fedledger/protocol';
import type { HeldShare, RoundSecrets, SecAggSettings } from '@fedledger/protocol/secagg';
import {
  advertise,
  dealShares,
  decodeShareBundle,
  encodeReveal,
  encodeShareBundle,
  maskUpdate,
  newRoundSecrets,
  openShare,
  quantise,
  revealShares,
} from '@fedledger/protocol/secagg';
import { flattenTensors } from '@fedledger/rules';
import type { Harness, OrgName, Reply } from './harness';

export const SECAGG_HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;
export type SecAggHospitalName = (typeof SECAGG_HOSPITALS)[number];
export const SECAGG_MSP: Record<SecAggHospitalName, string> = {
  hospital1: 'Hospital1MSP',
  hospital2: 'Hospital2MSP',
  hospital3: 'Hospital3MSP',
};
/** Declared sample counts, unequal so that the weights matter. */
export const SECAGG_SAMPLES: Record<string, number> = {
  Hospital1MSP: 600,
  Hospital2MSP: 900,
  Hospital3MSP: 1500,
};
/** 4,355 parameters: enough coordinates for a correlation to mean something. */
export const SECAGG_SPEC: ModelSpec = {
  name: 'secagg-test',
  inputDim: 64,
  layers: [
    { units: 64, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
};

function tensorsOf(seed: number, scale: number): Tensor[] {
  return modelTensorShapes(SECAGG_SPEC).map(({ name, shape }, t) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 7.1 + t * 3.3 + i * 0.37) * scale;
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

/** One played hospital's round: its secrets, the shares it holds and its plain update. */
export interface PlayedHospital {
  who: OrgName;
  mspId: string;
  secrets: RoundSecrets;
  held: HeldShare[];
  plain: Float32Array;
}

function ok(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) {
    throw new Error(`${what}: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
  }
  return reply;
}

/** Creates a secagg run of the three hospitals; returns the initial model's hash. */
export async function createSecAggRun(
  h: Harness,
  runId: string,
  rounds: number,
  secagg: Record<string, unknown> = { phaseSeconds: 2 },
  roundDeadlineSeconds = 4,
): Promise<string> {
  const model = sealContainer({
    metadata: {
      kind: 'model',
      runId,
      round: 0,
      mspId: '',
      sampleCount: 0,
      modelSpecHash: modelSpecHash(SECAGG_SPEC),
      encoding: 'float32',
    },
    extra: {},
    tensors: tensorsOf(0, 0.1),
  });
  ok(await h.call('coordinator', 'POST', '/v1/models', model.bytes), 201, 'model upload');
  const res = await h.call('coordinator', 'POST', '/v1/runs', {
    runId,
    participants: Object.values(SECAGG_MSP),
    roundsPlanned: rounds,
    minUpdatesPerRound: 2,
    modelSpec: SECAGG_SPEC,
    initialModelSha256: model.sha256,
    sampleCounts: SECAGG_SAMPLES,
    roundDeadlineSeconds,
    secagg,
  });
  ok(res, 201, 'run creation');
  return model.sha256;
}

/** The run's secure-aggregation settings, as the ledger records them. */
export async function secAggSettingsOf(h: Harness, runId: string): Promise<SecAggSettings> {
  const res = ok(await h.call('auditor', 'GET', `/v1/runs/${runId}`), 200, 'run');
  return res.json<{ run: { settings: { secagg: SecAggSettings } } }>().run.settings.secagg;
}

async function roundRecord(h: Harness, runId: string, r: number): Promise<RoundRecord | undefined> {
  const res = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${r}`);
  if (res.status === 404) return undefined;
  return ok(res, 200, 'round').json<{ round: RoundRecord }>().round;
}

/** Polls the round (through the gateway) until `test` holds; readiness, not a fixed sleep. */
export async function untilRound(
  h: Harness,
  runId: string,
  r: number,
  test: (record: RoundRecord) => boolean,
  timeoutMs = 60_000,
): Promise<RoundRecord> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const record = await roundRecord(h, runId, r);
    if (record && test(record)) return record;
    if (Date.now() > end) throw new Error(`round ${r} of ${runId} did not reach the state awaited`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function signSession(
  h: Harness,
  who: OrgName,
  reply: { submissionId: string; proposalDigest: string },
): Promise<void> {
  const endorsed = ok(
    await h.call(who, 'POST', `/v1/submissions/${reply.submissionId}/proposal-signature`, {
      signature: await h.sign(who, reply.proposalDigest),
    }),
    200,
    'keys proposal signature',
  );
  const { transactionDigest } = endorsed.json<{ transactionDigest: string }>();
  ok(
    await h.call(who, 'POST', `/v1/submissions/${reply.submissionId}/transaction-signature`, {
      signature: await h.sign(who, transactionDigest),
    }),
    200,
    'keys transaction signature',
  );
}

/** Options of {@link playSecAggRound}. */
export interface PlayOptions {
  /** The hospitals that mask and submit an update (the others drop after dealing). */
  submitters: readonly SecAggHospitalName[];
  /**
   * Where a hospital reads the round's key advertisements: its own peer on Fabric; by default
   * the gateway's word (the simulated ledger has no peers).
   */
  readKeys?: (who: OrgName, runId: string, round: number) => Promise<KeysRecord[]>;
  /** A dishonest dealer that leaves one hospital out of its bundle. */
  omit?: { dealer: SecAggHospitalName; recipient: string };
  /** How long to wait for each phase on the ledger (default 60 s). */
  timeoutMs?: number;
  /** A dishonest dealer whose shares are of another self-mask seed than the one it committed to. */
  inconsistentDealer?: SecAggHospitalName;
}

/** Plays one round: every hospital advertises and deals; the submitters mask and submit. */
export async function playSecAggRound(
  h: Harness,
  runId: string,
  r: number,
  options: PlayOptions,
): Promise<{ hospitals: PlayedHospital[]; closed: RoundRecord }> {
  const ctx = { runId, round: r };
  const base = `/v1/runs/${runId}/rounds/${r}/secagg`;
  const readKeys =
    options.readKeys ??
    (async (who: OrgName) =>
      ok(await h.call(who, 'GET', `${base}/keys`), 200, 'keys').json<KeysRecord[]>());
  await untilRound(h, runId, r, () => true);
  const hospitals: PlayedHospital[] = SECAGG_HOSPITALS.map((who, k) => ({
    who,
    mspId: SECAGG_MSP[who],
    secrets: newRoundSecrets(),
    held: [],
    plain: flattenTensors(tensorsOf(10 * r + k + 1, 0.02), SECAGG_SPEC),
  }));
  for (const hospital of hospitals) {
    const ad = advertise(ctx, hospital.mspId, hospital.secrets);
    const posted = ok(
      await h.call(hospital.who, 'POST', `${base}/keys`, {
        encryptionKey: ad.encryptionKey,
        maskKey: ad.maskKey,
        selfMaskCommitment: ad.selfMaskCommitment,
      }),
      201,
      'keys',
    );
    await signSession(h, hospital.who, posted.json());
  }
  const s = await secAggSettingsOf(h, runId);
  const adsOf = new Map<string, KeyAdvertisement[]>();
  for (const hospital of hospitals) {
    const keys = await readKeys(hospital.who, runId, r);
    // Only a key its own hospital recorded counts.
    const ads = keys
      .filter((k) => k.creator.mspId === k.mspId)
      .map(({ mspId, encryptionKey, maskKey, selfMaskCommitment }) => ({
        mspId,
        encryptionKey,
        maskKey,
        selfMaskCommitment,
      }));
    adsOf.set(hospital.mspId, ads);
    const omit = options.omit?.dealer === hospital.who ? options.omit.recipient : undefined;
    let recipients = ads.filter((a) => a.mspId !== omit);
    let dealt = hospital.secrets;
    if (options.inconsistentDealer === hospital.who) {
      // Same keys, another seed: every share decrypts, none recovers the committed seed.
      dealt = { ...hospital.secrets, selfMaskSeed: newRoundSecrets().selfMaskSeed };
      const own = advertise(ctx, hospital.mspId, dealt);
      recipients = recipients.map((a) => (a.mspId === hospital.mspId ? own : a));
    }
    const bundle = await dealShares(ctx, hospital.mspId, dealt, recipients, s.threshold);
    ok(
      await h.call(
        hospital.who,
        'POST',
        `${base}/shares`,
        JSON.parse(Buffer.from(encodeShareBundle(bundle)).toString('utf8')) as object,
        { 'content-type': 'application/json' },
      ),
      201,
      'shares',
    );
  }
  const masking = await untilRound(h, runId, r, (rec) => rec.secagg?.phase === 'masking');
  const maskSet = masking.secagg?.maskSet ?? [];
  const inMaskSet = (x: PlayedHospital) => maskSet.some((e) => e.mspId === x.mspId);
  for (const hospital of hospitals.filter(inMaskSet)) {
    const ads = adsOf.get(hospital.mspId) ?? [];
    for (const entry of maskSet) {
      const res = ok(
        await h.call(hospital.who, 'GET', `${base}/shares/${entry.mspId}`),
        200,
        'bundle',
      );
      const dealer = ads.find((a) => a.mspId === entry.mspId);
      if (!dealer) throw new Error(`${entry.mspId} has no keys on the ledger`);
      hospital.held.push(
        openShare(ctx, hospital.mspId, hospital.secrets, decodeShareBundle(res.body), dealer),
      );
    }
  }
  for (const who of options.submitters) {
    const hospital = hospitals.find((x) => x.who === who) as PlayedHospital;
    const n = SECAGG_SAMPLES[hospital.mspId] as number;
    const maskAds = (adsOf.get(hospital.mspId) ?? []).filter((a) =>
      maskSet.some((e) => e.mspId === a.mspId),
    );
    const words = maskUpdate(
      ctx,
      hospital.mspId,
      hospital.secrets,
      maskAds,
      quantise(hospital.plain, n / s.weightScale, s),
    );
    const container: Container = {
      metadata: {
        kind: 'update',
        runId,
        round: r,
        mspId: hospital.mspId,
        sampleCount: n,
        modelSpecHash: modelSpecHash(SECAGG_SPEC),
        encoding: 'secagg',
      },
      extra: {},
      tensors: [maskedTensor(words)],
    };
    ok(await h.submit(who, runId, r, encodeContainer(container)), 200, 'masked update');
  }
  const unmasking = await untilRound(
    h,
    runId,
    r,
    (rec) => rec.secagg?.phase === 'unmasking',
    options.timeoutMs,
  );
  const survivors = unmasking.secagg?.survivors ?? [];
  const dropped = maskSet.map((e) => e.mspId).filter((m) => !survivors.includes(m));
  for (const hospital of hospitals.filter((x) => survivors.includes(x.mspId))) {
    const reveal = revealShares(ctx, hospital.mspId, hospital.held, survivors, dropped);
    ok(
      await h.call(
        hospital.who,
        'POST',
        `${base}/reveal`,
        JSON.parse(Buffer.from(encodeReveal(reveal)).toString('utf8')) as object,
        { 'content-type': 'application/json' },
      ),
      201,
      'reveal',
    );
  }
  const closed = await untilRound(h, runId, r, (rec) => rec.status === 'closed');
  return { hospitals, closed };
}

/**
 * The largest difference between a round's aggregate and the plaintext FedAvg of the included
 * hospitals' updates, and the bound the README states: n·2^-(f+1) per weighted coordinate,
 * scaled by S / Σn, plus float32 rounding of the model.
 */
export async function secAggError(
  h: Harness,
  closed: RoundRecord,
  input: Uint8Array,
  hospitals: readonly PlayedHospital[],
  s: SecAggSettings,
): Promise<{ worst: number; bound: number }> {
  const included = closed.included ?? [];
  const model = await h.gateway.blobs.get(closed.aggregateHash as string);
  const aggregate = flattenTensors(decodeContainer(model).tensors, SECAGG_SPEC);
  const start = flattenTensors(decodeContainer(input).tensors, SECAGG_SPEC);
  const total = included.reduce((n, m) => n + (SECAGG_SAMPLES[m] as number), 0);
  let worst = 0;
  for (let i = 0; i < start.length; i++) {
    let step = 0;
    for (const x of hospitals.filter((y) => included.includes(y.mspId))) {
      step += ((SECAGG_SAMPLES[x.mspId] as number) / total) * (x.plain[i] as number);
    }
    worst = Math.max(worst, Math.abs((aggregate[i] as number) - ((start[i] as number) + step)));
  }
  const bound = included.length * 2 ** -(s.fractionBits + 1) * (s.weightScale / total) + 1e-6;
  return { worst, bound };
}

/** Pearson correlation of two vectors of 32-bit words read as signed integers. */
export function wordCorrelation(a: Uint32Array, b: Uint32Array): number {
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += (x[i] as number) / n;
    my += (y[i] as number) / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}
