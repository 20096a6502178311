// A hospital's own view of the ledger: its organisation's peer, read-only, under its own identity.
// Every hospital in the network runs a peer; what it reads there needs no trust in the gateway.
// The trainer confirms its update's commit, checks every global model and reports its inclusion
// from this view; in a secure-aggregation round it reads its peers' keys and the round's sets
// here. On the simulated ledger there is no peer of its own; the gateway's word is then the only
// source, and the trainer says so.
import { ledgerRefusalOf } from '@fedledger/protocol';
import type {
  AuditTrail,
  KeysRecord,
  RoundRecord,
  RunRecord,
  UpdateRecord,
} from '@fedledger/protocol';
import { connectGateway, loadNetworkProfile } from '@fedledger/protocol/fabric';
import { peer } from '@hyperledger/fabric-protos';

/** What the trainer says when the only ledger view is the gateway's own word. */
export const GATEWAY_SOURCE = "the gateway's word (no peer of this hospital's own)";

/** Read-only queries a hospital makes on a ledger view it trusts. */
export interface OwnLedgerView {
  /** Where the reads come from, for output ("peer0.hospital1, this hospital's own peer"). */
  readonly source: string;
  getRun(runId: string): Promise<RunRecord | undefined>;
  getRound(runId: string, round: number): Promise<RoundRecord | undefined>;
  getUpdate(runId: string, round: number, mspId: string): Promise<UpdateRecord | undefined>;
  getAuditTrail(runId: string): Promise<AuditTrail | undefined>;
  /** A secure-aggregation round's key advertisements (ListKeys), in MSP ID order. */
  listKeys(runId: string, round: number): Promise<KeysRecord[]>;
  /** The validation code of a committed transaction (`VALID` …); undefined when not committed. */
  transactionStatus(txId: string): Promise<string | undefined>;
  close(): void;
}

function isNotFound(err: unknown): boolean {
  const code = ledgerRefusalOf(err)?.code;
  return code === 'RUN_NOT_FOUND' || code === 'ROUND_NOT_FOUND' || code === 'UPDATE_NOT_FOUND';
}

/**
 * The hospital's own peer, as connection.json names it for `identityName`.
 * @throws NetworkProfileError when the profile, the identity or its peer cannot be used.
 */
export function connectOwnPeer(connectionJson: string, identityName: string): OwnLedgerView {
  const profile = loadNetworkProfile(connectionJson);
  const connection = connectGateway(profile, identityName);
  const qscc = connection.network.getContract('qscc');
  const read = async <T>(fn: string, ...args: string[]): Promise<T | undefined> => {
    try {
      const bytes = await connection.contract.evaluateTransaction(fn, ...args);
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    source: `${connection.peerName}, this hospital's own peer`,
    getRun: (runId) => read('GetRun', runId),
    getRound: (runId, round) => read('GetRound', runId, String(round)),
    getUpdate: (runId, round, mspId) => read('GetUpdate', runId, String(round), mspId),
    getAuditTrail: (runId) => read('GetAuditTrail', runId),
    listKeys: async (runId, round) =>
      (await read<KeysRecord[]>('ListKeys', runId, String(round))) ?? [],
    async transactionStatus(txId) {
      let bytes: Uint8Array;
      try {
        bytes = await qscc.evaluateTransaction('GetTransactionByID', profile.channel, txId);
      } catch {
        return undefined;
      }
      const code = peer.ProcessedTransaction.deserializeBinary(bytes).getValidationcode();
      const names = Object.entries(peer.TxValidationCode) as [string, number][];
      return names.find(([, value]) => value === code)?.[0] ?? String(code);
    },
    close: () => connection.close(),
  };
}
