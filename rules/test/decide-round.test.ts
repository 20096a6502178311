// decideRound, the one definition of what makes an update count: every rule in a table (the bytes
// of one update broken one way → its exclusion code), the quorum, determinism, and FedAvg's
// aggregate equal to an independent computation. compareWithDecision against close records that
// tell the truth and ones that do not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type {
  Container,
  ExcludedUpdate,
  ModelSpec,
  RunRecord,
  Tensor,
  UpdateRecord,
} from '@fedledger/protocol';
import {
  EXCLUSION_CODES,
  decodeContainer,
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
  sha256Hex,
} from '@fedledger/protocol';
import type { RoundDecision } from '../src';
import { RoundDecisionError, compareWithDecision, decideRound, flattenTensors } from '../src';

const SPEC: ModelSpec = {
  name: 'tiny',
  inputDim: 3,
  layers: [
    { units: 4, activation: 'relu' },
    { units: 2, activation: 'softmax' },
  ],
};
const MSPS = ['H1', 'H2', 'H3'];

function tensors(seed: number, scale: number): Container['tensors'] {
  let state = seed * 7919 + 1;
  return modelTensorShapes(SPEC).map(({ name, shape }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      data[i] = (state / 2 ** 32 - 0.5) * scale;
    }
    return { name, dtype: 'F32', shape: [...shape], data };
  });
}

const INPUT = sealContainer({
  metadata: {
    kind: 'model',
    runId: 'r',
    round: 0,
    mspId: '',
    sampleCount: 0,
    modelSpecHash: modelSpecHash(SPEC),
    encoding: 'float32',
  },
  extra: {},
  tensors: tensors(0, 1),
});

const RUN: RunRecord = {
  docType: 'run',
  key: 'run/r',
  runId: 'r',
  modelSpecHash: modelSpecHash(SPEC),
  initialModelHash: INPUT.sha256,
  participants: MSPS,
  roundsPlanned: 2,
  minUpdatesPerRound: 2,
  strategy: 'fedavg',
  sampleCounts: { H1: 100, H2: 100, H3: 100 },
  settings: {
    modelSpec: SPEC,
    strategyParams: {},
    updateNormBound: 1,
    roundDeadlineSeconds: 60,
    encoding: 'float32',
    dp: null,
    he: null,
    sharedMetrics: { mode: 'none' },
  },
  coordinator: { mspId: 'C', id: 'c', certFingerprint: 'f' },
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  txId: 't',
};

function updateBytes(msp: string, n: number, change: (c: Container) => void = () => {}) {
  const c: Container = {
    metadata: {
      kind: 'update',
      runId: 'r',
      round: 0,
      mspId: msp,
      sampleCount: n,
      modelSpecHash: modelSpecHash(SPEC),
      encoding: 'float32',
    },
    extra: {},
    tensors: tensors(MSPS.indexOf(msp) + 1, 0.05),
  };
  change(c);
  return encodeContainer(c);
}

/** H2's update with one weight set to NaN after encoding (the encoder refuses NaN). */
function withNaN(): Uint8Array {
  const marker = 123.25;
  const bytes = updateBytes('H2', 20, (c) => (c.tensors[1]!.data[0] = marker));
  const pattern = new Uint8Array(new Float32Array([marker]).buffer);
  const nan = new Uint8Array(new Float32Array([NaN]).buffer);
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (pattern.every((b, k) => bytes[i + k] === b)) {
      bytes.set(nan, i);
      return bytes;
    }
  }
  throw new Error('marker not found');
}

function recordOf(msp: string, bytes: Uint8Array, n: number): UpdateRecord {
  return {
    docType: 'update',
    key: `update/r/0/${msp}`,
    runId: 'r',
    round: 0,
    mspId: msp,
    sha256: sha256Hex(bytes),
    sampleCount: n,
    byteLength: bytes.byteLength,
    encoding: 'float32',
    creator: { mspId: msp, certFingerprint: 'f' },
    txId: `tx-${msp}`,
    timestamp: '2026-01-01T00:00:01.000Z',
  };
}

