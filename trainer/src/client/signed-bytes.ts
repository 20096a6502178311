// Decoding of what a hospital is asked to sign into one plain view, whatever the ledger: Fabric's
// protobuf messages (gateway.ProposedTransaction, gateway.PreparedTransaction, decoded with
// @hyperledger/fabric-protos) or the simulated ledger's canonical JSON. The checks in
// signing-check.ts read only these views, so both ledgers are held to the same rules.
import { createHash } from 'node:crypto';
import { common, gateway, ledger, msp, peer } from '@hyperledger/fabric-protos';
import type { SigningFormat, SimulatedProposal, SimulatedTransaction } from '@fedledger/protocol';
import { canonicalJson } from '@fedledger/protocol';

/** A transaction proposal, decoded. */
export interface ProposalView {
  channel: string;
  chaincode: string;
  txId: string;
  /** Fabric's transaction ID rule: SHA-256(nonce ‖ creator); true on the simulated ledger. */
  txIdMatchesNonce: boolean;
  creator: { mspId: string; certificatePem: string };
  /** The invoked function and its arguments (UTF-8). */
  fn: string;
  args: string[];
  /** Names of transient-data entries (data sent to the peers but not recorded). */
  transientKeys: string[];
  /** The digest the hospital signs: SHA-256 of the proposal bytes Fabric verifies. */
  digest: Uint8Array;
  /** Fabric's hash of the proposal, which an endorsement must name (undefined: simulated). */
  proposalHash?: Uint8Array;
  /** The transaction time the proposal fixes (the ledger records it), ISO 8601 in milliseconds. */
  timestamp: string;
  /**
   * The proposal's headers exactly as signed (Fabric: channel and signature header bytes; the
   * simulated ledger: its canonical JSON), which the transaction must repeat byte for byte.
   */
  headers: string;
}

/** One key written by a transaction. */
export interface WriteView {
  namespace: string;
  key: string;
  isDelete: boolean;
  value: string;
}

/** An endorsed transaction, decoded. */
export interface TransactionView {
  channel: string;
  txId: string;
  /** Every creator the transaction names (envelope header and each action's header). */
  creators: { mspId: string; certificatePem: string }[];
  /** The proposal the endorsement is for, as the transaction carries it. */
  fn: string;
  args: string[];
  chaincode: string;
  /** Fabric: the proposal hash the endorsement names; undefined on the simulated ledger. */
  proposalHash?: Uint8Array;
  /** Number of actions (Fabric); an update submission has exactly one. */
  actions: number;
  /** What the chaincode returned. */
  response: { status: number; payload: string };
  writes: WriteView[];
  /** Fabric: private-data or key-metadata writes, which a submission never makes. */
  otherWrites: number;
  /** The digest the hospital signs: SHA-256 of the envelope payload (Fabric). */
  digest: Uint8Array;
  /** The headers the transaction carries, to compare with the proposal's (see ProposalView). */
  headers: string;
  /** Fabric: the envelope's header type is ENDORSER_TRANSACTION (true on the simulated ledger). */
  endorserTransaction: boolean;
}

/** The bytes are not what their format says; the message says where. */
export class UndecodableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const headersOf = (...parts: Uint8Array[]): string =>
  parts.map((part) => Buffer.from(part).toString('hex')).join('.');

function creatorOf(bytes: Uint8Array): { mspId: string; certificatePem: string } {
  const id = msp.SerializedIdentity.deserializeBinary(bytes);
  return { mspId: id.getMspid(), certificatePem: text(id.getIdBytes_asU8()) };
}

function invocationOf(input: Uint8Array): { chaincode: string; fn: string; args: string[] } {
  const spec = peer.ChaincodeInvocationSpec.deserializeBinary(input).getChaincodeSpec();
  const all = spec?.getInput()?.getArgsList_asU8() ?? [];
  const [fn, ...args] = all.map(text);
  return { chaincode: spec?.getChaincodeId()?.getName() ?? '', fn: fn ?? '', args };
}

