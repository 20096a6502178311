// The auditor's pure formatting: trail rows (fates, ε, exclusions), CSV quoting, verification
// reports, and Fabric block decoding.
import { expect } from 'chai';
import { common, peer } from '@hyperledger/fabric-protos';
import type { AuditTrail, RoundTrail, UpdateRecord } from '@fedledger/protocol';
import { decodeBlock, decodeChainHeight, formatBlock } from '../src/audit/block-info';
import { formatVerificationReport, verificationExitCode } from '../src/audit/report-format';
import { csvField, formatTrailCsv, formatTrailTable, trailView } from '../src/audit/trail-format';
import type { VerificationReport } from '../src/audit/verify';

const hash = (c: string): string => c.repeat(64);

function record(mspId: string, sha: string, epsilon?: string): UpdateRecord {
  return {
    docType: 'update',
    key: `update/r/0/${mspId}`,
    runId: 'r',
    round: 0,
    mspId,
    sha256: sha,
    sampleCount: 42,
    byteLength: 100,
    encoding: 'float32',
    ...(epsilon ? { dp: { mechanism: 'gaussian', epsilonSpent: epsilon, delta: '1e-5' } } : {}),
    creator: { mspId, certFingerprint: hash('f') },
    txId: 'ab'.repeat(32),
    timestamp: '2026-01-02T03:04:05.000Z',
  };
}

const round0: RoundTrail = {
  docType: 'round',
  key: 'round/r/0',
  runId: 'r',
  round: 0,
  status: 'closed',
  inputModelHash: hash('0'),
  openedAt: '2026-01-02T03:00:00.000Z',
  openTxId: 'open0',
  aggregateHash: hash('a'),
  included: ['H1'],
  excluded: [
    {
      mspId: 'H2',
      sha256: hash('2'),
      code: 'HASH_MISMATCH',
      detail: 'altered, "quoted"',
      onLedger: true,
    },
    { mspId: 'H3', sha256: hash('3'), code: 'NOT_ON_LEDGER', detail: 'no record', onLedger: false },
  ],
  closedAt: '2026-01-02T03:10:00.000Z',
  closeTxId: 'close0',
  updates: [record('H2', hash('2')), record('H1', hash('1'), '0.75')],
};

const round1: RoundTrail = {
  ...round0,
  key: 'round/r/1',
  round: 1,
  status: 'open',
  inputModelHash: hash('a'),
  openTxId: 'open1',
  updates: [record('H1', hash('4'))],
  excluded: [],
  included: [],
};
delete (round1 as Partial<RoundTrail>).aggregateHash;

const trail: AuditTrail = {
  run: {
    docType: 'run',
    key: 'run/r',
    runId: 'r',
    modelSpecHash: hash('5'),
    initialModelHash: hash('0'),
    participants: ['H1', 'H2', 'H3'],
    roundsPlanned: 2,
    minUpdatesPerRound: 1,
    strategy: 'fedavg',
    sampleCounts: {},
    settings: {},
    coordinator: { mspId: 'C', id: 'c', certFingerprint: hash('e') },
    status: 'active',
    createdAt: '2026-01-02T02:59:00.000Z',
    txId: 'create',
  },
  rounds: [round1, round0],
};

