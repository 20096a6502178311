// In-memory world state with key history, and a per-transaction stub over it (simulation only).
import type { ChaincodeStub, Iterators } from 'fabric-shim-api';

const SEP = '\u0000';

/** One committed write to a key. */
export interface KeyWrite {
  txId: string;
  timestamp: Date;
  value: Buffer;
}

/** Committed state: the current value of every key and every write ever made to it. */
export class MemoryWorldState {
  private readonly current = new Map<string, Buffer>();
  private readonly writes = new Map<string, KeyWrite[]>();

  get(key: string): Buffer | undefined {
    return this.current.get(key);
  }

  /** Keys with the given prefix, in byte order, as Fabric's range scans return them. */
  keysWithPrefix(prefix: string): string[] {
    return [...this.current.keys()].filter((k) => k.startsWith(prefix)).sort(compareUtf8);
  }

  history(key: string): readonly KeyWrite[] {
    return this.writes.get(key) ?? [];
  }

  apply(writeSet: ReadonlyMap<string, Buffer>, txId: string, timestamp: Date): void {
    for (const [key, value] of writeSet) {
      this.current.set(key, value);
      const list = this.writes.get(key) ?? [];
      list.push({ txId, timestamp, value });
      this.writes.set(key, list);
    }
  }
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function toTimestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function asyncIterable<T>(items: T[]): Promise<Iterators.CommonIterator<T>> & AsyncIterable<T> {
  let index = 0;
  const iterator: Iterators.CommonIterator<T> = {
    close: () => Promise.resolve(),
    next: () =>
      Promise.resolve(
        index < items.length
          ? { value: items[index++] as T, done: false }
          : ({ value: undefined, done: true } as unknown as Iterators.NextResult<T>),
      ),
  };
  const promise = Promise.resolve(iterator) as Promise<Iterators.CommonIterator<T>> &
    AsyncIterable<T>;
  promise[Symbol.asyncIterator] = () => ({
    next: async () => {
      const result = await iterator.next();
      return result.done ? { value: undefined, done: true } : { value: result.value, done: false };
    },
  });
  return promise;
}

/**
 * The part of Fabric's ChaincodeStub the contract uses, over a {@link MemoryWorldState}.
 * Like Fabric, reads see committed state only; writes collect in a write set applied on commit.
 */
export class MemoryStub {
  readonly writeSet = new Map<string, Buffer>();
  event: { name: string; payload: Buffer } | undefined;

  constructor(
    private readonly state: MemoryWorldState,
    private readonly txId: string,
    private readonly timestamp: Date,
  ) {}

  getTxID(): string {
    return this.txId;
  }

  getTxTimestamp(): { seconds: number; nanos: number } {
    return toTimestamp(this.timestamp);
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    return `${SEP}${objectType}${SEP}${attributes.map((a) => `${a}${SEP}`).join('')}`;
  }

  getState(key: string): Promise<Uint8Array> {
    return Promise.resolve(this.state.get(key) ?? Buffer.alloc(0));
  }

  putState(key: string, value: Uint8Array): Promise<void> {
    this.writeSet.set(key, Buffer.from(value));
    return Promise.resolve();
  }

  getStateByPartialCompositeKey(objectType: string, attributes: string[]) {
    const prefix = this.createCompositeKey(objectType, attributes);
    const items = this.state.keysWithPrefix(prefix).map((key) => ({
      namespace: 'fedledger',
      key,
      value: this.state.get(key) ?? Buffer.alloc(0),
    }));
    return asyncIterable<Iterators.KV>(items);
  }

  getHistoryForKey(key: string) {
    // Fabric returns the newest write first.
    const items = [...this.state.history(key)].reverse().map((w) => ({
      isDelete: false,
      value: w.value,
      txId: w.txId,
      timestamp: toTimestamp(w.timestamp) as unknown as Iterators.KeyModification['timestamp'],
    }));
    return asyncIterable<Iterators.KeyModification>(items);
  }

  setEvent(name: string, payload: Uint8Array): void {
    this.event = { name, payload: Buffer.from(payload) };
  }

  /** This stub typed as the shim's stub, for fabric-contract-api's Context. */
  asChaincodeStub(): ChaincodeStub {
    return this as unknown as ChaincodeStub;
  }
}
