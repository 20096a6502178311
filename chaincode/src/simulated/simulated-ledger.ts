// A SIMULATED ledger: the real fedledger contract run in-process over an in-memory world state.
// It gives transaction IDs, timestamps, creator identities, key history, blocks and events like
// Fabric, but no ordering service, endorsement or consensus. Use it for tests and fast simulations
// only; everything that shows its output must say it is simulated.
import { createHash, randomBytes } from 'node:crypto';
import type { ClientIdentity } from 'fabric-shim-api';
import { Context } from 'fabric-contract-api';
import { FedLedgerContract } from '../fedledger-contract';
import { MemoryStub, MemoryWorldState } from './memory-stub';

/** Label to print wherever this ledger's results appear. */
export const SIMULATED_LEDGER_LABEL = 'SIMULATED ledger (in-process, not Hyperledger Fabric)';

/** An identity submitting to the simulated ledger. */
export interface SimulatedIdentity {
  mspId: string;
  /** Distinguished-name style ID, as Fabric's `x509::<subject>::<issuer>`. */
  id: string;
  /** The certificate (PEM) or any bytes that stand for it. */
  certificate: Uint8Array;
}

/** A chaincode event from a committed transaction. */
export interface SimulatedEvent {
  name: string;
  payload: Buffer;
  txId: string;
  blockNumber: number;
}

/** The outcome of a committed transaction. */
export interface SimulatedCommit {
  result: string;
  txId: string;
  blockNumber: number;
  timestamp: Date;
}

export type ContractFunction =
  | 'CreateRun'
  | 'OpenRound'
  | 'SubmitUpdate'
  | 'CloseRound'
  | 'AdvertiseKeys'
  | 'BeginMasking'
  | 'BeginUnmasking'
  | 'AbandonRound'
  | 'ListKeys'
  | 'GetRun'
  | 'GetRound'
  | 'GetUpdate'
  | 'ListUpdates'
  | 'GetAuditTrail'
  | 'GetHistory'
  | 'ListRuns';

export interface SimulatedLedgerOptions {
  /** Clock for transaction timestamps; defaults to the system clock. */
  now?: () => Date;
  /** MSP IDs the consortium names as coordinators (default: the chaincode's configuration). */
  coordinators?: readonly string[];
}

type ContractMethod = (ctx: Context, ...args: string[]) => Promise<string>;

/** Makes a simulated identity whose ID has Fabric's shape. */
export function newSimulatedIdentity(mspId: string, commonName: string): SimulatedIdentity {
  const id = `x509::/OU=client/CN=${commonName}::/CN=ca.${mspId.toLowerCase()}`;
  return { mspId, id, certificate: Buffer.from(`simulated certificate of ${id}`, 'utf8') };
}

/** The transaction ID and time a proposal fixes, as a Fabric channel header does. */
export interface ProposedTx {
  txId: string;
  timestamp: Date;
}

