// LedgerClient over a real Hyperledger Fabric network, through @hyperledger/fabric-gateway.
// Coordinator transactions are signed by the gateway's own identity. Hospital submissions use
// offline signing: the gateway connects *as the hospital's certificate without its key*, hands
// out the proposal and transaction digests, and the hospital signs them. Commits are observed on
// a filtered block stream; chaincode events feed listeners with a file checkpoint. The gateway
// may know several peers: when the one it uses cannot be reached, it goes on through the next
// (queries, endorsements, and the block and event streams, which resume where they stopped).
import type { Client } from '@grpc/grpc-js';
import { connectivityState } from '@grpc/grpc-js';
import type {
  Checkpointer,
  ConnectOptions,
  Contract,
  Gateway,
  Identity,
  Network,
  Signer,
} from '@hyperledger/fabric-gateway';
import { checkpointers, connect } from '@hyperledger/fabric-gateway';
import { pausePoint } from '../crash-points';
import { LedgerUnavailableError, SubmissionStateError } from '../errors';
import { checkStepSignature } from '../pki/organisations';
import type {
  CommitInfo,
  ContractFunctionName,
  LedgerClient,
  LedgerEvent,
  OfflineSubmission,
  SubmitterIdentity,
} from './ledger-client';
import { isNotFound, toLedgerError } from './ledger-errors';
import { ContractLedger } from './contract-ledger';

/** Deadlines of each kind of Fabric call, in milliseconds. */
export interface FabricDeadlines {
  evaluateMs: number;
  endorseMs: number;
  submitMs: number;
  commitMs: number;
}

export const DEFAULT_DEADLINES: FabricDeadlines = {
  evaluateMs: 10_000,
  endorseMs: 30_000,
  submitMs: 10_000,
  commitMs: 60_000,
};

/** A peer the client may go through. */
export interface FabricPeerConnection {
  /** Its name in connection.json, for logs. */
  name: string;
  /** gRPC connection to it (TLS). */
  client: Client;
}

/** What the Fabric ledger client needs. */
export interface FabricLedgerOptions {
  /** gRPC connection to the gateway peer (TLS). */
  client: Client;
  /** Name of that peer (default "peer"). */
  peerName?: string;
  /** Further peers, tried in order when the ones before cannot be reached. */
  fallbacks?: readonly FabricPeerConnection[];
  /** Told when the client moves to another peer. */
  onFailover?: (from: string, to: string, err: unknown) => void;
  channel: string;
  chaincode: string;
  /** The coordinator's identity and signer (the gateway's own key). */
  identity: Identity;
  signer: Signer;
  deadlines?: Partial<FabricDeadlines>;
  /** File that records how far chaincode events have been read (resumes after a restart). */
  eventCheckpointPath?: string;
}

interface CommitWaiter {
  resolve: (info: CommitInfo) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const STATUS_NAMES: Record<number, string> = {
  0: 'VALID',
  10: 'ENDORSEMENT_POLICY_FAILURE',
  11: 'MVCC_READ_CONFLICT',
  12: 'PHANTOM_READ_CONFLICT',
};

function deadline(ms: number): { deadline: number } {
  return { deadline: Date.now() + ms };
}

/** gRPC UNAVAILABLE: the peer could not be reached (down, or not listening). */
const GRPC_UNAVAILABLE = 14;

/** How long the client stays on a fallback peer before it tries its first peer again. */
const RETURN_TO_FIRST_PEER_MS = 30_000;

/**
 * True when `err` says the peer itself could not be reached: gRPC UNAVAILABLE while the channel
 * to that peer is not up. An UNAVAILABLE relayed by a reachable peer (orderers or endorsers it
 * could not reach) is the network's state, not the peer's, and no reason to move.
 */
function peerUnreachable(err: unknown, client: Client): boolean {
  let unavailable = false;
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if ((e as { code?: unknown }).code === GRPC_UNAVAILABLE) unavailable = true;
    e = (e as { cause?: unknown }).cause;
  }
  return unavailable && client.getChannel().getConnectivityState(false) !== connectivityState.READY;
}

