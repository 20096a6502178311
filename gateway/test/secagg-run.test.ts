// A secure-aggregation run through the real gateway on the simulated ledger, hospitals played
// with the protocol's own functions: keys advertised in transactions each hospital signs, shares
// dealt and relayed, masked updates, reveals. The aggregate equals the plaintext FedAvg within
// the quantisation bound, the gateway's stored update is uncorrelated with the plain one, a
// hospital that drops after dealing its shares does not stop the round, and the auditor
// recomputes every aggregate from what the ledger names.
import { expect } from 'chai';
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
  maskedWords,
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
import type { OrgName } from '../src/testing';
import { Harness } from '../src/testing';

const HOSPITALS = ['hospital1', 'hospital2', 'hospital3'] as const;
const MSP: Record<(typeof HOSPITALS)[number], string> = {
  hospital1: 'Hospital1MSP',
  hospital2: 'Hospital2MSP',
  hospital3: 'Hospital3MSP',
};
const SAMPLES: Record<string, number> = {
  Hospital1MSP: 600,
  Hospital2MSP: 900,
  Hospital3MSP: 1500,
};
// 4,355 parameters: enough coordinates for a correlation to mean something.
const SPEC: ModelSpec = {
  name: 'secagg-test',
  inputDim: 64,
  layers: [
    { units: 64, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
};

function tensorsOf(seed: number, scale: number): Tensor[] {
  return modelTensorShapes(SPEC).map(({ name, shape }, t) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 7.1 + t * 3.3 + i * 0.37) * scale;
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

interface Hospital {
  who: OrgName;
  mspId: string;
  secrets: RoundSecrets;
  held: HeldShare[];
  plain: Float32Array;
}

describe('secure-aggregation run (simulated ledger, real gateway)', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await Harness.create();
  });
  after(async () => {
    await h.dispose();
  });

  async function createRun(runId: string, rounds: number): Promise<{ sha256: string }> {
    const model = sealContainer({
      metadata: {
        kind: 'model',
        runId,
        round: 0,
        mspId: '',
        sampleCount: 0,
        modelSpecHash: modelSpecHash(SPEC),
        encoding: 'float32',
      },
      extra: {},
      tensors: tensorsOf(0, 0.1),
    });
    expect((await h.call('coordinator', 'POST', '/v1/models', model.bytes)).status).to.equal(201);
    const res = await h.call('coordinator', 'POST', '/v1/runs', {
      runId,
      participants: Object.values(MSP),
      roundsPlanned: rounds,
      minUpdatesPerRound: 2,
      modelSpec: SPEC,
      initialModelSha256: model.sha256,
      sampleCounts: SAMPLES,
      secagg: { phaseSeconds: 2 },
    });
    expect(res.status, res.body.toString()).to.equal(201);
    return model;
  }

  async function round(runId: string, r: number): Promise<RoundRecord> {
    const res = await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${r}`);
    expect(res.status).to.equal(200);
    return res.json<{ round: RoundRecord }>().round;
  }

  async function until(
    runId: string,
    r: number,
    test: (record: RoundRecord) => boolean,
  ): Promise<RoundRecord> {
    for (let i = 0; i < 400; i++) {
      const record = await round(runId, r);
      if (test(record)) return record;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`round ${r} of ${runId} never reached the expected state`);
  }

  async function signSession(
    who: OrgName,
    reply: { submissionId: string; proposalDigest: string },
  ) {
    const endorsed = await h.call(
      who,
      'POST',
      `/v1/submissions/${reply.submissionId}/proposal-signature`,
      {
        signature: await h.sign(who, reply.proposalDigest),
      },
    );
    expect(endorsed.status, endorsed.body.toString()).to.equal(200);
    const { transactionDigest } = endorsed.json<{ transactionDigest: string }>();
    const committed = await h.call(
      who,
      'POST',
      `/v1/submissions/${reply.submissionId}/transaction-signature`,
      {
        signature: await h.sign(who, transactionDigest),
      },
    );
    expect(committed.status, committed.body.toString()).to.equal(200);
  }

  /** Plays one round: every hospital advertises and deals; `submitters` mask and submit. */
  async function playRound(
    runId: string,
    r: number,
    settings: () => Promise<SecAggSettings>,
    submitters: readonly (typeof HOSPITALS)[number][],
  ): Promise<{ hospitals: Hospital[]; closed: RoundRecord }> {
    const ctx = { runId, round: r };
    const hospitals: Hospital[] = HOSPITALS.map((who, k) => ({
      who,
      mspId: MSP[who],
      secrets: newRoundSecrets(),
      held: [],
      plain: flattenTensors(tensorsOf(10 * r + k + 1, 0.02), SPEC),
    }));
    for (const hospital of hospitals) {
      const ad = advertise(ctx, hospital.mspId, hospital.secrets);
      const posted = await h.call(
        hospital.who,
        'POST',
        `/v1/runs/${runId}/rounds/${r}/secagg/keys`,
        {
          encryptionKey: ad.encryptionKey,
          maskKey: ad.maskKey,
          selfMaskCommitment: ad.selfMaskCommitment,
        },
      );
      expect(posted.status, posted.body.toString()).to.equal(201);
      await signSession(hospital.who, posted.json());
    }
    const keys = (await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${r}/secagg/keys`)).json<
      KeysRecord[]
    >();
    expect(keys.map((k) => k.mspId)).to.deep.equal(Object.values(MSP));
    expect(keys.every((k) => k.creator.mspId === k.mspId)).to.equal(true);
    const ads: KeyAdvertisement[] = keys.map(
      ({ mspId, encryptionKey, maskKey, selfMaskCommitment }) => ({
        mspId,
        encryptionKey,
        maskKey,
        selfMaskCommitment,
      }),
    );
    const s = await settings();
    for (const hospital of hospitals) {
      const bundle = await dealShares(ctx, hospital.mspId, hospital.secrets, ads, s.threshold);
      const posted = await h.call(
        hospital.who,
        'POST',
        `/v1/runs/${runId}/rounds/${r}/secagg/shares`,
        Buffer.from(encodeShareBundle(bundle)).toString('utf8'),
        { 'content-type': 'application/json' },
      );
      expect(posted.status, posted.body.toString()).to.equal(201);
    }
    const masking = await until(runId, r, (rec) => rec.secagg?.phase === 'masking');
    expect(masking.secagg?.maskSet.map((e) => e.mspId)).to.deep.equal(Object.values(MSP));
    for (const hospital of hospitals) {
      for (const entry of masking.secagg?.maskSet ?? []) {
        const res = await h.call(
          hospital.who,
          'GET',
          `/v1/runs/${runId}/rounds/${r}/secagg/shares/${entry.mspId}`,
        );
        expect(res.status).to.equal(200);
        const dealer = ads.find((a) => a.mspId === entry.mspId) as KeyAdvertisement;
        hospital.held.push(
          openShare(ctx, hospital.mspId, hospital.secrets, decodeShareBundle(res.body), dealer),
        );
      }
    }
    for (const who of submitters) {
      const hospital = hospitals.find((x) => x.who === who) as Hospital;
      const n = SAMPLES[hospital.mspId] as number;
      const words = maskUpdate(
        ctx,
        hospital.mspId,
        hospital.secrets,
        ads,
        quantise(hospital.plain, n / s.weightScale, s),
      );
      const container: Container = {
        metadata: {
          kind: 'update',
          runId,
          round: r,
          mspId: hospital.mspId,
          sampleCount: n,
          modelSpecHash: modelSpecHash(SPEC),
          encoding: 'secagg',
        },
        extra: {},
        tensors: [maskedTensor(words)],
      };
      const res = await h.submit(who, runId, r, encodeContainer(container));
      expect(res.status, res.body.toString()).to.equal(200);
    }
    const unmasking = await until(runId, r, (rec) => rec.secagg?.phase === 'unmasking');
    const survivors = unmasking.secagg?.survivors ?? [];
    const dropped = Object.values(MSP).filter((m) => !survivors.includes(m));
    for (const hospital of hospitals.filter((x) => survivors.includes(x.mspId))) {
      const reveal = revealShares(ctx, hospital.mspId, hospital.held, survivors, dropped);
      const res = await h.call(
        hospital.who,
        'POST',
        `/v1/runs/${runId}/rounds/${r}/secagg/reveal`,
        Buffer.from(encodeReveal(reveal)).toString('utf8'),
        { 'content-type': 'application/json' },
      );
      expect(res.status, res.body.toString()).to.equal(201);
    }
    const closed = await until(runId, r, (rec) => rec.status === 'closed');
    return { hospitals, closed };
  }

  const settingsOf = (runId: string) => async (): Promise<SecAggSettings> => {
    const res = await h.call('auditor', 'GET', `/v1/runs/${runId}`);
    return res.json<{ run: { settings: { secagg: SecAggSettings } } }>().run.settings.secagg;
  };

  /** max |aggregate − plaintext FedAvg| over the parameters, and the bound it must stay within. */
  async function compare(
    closed: RoundRecord,
    input: Uint8Array,
    hospitals: Hospital[],
    included: string[],
    s: SecAggSettings,
  ) {
    const aggregate = flattenTensors(
      decodeContainer(await h.gateway.blobs.get(closed.aggregateHash as string)).tensors,
      SPEC,
    );
    const start = flattenTensors(decodeContainer(input).tensors, SPEC);
    const total = included.reduce((n, m) => n + (SAMPLES[m] as number), 0);
    let worst = 0;
    for (let i = 0; i < start.length; i++) {
      let step = 0;
      for (const x of hospitals.filter((y) => included.includes(y.mspId))) {
        step += ((SAMPLES[x.mspId] as number) / total) * (x.plain[i] as number);
      }
      worst = Math.max(worst, Math.abs((aggregate[i] as number) - ((start[i] as number) + step)));
    }
    // The README's bound: n·2^-(f+1) per weighted coordinate, times S/Σn, plus float32 rounding.
    const bound = included.length * 2 ** -(s.fractionBits + 1) * (s.weightScale / total) + 1e-6;
    return { worst, bound };
  }

  it('aggregates three masked updates to the plaintext FedAvg within the quantisation bound, and the auditor agrees', async () => {
    const runId = 'secagg-all';
    const initial = await createRun(runId, 2);
    const s = await settingsOf(runId)();
    expect(s.threshold).to.equal(2);
    expect(s.weightScale).to.equal(3000);
    let input = await h.gateway.blobs.get(initial.sha256);
    for (let r = 0; r < 2; r++) {
      const { hospitals, closed } = await playRound(runId, r, settingsOf(runId), HOSPITALS);
      expect(closed.included).to.deep.equal(Object.values(MSP));
      expect(closed.secagg?.recovery?.map((e) => e.mspId)).to.deep.equal(Object.values(MSP));
      const { worst, bound } = await compare(closed, input, hospitals, Object.values(MSP), s);
      expect(worst).to.be.lessThan(bound);
      // What the gateway stores for one hospital looks nothing like its update.
      const record = (await h.call('auditor', 'GET', `/v1/runs/${runId}/rounds/${r}`)).json<{
        updates: { mspId: string; sha256: string }[];
      }>().updates[0];
      const stored = maskedWords(
        decodeContainer(await h.gateway.blobs.get(record?.sha256 as string)),
        hospitals[0]?.plain.length ?? 0,
      );
      const plain = quantise(hospitals[0]?.plain ?? [], 600 / s.weightScale, s);
      expect(Math.abs(correlation(signed(stored), signed(plain)))).to.be.lessThan(0.05);
      input = await h.gateway.blobs.get(closed.aggregateHash as string);
    }
    const verify = await h.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`);
    const report = verify.json<{ ok: boolean; rounds: { ok: boolean; problems: unknown[] }[] }>();
    expect(
      report.rounds.map((x) => x.ok),
      JSON.stringify(report.rounds),
    ).to.deep.equal([true, true]);
    expect(report.ok).to.equal(true);
  });

  it('closes and verifies a round whose third hospital dropped after dealing its shares', async () => {
    const runId = 'secagg-dropout';
    const initial = await createRun(runId, 1);
    const s = await settingsOf(runId)();
    const { hospitals, closed } = await playRound(runId, 0, settingsOf(runId), [
      'hospital1',
      'hospital2',
    ]);
    expect(closed.secagg?.survivors).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    expect(closed.included).to.deep.equal(['Hospital1MSP', 'Hospital2MSP']);
    const { worst, bound } = await compare(
      closed,
      await h.gateway.blobs.get(initial.sha256),
      hospitals,
      ['Hospital1MSP', 'Hospital2MSP'],
      s,
    );
    expect(worst).to.be.lessThan(bound);
    const verify = await h.call('auditor', 'POST', `/v1/audit/runs/${runId}/verify`);
    expect(verify.json<{ ok: boolean }>().ok, verify.body.toString()).to.equal(true);
  });

  it('refuses a masked update from outside the mask set phase and a reveal before unmasking', async () => {
    const runId = 'secagg-phases';
    await createRun(runId, 1);
    const early = await h.call(
      'hospital1',
      'POST',
      `/v1/runs/${runId}/rounds/0/secagg/reveal`,
      '{}',
      { 'content-type': 'application/json' },
    );
    expect(early.status).to.equal(409);
    expect(early.json<{ code: string }>().code).to.equal('FL_ERR_SECAGG_PHASE');
    const bad = await h.call(
      'hospital1',
      'POST',
      `/v1/runs/${runId}/rounds/0/secagg/shares`,
      '{"format":"x"}',
      { 'content-type': 'application/json' },
    );
    expect(bad.status).to.equal(422);
    expect(bad.json<{ code: string }>().code).to.equal('FL_ERR_SECAGG_MALFORMED');
  });
});

function signed(words: Uint32Array): Float64Array {
  return Float64Array.from(new Int32Array(words.buffer, words.byteOffset, words.length));
}

function correlation(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / n;
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}
