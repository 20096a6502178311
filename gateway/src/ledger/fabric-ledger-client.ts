// LedgerClient over a real Hyperledger Fabric network, through @hyperledger/fabric-gateway.
// Coordinator transactions are signed by the gateway's own identity. Hospital submissions use
// offline signing: the gateway connects *as the hospital's certificate without its key*, hands
// out the proposal and transaction digests, and the hospital signs them. Commits are observed on
// a filtered block stream; chaincode events feed listeners with a file checkpoint.
import type { Client } from '@grpc/grpc-js';
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

/** What the Fabric ledger client needs. */
export interface FabricLedgerOptions {
  /** gRPC connection to the gateway peer (TLS). */
  client: Client;
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

/** LedgerClient for a Fabric channel. Call {@link FabricLedgerClient.start} before use. */
export class FabricLedgerClient extends ContractLedger implements LedgerClient {
  readonly kind = 'fabric' as const;
  readonly label: string;
  private readonly gateway: Gateway;
  private readonly network: Network;
  private readonly contract: Contract;
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
    this.gateway = connect(this.connectOptions(options.identity, options.signer));
    this.network = this.gateway.getNetwork(options.channel);
    this.contract = this.network.getContract(options.chaincode);
  }

  private connectOptions(identity: Identity, signer?: Signer): ConnectOptions {
    const d = this.deadlines;
    return {
      client: this.options.client,
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
      try {
        const blocks = await this.network.getFilteredBlockEvents(
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
      } catch {
        if (this.closing) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async followEvents(checkpointer: Checkpointer): Promise<void> {
    while (!this.closing) {
      try {
        const events = await this.network.getChaincodeEvents(this.options.chaincode, {
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
      } catch {
        if (this.closing) return;
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
      const proposal = this.contract.newProposal(fn, { arguments: args });
      const transaction = await proposal.endorse();
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
      const bytes = await this.contract.evaluateTransaction(fn, ...args);
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
    // A connection that carries the hospital's certificate and no signer: every request it
    // makes must be signed by the hospital.
    const hospital = connect(
      this.connectOptions({
        mspId: submitter.mspId,
        credentials: Buffer.from(submitter.certificatePem, 'utf8'),
      }),
    );
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
          const signed = hospital.newSignedProposal(unsigned.getBytes(), signature);
          const endorsed = await signed.endorse();
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
          const signed = hospital.newSignedTransaction(transaction.bytes, signature);
          const commit = waitForCommit(txId);
          // If the submission throws, nobody awaits the commit: its rejection is expected.
          commit.catch(() => undefined);
          await signed.submit();
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
          hospital.close();
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
    this.gateway.close();
    return Promise.resolve();
  }
}