function decodeFabricProposal(bytes: Uint8Array): ProposalView {
  const proposed = gateway.ProposedTransaction.deserializeBinary(bytes);
  const proposalBytes = proposed.getProposal()?.getProposalBytes_asU8();
  if (!proposalBytes || proposalBytes.length === 0) throw new UndecodableError('no proposal');
  const proposal = peer.Proposal.deserializeBinary(proposalBytes);
  const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const signatureHeader = common.SignatureHeader.deserializeBinary(
    header.getSignatureHeader_asU8(),
  );
  const extension = peer.ChaincodeHeaderExtension.deserializeBinary(
    channelHeader.getExtension_asU8(),
  );
  const payload = peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
  const invocation = invocationOf(payload.getInput_asU8());
  const creatorBytes = signatureHeader.getCreator_asU8();
  const expectedTxId = Buffer.from(sha256(signatureHeader.getNonce_asU8(), creatorBytes)).toString(
    'hex',
  );
  // The endorsement names the proposal by this hash (Fabric's GetProposalHash1): the channel
  // and signature headers and the payload without its transient data.
  const forTx = new peer.ChaincodeProposalPayload();
  forTx.setInput(payload.getInput_asU8());
  // google.protobuf.Timestamp, typed here as the two getters used.
  const ts = channelHeader.getTimestamp() as
    { getSeconds(): number; getNanos(): number } | undefined;
  return {
    timestamp: new Date(
      (ts?.getSeconds() ?? 0) * 1000 + Math.floor((ts?.getNanos() ?? 0) / 1e6),
    ).toISOString(),
    headers: headersOf(header.getChannelHeader_asU8(), header.getSignatureHeader_asU8()),
    channel: channelHeader.getChannelId(),
    chaincode: extension.getChaincodeId()?.getName() ?? '',
    txId: channelHeader.getTxId(),
    txIdMatchesNonce:
      channelHeader.getTxId() === expectedTxId &&
      proposed.getTransactionId() === channelHeader.getTxId() &&
      channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION,
    creator: creatorOf(creatorBytes),
    fn: invocation.fn,
    args: invocation.args,
    transientKeys: payload.toObject().transientmapMap.map(([key]) => key),
    digest: sha256(proposalBytes),
    proposalHash: sha256(
      header.getChannelHeader_asU8(),
      header.getSignatureHeader_asU8(),
      forTx.serializeBinary(),
    ),
  };
}

function decodeFabricTransaction(bytes: Uint8Array): TransactionView {
  const prepared = gateway.PreparedTransaction.deserializeBinary(bytes);
  const payloadBytes = prepared.getEnvelope()?.getPayload_asU8();
  if (!payloadBytes || payloadBytes.length === 0) throw new UndecodableError('no envelope');
  const payload = common.Payload.deserializeBinary(payloadBytes);
  const header = payload.getHeader();
  if (!header) throw new UndecodableError('the envelope has no header');
  const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
  const creators = [
    creatorOf(
      common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8()).getCreator_asU8(),
    ),
  ];
  const actions = peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList();
  const view: TransactionView = {
    channel: channelHeader.getChannelId(),
    txId: channelHeader.getTxId(),
    creators,
    fn: '',
    args: [],
    chaincode: '',
    actions: actions.length,
    response: { status: 0, payload: '' },
    writes: [],
    otherWrites: 0,
    digest: sha256(payloadBytes),
    headers: headersOf(header.getChannelHeader_asU8(), header.getSignatureHeader_asU8()),
    endorserTransaction: channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION,
  };
  const action = actions[0];
  if (!action) return view;
  // The action must carry the proposal's signature header too.
  if (headersOf(action.getHeader_asU8()) !== headersOf(header.getSignatureHeader_asU8())) {
    view.endorserTransaction = false;
  }
  creators.push(
    creatorOf(common.SignatureHeader.deserializeBinary(action.getHeader_asU8()).getCreator_asU8()),
  );
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const invocation = invocationOf(
    peer.ChaincodeProposalPayload.deserializeBinary(
      actionPayload.getChaincodeProposalPayload_asU8(),
    ).getInput_asU8(),
  );
  const responsePayload = peer.ProposalResponsePayload.deserializeBinary(
    actionPayload.getAction()?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
  );
  const chaincodeAction = peer.ChaincodeAction.deserializeBinary(
    responsePayload.getExtension_asU8(),
  );
  const rwset = ledger.rwset.TxReadWriteSet.deserializeBinary(chaincodeAction.getResults_asU8());
  for (const ns of rwset.getNsRwsetList()) {
    view.otherWrites += ns.getCollectionHashedRwsetList().length;
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    view.otherWrites += kv.getMetadataWritesList().length;
    for (const w of kv.getWritesList()) {
      view.writes.push({
        namespace: ns.getNamespace(),
        key: w.getKey(),
        isDelete: w.getIsDelete(),
        value: text(w.getValue_asU8()),
      });
    }
  }
  return {
    ...view,
    fn: invocation.fn,
    args: invocation.args,
    chaincode: invocation.chaincode,
    proposalHash: responsePayload.getProposalHash_asU8(),
    response: {
      status: chaincodeAction.getResponse()?.getStatus() ?? 0,
      payload: text(chaincodeAction.getResponse()?.getPayload_asU8() ?? new Uint8Array()),
    },
  };
}

