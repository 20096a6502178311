// A Fabric block as an auditor looks at it: number, the hash chain (previous hash, data hash) and
// the transactions it carries with their validation codes, decoded from the block's protobuf bytes
// (what `qscc GetBlockByNumber` returns).
import { common, peer } from '@hyperledger/fabric-protos';

export interface BlockTransaction {
  txId: string;
  /** Header type name (ENDORSER_TRANSACTION, CONFIG, …). */
  type: string;
  /** Validation code name from the block's transaction filter (VALID, MVCC_READ_CONFLICT, …). */
  validation: string;
  timestamp?: string;
}

export interface BlockInfo {
  number: number;
  previousHash: string;
  dataHash: string;
  txCount: number;
  transactions: BlockTransaction[];
}

function nameOf(map: object, value: number): string {
  const entry = Object.entries(map).find(([, v]) => v === value);
  return entry ? entry[0] : String(value);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * Decodes a serialized `common.Block`.
 * @throws Error when the bytes are not a block.
 */
export function decodeBlock(bytes: Uint8Array): BlockInfo {
  const block = common.Block.deserializeBinary(bytes);
  const header = block.getHeader();
  if (!header) throw new Error('the bytes are not a Fabric block (no header)');
  const filter =
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ??
    new Uint8Array();
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  const transactions = envelopes.map((envelopeBytes, i): BlockTransaction => {
    const envelope = common.Envelope.deserializeBinary(envelopeBytes);
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(
      payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
    );
    const code = filter[i];
    // google-protobuf ships no types; the Timestamp is read through the two fields it has.
    const time = channelHeader.getTimestamp() as
      { getSeconds(): number; getNanos(): number } | undefined;
    return {
      txId: channelHeader.getTxId(),
      type: nameOf(common.HeaderType, channelHeader.getType()),
      validation: code === undefined ? 'UNKNOWN' : nameOf(peer.TxValidationCode, code),
      ...(time
        ? { timestamp: new Date(time.getSeconds() * 1000 + time.getNanos() / 1e6).toISOString() }
        : {}),
    };
  });
  return {
    number: header.getNumber(),
    previousHash: hex(header.getPreviousHash_asU8()),
    dataHash: hex(header.getDataHash_asU8()),
    txCount: transactions.length,
    transactions,
  };
}

/** The height (number of blocks) in a serialized `common.BlockchainInfo` (qscc GetChainInfo). */
export function decodeChainHeight(bytes: Uint8Array): number {
  return common.BlockchainInfo.deserializeBinary(bytes).getHeight();
}

/** The block as text: its hashes, then one line per transaction. */
export function formatBlock(info: BlockInfo): string {
  const out = [
    `Block ${info.number}`,
    `  previous hash  ${info.previousHash || '— (genesis)'}`,
    `  data hash      ${info.dataHash}`,
    `  transactions   ${info.txCount}`,
    ...info.transactions.map(
      (tx) =>
        `    ${tx.txId || '(no tx ID)'}  ${tx.type}  ${tx.validation}${tx.timestamp ? `  ${tx.timestamp}` : ''}`,
    ),
  ];
  return `${out.join('\n')}\n`;
}