describe('audit trail formatting', () => {
  // Both of round 0's records came in one transaction of block 7 in this fixture.
  const view = trailView(trail, 'test ledger', new Map([['ab'.repeat(32), 7]]));

  it('orders rounds and updates and gives each update its fate', () => {
    expect(view.rounds.map((r) => r.round)).to.deep.equal([0, 1]);
    expect(view.rounds[0]!.updates).to.deep.equal([
      {
        mspId: 'H1',
        sha256: hash('1'),
        sampleCount: 42,
        epsilonSpent: '0.75',
        txId: 'ab'.repeat(32),
        block: 7,
        timestamp: '2026-01-02T03:04:05.000Z',
        fate: 'included',
      },
      {
        mspId: 'H2',
        sha256: hash('2'),
        sampleCount: 42,
        txId: 'ab'.repeat(32),
        block: 7,
        timestamp: '2026-01-02T03:04:05.000Z',
        fate: 'excluded',
        exclusion: { code: 'HASH_MISMATCH', detail: 'altered, "quoted"' },
      },
    ]);
    expect(view.rounds[0]!.excludedOffLedger.map((e) => e.mspId)).to.deep.equal(['H3']);
    expect(view.rounds[1]!.updates[0]!.fate).to.equal('pending');
  });

  it('renders a table with short hashes, ε and exclusion codes', () => {
    const text = formatTrailTable(view);
    expect(text).to.contain('Run r: active, strategy fedavg, 1/2 rounds closed');
    expect(text).to.match(
      /H1\s+111111111111\s+42\s+0\.75\s+abababababab\s+7\s+2026-01-02T03:04:05\.000Z\s+included/,
    );
    expect(text).to.match(/H2\s+222222222222\s+42\s+—\s+.*excluded: HASH_MISMATCH \(altered/);
    expect(text).to.contain(
      'excluded without a ledger record: H3 333333333333: NOT_ON_LEDGER (no record)',
    );
    expect(text).to.contain('aggregate    — (not closed)');
  });

  it('renders CSV with RFC 4180 quoting and a row for the off-ledger exclusion', () => {
    const lines = formatTrailCsv(view).split('\r\n');
    expect(lines).to.have.length(1 + 4 + 1);
    expect(lines[2]).to.contain(',H2,');
    expect(lines[2]!.endsWith(',true,excluded,HASH_MISMATCH,"altered, ""quoted"""')).to.equal(true);
    expect(lines[3]).to.match(/,H3,3{64},,,,,,false,excluded,NOT_ON_LEDGER,no record$/);
    expect(csvField('a\nb')).to.equal('"a\nb"');
    expect(csvField(undefined)).to.equal('');
    expect(csvField(7)).to.equal('7');
  });
});

describe('verification report formatting', () => {
  const base: VerificationReport = {
    runId: 'r',
    ok: true,
    ledger: 'test ledger',
    rounds: [{ round: 0, ok: true, included: ['H1', 'H2'], problems: [], unverifiable: [] }],
    problems: [],
    checkedAt: '2026-01-02T03:04:05.000Z',
  };

  it('a verified run exits 0 with ✓ per round', () => {
    expect(verificationExitCode(base)).to.equal(0);
    expect(formatVerificationReport(base)).to.contain(
      '✓ round 0: aggregate recomputed from H1, H2',
    );
  });

  it('a run-level problem alone fails the run', () => {
    const report = {
      ...base,
      ok: false,
      problems: [{ code: 'FINAL_MODEL_MISMATCH', message: 'final differs' }],
    };
    expect(verificationExitCode(report)).to.equal(1);
    const text = formatVerificationReport(report);
    expect(text).to.contain('✗ run: FINAL_MODEL_MISMATCH: final differs');
    expect(text).to.contain('NOT verified');
  });
});

describe('Fabric block decoding', () => {
  function envelope(txId: string, type: number): Uint8Array {
    const channelHeader = new common.ChannelHeader();
    channelHeader.setTxId(txId);
    channelHeader.setType(type);
    channelHeader.setChannelId('fedledger');
    const header = new common.Header();
    header.setChannelHeader(channelHeader.serializeBinary());
    const payload = new common.Payload();
    payload.setHeader(header);
    const env = new common.Envelope();
    env.setPayload(payload.serializeBinary());
    return env.serializeBinary();
  }

  it('reads the number, the hash chain and each transaction with its validation code', () => {
    const header = new common.BlockHeader();
    header.setNumber(7);
    header.setPreviousHash(Buffer.from('0102', 'hex'));
    header.setDataHash(Buffer.from('a0b0', 'hex'));
    const data = new common.BlockData();
    data.setDataList([
      envelope('tx-one', common.HeaderType.ENDORSER_TRANSACTION),
      envelope('tx-two', common.HeaderType.ENDORSER_TRANSACTION),
    ]);
    const metadata = new common.BlockMetadata();
    const list: Uint8Array[] = [
      new Uint8Array(),
      new Uint8Array(),
      new Uint8Array(),
      new Uint8Array(),
      new Uint8Array(),
    ];
    list[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from([
      peer.TxValidationCode.VALID,
      peer.TxValidationCode.MVCC_READ_CONFLICT,
    ]);
    metadata.setMetadataList(list);
    const block = new common.Block();
    block.setHeader(header);
    block.setData(data);
    block.setMetadata(metadata);

    const info = decodeBlock(block.serializeBinary());
    expect(info).to.deep.equal({
      number: 7,
      previousHash: '0102',
      dataHash: 'a0b0',
      txCount: 2,
      transactions: [
        { txId: 'tx-one', type: 'ENDORSER_TRANSACTION', validation: 'VALID' },
        { txId: 'tx-two', type: 'ENDORSER_TRANSACTION', validation: 'MVCC_READ_CONFLICT' },
      ],
    });
    expect(formatBlock(info)).to.contain('previous hash  0102');
    expect(formatBlock(info)).to.contain('tx-two  ENDORSER_TRANSACTION  MVCC_READ_CONFLICT');
  });

  it('reads the chain height', () => {
    const info = new common.BlockchainInfo();
    info.setHeight(12);
    expect(decodeChainHeight(info.serializeBinary())).to.equal(12);
  });
});