/** One peer's Fabric Gateway connection as the coordinator. */
interface PeerSession {
  name: string;
  client: Client;
  gateway: Gateway;
  network: Network;
  contract: Contract;
}

/** LedgerClient for a Fabric channel. Call {@link FabricLedgerClient.start} before use. */
export class FabricLedgerClient extends ContractLedger implements LedgerClient {
  readonly kind = 'fabric' as const;
  readonly label: string;
  private readonly peers: PeerSession[];
  /**
   * Index of the peer in use and when the client left its first peer, in an object of its own:
   * wrappers made with Object.create share it.
   */
  private readonly active = { peer: 0, leftFirstAt: 0 };
  private readonly deadlines: FabricDeadlines;
  private readonly listeners = new Set<(event: LedgerEvent) => void>();
  /** Commits seen on the block stream that nobody waited for yet (bounded). */
  private readonly seen = new Map<string, CommitInfo>();
  private readonly waiters = new Map<string, CommitWaiter>();
  private closing = false;
  private streams: { close(): void }[] = [];

  constructor(private readonly options: FabricLedgerOptions) {
    super();
    this.deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
    this.label = `Hyperledger Fabric channel ${options.channel}, chaincode ${options.chaincode}`;
    const all = [
      { name: options.peerName ?? 'peer', client: options.client },
      ...(options.fallbacks ?? []),
    ];
    this.peers = all.map(({ name, client }) => {
      const gateway = connect(this.connectOptions(client, options.identity, options.signer));
      const network = gateway.getNetwork(options.channel);
      return { name, client, gateway, network, contract: network.getContract(options.chaincode) };
    });
  }

  /**
   * The peer calls go through now. A while after leaving its first peer (its own organisation's
   * choice), the client goes back to it rather than staying on another organisation's peer.
   */
  private get peer(): PeerSession {
    if (this.active.peer !== 0 && Date.now() - this.active.leftFirstAt > RETURN_TO_FIRST_PEER_MS) {
      this.active.peer = 0;
    }
    return this.peers[this.active.peer] as PeerSession;
  }

  /** Name of the peer calls go through now. */
  get peerName(): string {
    return this.peer.name;
  }