/** The in-process ledger. One block per committed transaction. */
export class SimulatedLedger {
  readonly label = SIMULATED_LEDGER_LABEL;
  private readonly state = new MemoryWorldState();
  private readonly contract: FedLedgerContract;
  private readonly listeners = new Set<(event: SimulatedEvent) => void>();
  private readonly events: SimulatedEvent[] = [];
  private readonly now: () => Date;
  private height = 0;
  private readonly blockOfTx = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: SimulatedLedgerOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.contract = new FedLedgerContract(options.coordinators);
  }

  /** Number of blocks committed so far. */
  get blockHeight(): number {
    return this.height;
  }

  /**
   * Runs a transaction and commits its writes if it succeeds. Transactions are serialised, as
   * an ordering service would.
   * @throws {Error} the contract's refusal (`CODE: sentence`); nothing is written then.
   */
  submit(
    identity: SimulatedIdentity,
    fn: ContractFunction,
    ...args: string[]
  ): Promise<SimulatedCommit> {
    const run = this.queue.then(() => this.execute(identity, fn, args, true));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Endorses a transaction as a peer would: runs it against committed state and returns its
   * result and write set without committing anything.
   */
  async simulate(
    identity: SimulatedIdentity,
    fn: ContractFunction,
    args: string[],
    tx: ProposedTx,
  ): Promise<{ result: string; writes: { key: string; value: Buffer }[] }> {
    const out = await this.execute(identity, fn, args, false, undefined, tx);
    return { result: out.result, writes: out.writes };
  }

  /**
   * Commits a transaction only if running it now writes exactly `writes` (what was endorsed and
   * signed), as Fabric's validation refuses an endorsement whose reads have changed.
   * @throws {Error} `MVCC_READ_CONFLICT: …` when the write set differs; the contract's refusal.
   */
  submitEndorsed(
    identity: SimulatedIdentity,
    fn: ContractFunction,
    args: string[],
    writes: readonly { key: string; value: Buffer }[],
    tx: ProposedTx,
  ): Promise<SimulatedCommit> {
    const same = (now: readonly { key: string; value: Buffer }[]): boolean =>
      now.length === writes.length &&
      now.every((w, i) => w.key === writes[i]?.key && w.value.equals(writes[i].value));
    const run = this.queue.then(() => this.execute(identity, fn, args, true, same, tx));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs a query; writes, if any, are discarded. */
  async evaluate(
    identity: SimulatedIdentity,
    fn: ContractFunction,
    ...args: string[]
  ): Promise<string> {
    return (await this.execute(identity, fn, args, false)).result;
  }

  /** Calls `listener` for every event from now on; returns a function that stops it. */
  onEvent(listener: (event: SimulatedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The block that committed transaction `txId` (each simulated block holds one). */
  blockOf(txId: string): number | undefined {
    return this.blockOfTx.get(txId);
  }

  /** Events committed in blocks after `afterBlock` (for replay after a restart). */
  eventsAfter(afterBlock: number): SimulatedEvent[] {
    return this.events.filter((e) => e.blockNumber > afterBlock);
  }

  private async execute(
    identity: SimulatedIdentity,
    fn: ContractFunction,
    args: string[],
    commit: boolean,
    acceptWrites: (writes: { key: string; value: Buffer }[]) => boolean = () => true,
    tx?: ProposedTx,
  ): Promise<SimulatedCommit & { writes: { key: string; value: Buffer }[] }> {
    const timestamp = tx?.timestamp ?? this.now();
    const txId =
      tx?.txId ??
      createHash('sha256').update(randomBytes(24)).update(identity.certificate).digest('hex');
    const stub = new MemoryStub(this.state, txId, timestamp);
    const ctx = new Context();
    ctx.stub = stub.asChaincodeStub();
    ctx.clientIdentity = simulatedClientIdentity(identity);
    const method = (this.contract as unknown as Record<string, ContractMethod>)[fn];
    if (typeof method !== 'function') throw new Error(`INVALID_ARGUMENT: unknown function ${fn}`);
    const result = await method.call(this.contract, ctx, ...args);
    const writes = [...stub.writeSet.entries()]
      .map(([key, value]) => ({ key, value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (!commit) return { result, txId, blockNumber: this.height, timestamp, writes };
    if (!acceptWrites(writes)) {
      throw new Error(
        'MVCC_READ_CONFLICT: the transaction now writes other values than were endorsed',
      );
    }
    const blockNumber = ++this.height;
    this.blockOfTx.set(txId, blockNumber);
    this.state.apply(stub.writeSet, txId, timestamp);
    if (stub.event) {
      const event: SimulatedEvent = { ...stub.event, txId, blockNumber };
      this.events.push(event);
      for (const listener of this.listeners) listener(event);
    }
    return { result, txId, blockNumber, timestamp, writes };
  }
}

function simulatedClientIdentity(identity: SimulatedIdentity): ClientIdentity {
  const stand = {
    getMSPID: () => identity.mspId,
    getID: () => identity.id,
    getIDBytes: () => identity.certificate,
  };
  return stand as unknown as ClientIdentity;
}