/** Parses the simulated ledger's JSON, which must be canonical (one way to write each value). */
function canonicalParse<T>(bytes: Uint8Array, what: string): T {
  const value = JSON.parse(text(bytes)) as T;
  if (canonicalJson(value) !== text(bytes)) {
    throw new UndecodableError(`the ${what} is not canonical JSON`);
  }
  return value;
}

function decodeSimulatedProposal(bytes: Uint8Array): ProposalView {
  const p = canonicalParse<SimulatedProposal>(bytes, 'proposal');
  return {
    timestamp: String(p.timestamp),
    headers: text(bytes),
    channel: String(p.channel),
    chaincode: String(p.chaincode),
    txId: String(p.txId),
    txIdMatchesNonce: true,
    creator: { mspId: String(p.creator?.mspId), certificatePem: String(p.creator?.certificate) },
    fn: String(p.fn),
    args: Array.isArray(p.args) ? p.args.map(String) : [],
    transientKeys: [],
    digest: sha256(bytes),
  };
}

function decodeSimulatedTransaction(bytes: Uint8Array): TransactionView {
  const t = canonicalParse<SimulatedTransaction>(bytes, 'transaction');
  const p = decodeSimulatedProposal(Buffer.from(canonicalJson(t.proposal ?? {}), 'utf8'));
  return {
    headers: p.headers,
    endorserTransaction: true,
    channel: p.channel,
    txId: p.txId,
    creators: [p.creator],
    fn: p.fn,
    args: p.args,
    chaincode: p.chaincode,
    actions: 1,
    response: { status: 200, payload: String(t.result) },
    writes: (Array.isArray(t.writes) ? t.writes : []).map((w) => ({
      namespace: String(w.namespace),
      key: String(w.key),
      isDelete: false,
      value: String(w.value),
    })),
    otherWrites: 0,
    digest: sha256(bytes),
  };
}

/** Runs a decoder, turning whatever it throws into an {@link UndecodableError} naming `what`. */
function decoding<T>(format: SigningFormat, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof UndecodableError) throw err;
    throw new UndecodableError(`not a ${format} ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Decodes a proposal in `format`.
 * @throws {UndecodableError} when the bytes are not a proposal in that format.
 */
export function decodeProposal(format: SigningFormat, bytes: Uint8Array): ProposalView {
  return decoding(format, 'proposal', () =>
    format === 'fabric' ? decodeFabricProposal(bytes) : decodeSimulatedProposal(bytes),
  );
}

/**
 * Decodes an endorsed transaction in `format`.
 * @throws {UndecodableError} when the bytes are not a transaction in that format.
 */
export function decodeTransaction(format: SigningFormat, bytes: Uint8Array): TransactionView {
  return decoding(format, 'transaction', () =>
    format === 'fabric' ? decodeFabricTransaction(bytes) : decodeSimulatedTransaction(bytes),
  );
}