  /**
   * Runs `work` through the current peer; while the peer cannot be reached, through the next
   * (each peer once). Refusals and other failures are not retried.
   */
  private async throughPeers<T>(work: (peer: PeerSession) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let tried = 0; tried < this.peers.length; tried++) {
      const peer = this.peer;
      try {
        return await work(peer);
      } catch (err) {
        last = err;
        if (!peerUnreachable(err, peer.client) || this.peers.length < 2) throw err;
        this.moveOn(peer, err);
      }
    }
    throw last;
  }

  /** Moves to the peer after `from`, unless another call has moved on already. */
  private moveOn(from: PeerSession, err: unknown): void {
    if (this.peer !== from) return;
    if (this.active.peer === 0) this.active.leftFirstAt = Date.now();
    this.active.peer = (this.active.peer + 1) % this.peers.length;
    this.options.onFailover?.(from.name, this.peer.name, err);
  }

  private connectOptions(client: Client, identity: Identity, signer?: Signer): ConnectOptions {
    const d = this.deadlines;
    return {
      client,
      identity,
      ...(signer ? { signer } : {}),
      evaluateOptions: () => deadline(d.evaluateMs),
      endorseOptions: () => deadline(d.endorseMs),
      submitOptions: () => deadline(d.submitMs),
      commitStatusOptions: () => deadline(d.commitMs),
    };
  }

  /** Starts the block and chaincode event streams (commit tracking, listeners). */
  async start(): Promise<void> {
    void this.followBlocks();
    const checkpointer: Checkpointer = this.options.eventCheckpointPath
      ? await checkpointers.file(this.options.eventCheckpointPath)
      : checkpointers.inMemory();
    void this.followEvents(checkpointer);
  }

  private async followBlocks(): Promise<void> {
    let next: bigint | undefined;
    while (!this.closing) {
      const peer = this.peer;
      try {
        const blocks = await peer.network.getFilteredBlockEvents(
          next === undefined ? {} : { startBlock: next },
        );
        this.streams.push(blocks);
        for await (const block of blocks) {
          const number = Number(block.getNumber());
          next = BigInt(number + 1);
          for (const tx of block.getFilteredTransactionsList()) {
            const code = tx.getTxValidationCode();
            this.committed({
              txId: tx.getTxid(),
              blockNumber: number,
              status: STATUS_NAMES[code] ?? `INVALID_${code}`,
            });
          }
        }
      } catch (err) {
        if (this.closing) return;
        if (peerUnreachable(err, peer.client) && this.peers.length > 1) this.moveOn(peer, err);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async followEvents(checkpointer: Checkpointer): Promise<void> {
    while (!this.closing) {
      const peer = this.peer;
      try {
        const events = await peer.network.getChaincodeEvents(this.options.chaincode, {
          checkpoint: checkpointer,
        });
        this.streams.push(events);
        for await (const e of events) {
          const event: LedgerEvent = {
            name: e.eventName as LedgerEvent['name'],
            payload: JSON.parse(Buffer.from(e.payload).toString('utf8')) as unknown,
            txId: e.transactionId,
            blockNumber: Number(e.blockNumber),
          };
          for (const listener of this.listeners) listener(event);
          await checkpointer.checkpointChaincodeEvent(e);
        }
      } catch (err) {
        if (this.closing) return;
        if (peerUnreachable(err, peer.client) && this.peers.length > 1) this.moveOn(peer, err);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private committed(info: CommitInfo): void {
    const waiter = this.waiters.get(info.txId);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(info.txId);
      waiter.resolve(info);
      return;
    }
    this.seen.set(info.txId, info);
    if (this.seen.size > 10_000) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** Resolves when `txId` appears in a block (valid or not). */
  private waitForCommit(txId: string): Promise<CommitInfo> {
    const known = this.seen.get(txId);
    if (known) {
      this.seen.delete(txId);
      return Promise.resolve(known);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(txId);
        reject(
          new LedgerUnavailableError(
            'FL_ERR_LEDGER_TIMEOUT',
            `transaction ${txId} was not committed within ${this.deadlines.commitMs} ms`,
          ),
        );
      }, this.deadlines.commitMs);
      this.waiters.set(txId, { resolve, reject, timer });
    });
  }

  protected async write(fn: ContractFunctionName, ...args: string[]): Promise<CommitInfo> {
    try {
      // Endorsement may go through any peer; once endorsed, the transaction is submitted through
      // the peer that endorsed it (a failure there is the coordinator's to retry).
      const transaction = await this.throughPeers((peer) =>
        peer.contract.newProposal(fn, { arguments: args }).endorse(),
      );
      if (fn === 'CloseRound' || fn === 'OpenRound') {
        const round =
          fn === 'OpenRound'
            ? Number(args[1])
            : (JSON.parse(args[0] ?? '{}') as { round: number }).round;
        await pausePoint(fn === 'CloseRound' ? 'close-endorsed' : 'open-endorsed', round);
      }
      const submitted = await transaction.submit();
      const status = await submitted.getStatus();
      const info: CommitInfo = {
        txId: submitted.getTransactionId(),
        blockNumber: Number(status.blockNumber),
        status: STATUS_NAMES[status.code] ?? `INVALID_${status.code}`,
      };
      if (!status.successful) {
        throw new LedgerUnavailableError(
          'FL_ERR_COMMIT_FAILED',
          `${fn} transaction ${info.txId} was not valid: ${info.status}`,
        );
      }
      return info;
    } catch (err) {
      throw toLedgerError(err, fn);
    }
  }

  protected async read<T>(fn: ContractFunctionName, ...args: string[]): Promise<T | undefined> {
    try {
      const bytes = await this.throughPeers((peer) =>
        peer.contract.evaluateTransaction(fn, ...args),
      );
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
    } catch (err) {
      const mapped = toLedgerError(err, fn);
      if (isNotFound(mapped)) return undefined;
      throw mapped;
    }
  }

  newOfflineTransaction(
    submitter: SubmitterIdentity,
    fn: ContractFunctionName,
    args: string[],
  ): Promise<OfflineSubmission> {
    // Connections that carry the hospital's certificate and no signer: every request they make
    // must be signed by the hospital. The signed bytes do not depend on the peer, so a peer that
    // cannot be reached is replaced by the next.
    const hospitalIdentity: Identity = {
      mspId: submitter.mspId,
      credentials: Buffer.from(submitter.certificatePem, 'utf8'),
    };
    const hospitalGateways = new Map<PeerSession, Gateway>();
    const hospitalOn = (peer: PeerSession): Gateway => {
      let gateway = hospitalGateways.get(peer);
      if (!gateway) {
        gateway = connect(this.connectOptions(peer.client, hospitalIdentity));
        hospitalGateways.set(peer, gateway);
      }
      return gateway;
    };
    const closeHospital = (): void => {
      for (const gateway of hospitalGateways.values()) gateway.close();
    };
    const throughPeers = <T>(work: (peer: PeerSession) => Promise<T>): Promise<T> =>
      this.throughPeers(work);
    const hospital = hospitalOn(this.peer);
    const contract = hospital.getNetwork(this.options.channel).getContract(this.options.chaincode);
    const unsigned = contract.newProposal(fn, { arguments: args });
    const proposalDigest = unsigned.getDigest();
    const txId = unsigned.getTransactionId();
    let transaction: { bytes: Uint8Array; digest: Uint8Array } | undefined;
    const check = (digest: Uint8Array, signature: Uint8Array, step: 'proposal' | 'transaction') =>
      checkStepSignature(submitter, step, digest, signature);
    const waitForCommit = (id: string): Promise<CommitInfo> => this.waitForCommit(id);
    return Promise.resolve({
      txId,
      format: 'fabric' as const,
      proposalBytes: unsigned.getBytes(),
      proposalDigest,
      async endorse(signature: Uint8Array) {
        check(proposalDigest, signature, 'proposal');
        try {
          const endorsed = await throughPeers((peer) =>
            hospitalOn(peer).newSignedProposal(unsigned.getBytes(), signature).endorse(),
          );
          transaction = { bytes: endorsed.getBytes(), digest: endorsed.getDigest() };
          return transaction;
        } catch (err) {
          throw toLedgerError(err, fn);
        }
      },
      async submit(signature: Uint8Array): Promise<CommitInfo> {
        if (transaction === undefined) {
          throw new SubmissionStateError(
            'FL_ERR_SUBMISSION_STATE',
            'the transaction has not been endorsed yet',
          );
        }
        check(transaction.digest, signature, 'transaction');
        try {
          const signedBytes = transaction.bytes;
          const commit = waitForCommit(txId);
          // If the submission throws, nobody awaits the commit: its rejection is expected.
          commit.catch(() => undefined);
          // A peer that cannot be reached received nothing: the next may take the transaction.
          await throughPeers((peer) =>
            hospitalOn(peer).newSignedTransaction(signedBytes, signature).submit(),
          );
          const info = await commit;
          if (info.status !== 'VALID') {
            throw new LedgerUnavailableError(
              'FL_ERR_COMMIT_FAILED',
              `transaction ${txId} was not valid: ${info.status}`,
            );
          }
          return info;
        } catch (err) {
          throw toLedgerError(err, fn);
        } finally {
          closeHospital();
        }
      },
    });
  }

  onEvent(listener: (event: LedgerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closing = true;
    for (const stream of this.streams) stream.close();
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(
        new LedgerUnavailableError('FL_ERR_LEDGER_UNAVAILABLE', 'the ledger client closed'),
      );
    }
    this.waiters.clear();
    for (const peer of this.peers) peer.gateway.close();
    return Promise.resolve();
  }
}
