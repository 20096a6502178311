// A FedAvg round decided from a blob reader: each update is read once, one at a time (the
// decision never holds two), and the aggregate's bytes equal those of FedAvg over every update
// held at once, so a run closed by either path verifies under the other.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import type { Container, ModelSpec, RunRecord, UpdateRecord } from '@fedledger/protocol';
import {
  encodeContainer,
  modelSpecHash,
  modelTensorShapes,
  sealContainer,
  sha256Hex,
  decodeContainer,
} from '@fedledger/protocol';
import { aggregateModel, decideRound, flattenTensors } from '../src';

const SPEC: ModelSpec = {
  name: 'tiny',
  inputDim: 5,
  layers: [
    { units: 8, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
};
const MSPS = Array.from({ length: 40 }, (_, i) => `Hospital${i + 1}MSP`);

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

function runWith(strategy: RunRecord['strategy']): RunRecord {
  return {
    docType: 'run',
    key: 'run/r',
    runId: 'r',
    modelSpecHash: modelSpecHash(SPEC),
    initialModelHash: INPUT.sha256,
    participants: MSPS,
    roundsPlanned: 2,
    minUpdatesPerRound: 21,
    strategy,
    sampleCounts: Object.fromEntries(MSPS.map((m) => [m, 10_000])),
    settings: {
      modelSpec: SPEC,
      strategyParams: {},
      updateNormBound: 10,
      roundDeadlineSeconds: 60,
      encoding: 'float32',
      dp: null,
      he: null,
    },
    coordinator: { mspId: 'C', id: 'c', certFingerprint: 'f' },
    status: 'active',
    createdAt: '2026-01-01T00:00:00.000Z',
    txId: 't',
  };
}

function round40() {
  const records: UpdateRecord[] = [];
  const bytes = new Map<string, Uint8Array>();
  for (const [i, msp] of MSPS.entries()) {
    // Sample counts that do not divide evenly, so the float64 order of operations shows.
    const n = 37 + 53 * i;
    const b = encodeContainer({
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
      tensors: tensors(i + 1, 0.3),
    });
    const sha256 = sha256Hex(b);
    bytes.set(sha256, b);
    records.push({
      docType: 'update',
      key: `update/r/0/${msp}`,
      runId: 'r',
      round: 0,
      mspId: msp,
      sha256,
      sampleCount: n,
      byteLength: b.byteLength,
      encoding: 'float32',
      creator: { mspId: msp, certFingerprint: 'f' },
      txId: `tx-${msp}`,
      timestamp: '2026-01-01T00:00:01.000Z',
    });
  }
  // The ledger lists records in key order, not MSP ID order (Hospital10MSP before Hospital2MSP).
  return { records: records.reverse(), bytes };
}

// The collector, to count the updates a decision still holds (a test-only use of V8's flag).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * A reader over `bytes` that counts reads, the most ever in flight at once, and, at each read
 * after a full collection, how many of the buffers it handed out before are still held.
 */
function countingReader(bytes: ReadonlyMap<string, Uint8Array>) {
  const reads = new Map<string, number>();
  const handedOut: WeakRef<Uint8Array>[] = [];
  let inFlight = 0;
  let most = 0;
  let mostHeld = 0;
  return {
    reads,
    most: () => most,
    mostHeld: () => mostHeld,
    async get(sha256: string): Promise<Uint8Array | undefined> {
      inFlight += 1;
      most = Math.max(most, inFlight);
      reads.set(sha256, (reads.get(sha256) ?? 0) + 1);
      await new Promise((r) => setImmediate(r));
      collect();
      mostHeld = Math.max(mostHeld, handedOut.filter((w) => w.deref() !== undefined).length);
      inFlight -= 1;
      const stored = bytes.get(sha256);
      const copy = stored && Uint8Array.from(stored);
      if (copy) handedOut.push(new WeakRef(copy));
      return copy;
    },
  };
}

describe('decideRound, FedAvg streamed from a blob reader', () => {
  it('reads each of 40 updates once, one at a time, and gives the in-memory FedAvg bytes', async () => {
    const run = runWith('fedavg');
    const { records, bytes } = round40();
    const reader = countingReader(bytes);
    const d = await decideRound({
      run,
      round: { round: 0, inputModelHash: INPUT.sha256 },
      records,
      bytes: reader,
      inputModel: INPUT.bytes,
    });
    expect(d.included).to.deep.equal([...MSPS].sort());
    expect(d.excluded).to.deep.equal([]);
    expect(reader.most()).to.equal(1);
    // The update before the one being read may still sit in a register; no more than that.
    expect(reader.mostHeld()).to.be.at.most(2);
    expect([...reader.reads.values()]).to.deep.equal(MSPS.map(() => 1));
    // FedAvg over every update at once (aggregateModel, the strategy function).
    const inMemory = aggregateModel(
      run,
      { round: 0, inputModelHash: INPUT.sha256 },
      INPUT.bytes,
      records.map((r) => ({
        mspId: r.mspId,
        sampleCount: r.sampleCount,
        delta: flattenTensors(decodeContainer(bytes.get(r.sha256)!).tensors, SPEC),
      })),
    );
    expect(d.aggregate?.sha256).to.equal(inMemory.sha256);
  });

  it('reads a missing update as BLOB_MISSING and still aggregates the rest', async () => {
    const { records, bytes } = round40();
    const lost = records.find((r) => r.mspId === 'Hospital7MSP')!;
    const d = await decideRound({
      run: runWith('fedavg'),
      round: { round: 0, inputModelHash: INPUT.sha256 },
      records,
      bytes: { get: (sha256) => (sha256 === lost.sha256 ? undefined : bytes.get(sha256)) },
      inputModel: INPUT.bytes,
    });
    expect(d.excluded.map((e) => [e.mspId, e.code])).to.deep.equal([
      ['Hospital7MSP', 'BLOB_MISSING'],
    ]);
    expect(d.included).to.have.length(39);
  });

  it('decides a coordinate-median round from the same reader (all updates at once)', async () => {
    const { records, bytes } = round40();
    const reader = countingReader(bytes);
    const input = {
      run: runWith('median'),
      round: { round: 0, inputModelHash: INPUT.sha256 },
      records,
      inputModel: INPUT.bytes,
    };
    const fromReader = await decideRound({ ...input, bytes: reader });
    const fromMap = await decideRound({ ...input, bytes });
    expect(fromReader.aggregate?.sha256).to.equal(fromMap.aggregate?.sha256);
    expect(fromReader.included).to.have.length(40);
  });
});