/** Three valid updates (samples 10, 20, 30), with H2's replaced by `broken` when given. */
function roundWith(broken?: {
  bytes?: Uint8Array;
  record?: (r: UpdateRecord) => void;
  lost?: boolean;
}) {
  const records: UpdateRecord[] = [];
  const bytes = new Map<string, Uint8Array>();
  for (const [i, msp] of MSPS.entries()) {
    const n = 10 * (i + 1);
    const b = msp === 'H2' && broken?.bytes ? broken.bytes : updateBytes(msp, n);
    const record = recordOf(msp, b, n);
    if (msp === 'H2') broken?.record?.(record);
    records.push(record);
    if (!(msp === 'H2' && broken?.lost)) bytes.set(record.sha256, b);
  }
  return { records, bytes };
}

const decide = (input: ReturnType<typeof roundWith>, run: RunRecord = RUN) =>
  decideRound({
    run,
    round: { round: 0, inputModelHash: INPUT.sha256 },
    records: input.records,
    bytes: input.bytes,
    inputModel: INPUT.bytes,
  });

describe('decideRound: what makes an update count', () => {
  it('includes three valid updates and aggregates them as an independent FedAvg does', async () => {
    const d = await decide(roundWith());
    expect(d.included).to.deep.equal(MSPS);
    expect(d.excluded).to.deep.equal([]);
    expect(d.quorumMet).to.equal(true);
    const global = flattenTensors(decodeContainer(INPUT.bytes).tensors, SPEC);
    const deltas = MSPS.map((m, i) =>
      flattenTensors(decodeContainer(updateBytes(m, 10 * (i + 1))).tensors, SPEC),
    );
    const next = flattenTensors(decodeContainer(d.aggregate!.bytes).tensors, SPEC);
    for (let i = 0; i < next.length; i++) {
      const avg = (10 * deltas[0]![i]! + 20 * deltas[1]![i]! + 30 * deltas[2]![i]!) / 60;
      expect(next[i]).to.equal(Math.fround(global[i]! + avg));
    }
    // Deterministic: the same inputs give the same bytes.
    expect((await decide(roundWith())).aggregate!.sha256).to.equal(d.aggregate!.sha256);
  });

  const other = updateBytes('H2', 20, (c) => (c.tensors[0]!.data[0] = 0.01));
  const cases: [string, Parameters<typeof roundWith>[0], ExcludedUpdate['code']][] = [
    ['bytes nobody has', { lost: true }, 'BLOB_MISSING'],
    [
      'bytes that hash to something else',
      { record: (r) => (r.sha256 = sha256Hex(other)) },
      'HASH_MISMATCH',
    ],
    [
      'a record created by another organisation',
      { record: (r) => (r.creator.mspId = 'H3') },
      'CREATOR_MISMATCH',
    ],
    [
      'a record with another byte length',
      { record: (r) => (r.byteLength += 1) },
      'LENGTH_MISMATCH',
    ],
    [
      'bytes that are not a container',
      { bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
      'MALFORMED_CONTAINER',
    ],
    ['a NaN weight', { bytes: withNaN() }, 'NON_FINITE'],
    [
      'a tensor of the wrong shape',
      { bytes: updateBytes('H2', 20, (c) => (c.tensors[0] = { ...c.tensors[0]!, shape: [4, 3] })) },
      'SHAPE_MISMATCH',
    ],
    [
      'an L2 norm above the bound',
      { bytes: updateBytes('H2', 20, (c) => (c.tensors[0]!.data[0] = 2)) },
      'NORM_EXCEEDED',
    ],
    [
      'another round in the container',
      { bytes: updateBytes('H2', 20, (c) => (c.metadata.round = 1)) },
      'METADATA_MISMATCH',
    ],
    [
      'a sample count other than the ledger record',
      { record: (r) => (r.sampleCount = 2000) },
      'METADATA_MISMATCH',
    ],
    [
      'more samples than declared for the run',
      { bytes: updateBytes('H2', 2000), record: (r) => (r.sampleCount = 2000) },
      'SAMPLE_COUNT_EXCEEDED',
    ],
    [
      'another organisation in the container',
      { bytes: updateBytes('H2', 20, (c) => (c.metadata.mspId = 'H3')) },
      'IDENTITY_MISMATCH',
    ],
    [
      // The run keeps metrics at the hospitals (sharedMetrics none); an auditor
      // re-deciding the round catches a gateway that aggregated an update leaking them.
      'un-noised validation metrics the run does not share',
      { bytes: updateBytes('H2', 20, (c) => (c.extra['metrics.accuracy'] = '0.873')) },
      'METRICS_NOT_SHARED',
    ],
  ];
  it('judges a run recorded before the metrics setting by its own rules: metrics were allowed', async () => {
    const { sharedMetrics: _none, ...older } = RUN.settings;
    const d = await decide(
      roundWith({ bytes: updateBytes('H2', 20, (c) => (c.extra['metrics.accuracy'] = '0.873')) }),
      { ...RUN, settings: older },
    );
    expect(d.included).to.deep.equal(['H1', 'H2', 'H3']);
  });

  for (const [what, broken, code] of cases) {
    it(`excludes ${what} as ${code}, and aggregates the others`, async () => {
      const d = await decide(roundWith(broken));
      expect(d.included).to.deep.equal(['H1', 'H3']);
      expect(d.excluded.map((e) => [e.mspId, e.code, e.onLedger])).to.deep.equal([
        ['H2', code, true],
      ]);
      expect(d.excluded[0]!.detail).to.be.a('string').and.not.equal('');
      expect(d.aggregate).to.not.equal(undefined);
    });
  }

  it('closes a round whose aggregate would overflow by leaving out the largest update', async () => {
    // A run whose recorded bound lets float32-sized updates through (the gateway's is ≤ 1e12).
    const loose: RunRecord = {
      ...RUN,
      settings: { ...RUN.settings, updateNormBound: 1e39 },
    };
    // An input model already at 3e38 in one weight: adding a large Δ overflows float32.
    const input = sealContainer({
      ...decodeContainer(INPUT.bytes),
      tensors: decodeContainer(INPUT.bytes).tensors.map((t): Tensor => {
        const data = Float32Array.from(t.data);
        if (t.name === modelTensorShapes(SPEC)[0]!.name) data[0] = 3e38;
        return { name: t.name, dtype: 'F32', shape: [...t.shape], data };
      }),
    });
    const records: UpdateRecord[] = [];
    const bytes = new Map<string, Uint8Array>();
    for (const [i, msp] of MSPS.entries()) {
      const b = updateBytes(msp, 10, (c) => {
        if (i > 0) (c.tensors[0]!.data as Float32Array)[0] = 3e38 * (i === 2 ? 1 : 0.99);
      });
      const record = recordOf(msp, b, 10);
      records.push(record);
      bytes.set(record.sha256, b);
    }
    const d = await decideRound({
      run: { ...loose, minUpdatesPerRound: 1 },
      round: { round: 0, inputModelHash: input.sha256 },
      records,
      bytes,
      inputModel: input.bytes,
    });
    // Largest first: H3 (3e38), then H2 (2.97e38) still overflows; H1 alone is finite.
    expect(d.excluded.map((e) => [e.mspId, e.code])).to.deep.equal([
      ['H2', 'NON_FINITE'],
      ['H3', 'NON_FINITE'],
    ]);
    expect(d.included).to.deep.equal(['H1']);
    expect(d.aggregate).to.not.equal(undefined);
  });

  it('reports uploads without a ledger record as NOT_ON_LEDGER, off the ledger', async () => {
    const d = await decideRound({
      run: RUN,
      round: { round: 0, inputModelHash: INPUT.sha256 },
      ...roundWith(),
      inputModel: INPUT.bytes,
      offLedger: [
        { mspId: 'H9', sha256: 'a'.repeat(64) },
        { mspId: 'H1', sha256: 'b'.repeat(64) },
      ],
    });
    expect(d.excluded.map((e) => [e.mspId, e.code, e.onLedger])).to.deep.equal([
      ['H9', 'NOT_ON_LEDGER', false],
    ]);
  });

  it('meets no quorum with fewer valid updates than the minimum, and gives no aggregate', async () => {
    const input = roundWith({ lost: true });
    input.bytes.delete(input.records[0]!.sha256);
    const d = await decide(input);
    expect(d.quorumMet).to.equal(false);
    expect(d.valid).to.equal(1);
    expect(d.aggregate).to.equal(undefined);
  });

  it('refuses to decide without the input model, or with altered input model bytes', async () => {
    for (const inputModel of [undefined, new Uint8Array([1, 2, 3])]) {
      const error = await decideRound({
        run: RUN,
        round: { round: 0, inputModelHash: INPUT.sha256 },
        ...roundWith(),
        ...(inputModel ? { inputModel } : {}),
      }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(RoundDecisionError);
      expect((error as RoundDecisionError).code).to.equal('INPUT_MODEL_UNAVAILABLE');
    }
  });
});

describe('compareWithDecision: the ledger close record against the rules', () => {
  let honest: RoundDecision;
  let records: UpdateRecord[];
  before(async () => {
    const input = roundWith();
    records = input.records;
    honest = await decide(input);
  });
  const closeRecord = (d: RoundDecision) => ({
    round: 0,
    included: d.included,
    excluded: d.excluded,
    aggregateHash: d.aggregate!.sha256,
  });

  it('finds nothing when the ledger says what the rules say', () => {
    expect(compareWithDecision(closeRecord(honest), records, honest)).to.deep.equal([]);
  });

  it('finds a false exclusion, naming round, organisation and the claimed rule', async () => {
    const lie = await decide({ ...roundWith(), records });
    const h2 = records[1]!;
    const ledger = {
      ...closeRecord(lie),
      included: ['H1', 'H3'],
      excluded: [
        {
          mspId: 'H2',
          sha256: h2.sha256,
          code: 'NORM_EXCEEDED' as const,
          detail: 'x',
          onLedger: true,
        },
      ],
    };
    const findings = compareWithDecision(ledger, records, honest, { sourceOf: () => 'H2 export' });
    expect(findings.map((f) => [f.code, f.severity, f.mspId])).to.deep.equal([
      ['FALSE_EXCLUSION', 'problem', 'H2'],
    ]);
    expect(findings[0]!.message).to.match(
      /^round 0, update H2: excluded as NORM_EXCEEDED \("x"\), but .* \(bytes from H2 export\)$/,
    );
  });

  it('reports an exclusion whose bytes nobody supplied as unverifiable, not as a problem', async () => {
    const withheld = await decide(roundWith({ lost: true }));
    const findings = compareWithDecision(closeRecord(withheld), records, withheld);
    expect(findings.map((f) => [f.code, f.severity])).to.deep.equal([
      ['UNVERIFIABLE_EXCLUSION', 'unverifiable'],
    ]);
  });

  it('finds an included update that breaks a rule, and another rule claimed than broken', async () => {
    const broken = roundWith({ bytes: updateBytes('H2', 20, (c) => (c.tensors[0]!.data[0] = 2)) });
    const rules = await decide(broken);
    const included = compareWithDecision(
      { ...closeRecord(honest), included: MSPS, excluded: [] },
      broken.records,
      rules,
    );
    expect(included.map((f) => [f.code, f.mspId])).to.deep.equal([['INVALID_INCLUDED', 'H2']]);
    expect(included[0]!.message).to.contain('breaks rule NORM_EXCEEDED');
    const wrongRule = compareWithDecision(
      {
        ...closeRecord(rules),
        excluded: [{ ...rules.excluded[0]!, code: 'SHAPE_MISMATCH' }],
      },
      broken.records,
      rules,
    );
    expect(wrongRule.map((f) => f.code)).to.deep.equal(['EXCLUSION_CODE_MISMATCH']);
  });

  it('finds an aggregate that is not the one of the included updates', () => {
    const findings = compareWithDecision(
      { ...closeRecord(honest), aggregateHash: 'c'.repeat(64) },
      records,
      honest,
    );
    expect(findings.map((f) => f.code)).to.deep.equal(['AGGREGATE_MISMATCH']);
  });

  it('finds records neither included nor excluded, and included names without a record', () => {
    const findings = compareWithDecision(
      { ...closeRecord(honest), included: ['H1', 'H3', 'H7'] },
      records,
      honest,
    );
    expect(findings.map((f) => [f.code, f.mspId])).to.deep.equal([
      ['UNKNOWN_UPDATE', 'H7'],
      ['UNACCOUNTED_UPDATE', 'H2'],
    ]);
  });
});

describe('exclusion codes', () => {
  it('documents every exclusion code with its kind in the README', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    for (const [code, { kind }] of Object.entries(EXCLUSION_CODES)) {
      expect(readme).to.include(`| \`${code}\` | ${kind} |`);
    }
  });
});
