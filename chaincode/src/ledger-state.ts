// World-state access for the contract: composite keys, deterministic JSON, transaction time.
import { canonicalJson, sha256Hex } from '@fedledger/protocol';
import type {
  ClientRef,
  HistoryEntry,
  RoundRecord,
  RunRecord,
  KeysRecord,
  UpdateRecord,
} from '@fedledger/protocol';
import type { Context } from 'fabric-contract-api';
import { LedgerRuleError } from './rule-error';

const RUN = 'fl.run';
const ROUND = 'fl.round';
const UPDATE = 'fl.update';
const KEYS = 'fl.keys';
const READABLE_TYPES: Record<string, string> = {
  run: RUN,
  round: ROUND,
  update: UPDATE,
  'secagg-keys': KEYS,
};

/** Rounds are zero-padded inside composite keys so range scans return them in order. */
function roundPart(round: number): string {
  return String(round).padStart(6, '0');
}

interface TimestampLike {
  seconds: number | { toNumber(): number };
  nanos: number;
}

/** ISO-8601 time of a Fabric timestamp (seconds may be a Long). */
export function timestampToIso(ts: TimestampLike): string {
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor(ts.nanos / 1e6)).toISOString();
}

/** SHA-256 of a certificate given as PEM (hashes the DER) or as raw bytes. */
export function certificateFingerprint(idBytes: Uint8Array): string {
  const text = Buffer.from(idBytes).toString('utf8');
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  const body = pem?.[1];
  return sha256Hex(body !== undefined ? Buffer.from(body.replace(/\s+/g, ''), 'base64') : idBytes);
}

/** Typed reads and writes of fedledger records within one transaction. */
export class LedgerState {
  constructor(private readonly ctx: Context) {}

  caller(): ClientRef {
    const identity = this.ctx.clientIdentity;
    return {
      mspId: identity.getMSPID(),
      id: identity.getID(),
      certFingerprint: certificateFingerprint(identity.getIDBytes()),
    };
  }

  txId(): string {
    return this.ctx.stub.getTxID();
  }

  txTime(): string {
    return timestampToIso(this.ctx.stub.getTxTimestamp());
  }

  runKey(runId: string): string {
    return this.ctx.stub.createCompositeKey(RUN, [runId]);
  }

  roundKey(runId: string, round: number): string {
    return this.ctx.stub.createCompositeKey(ROUND, [runId, roundPart(round)]);
  }

  updateKey(runId: string, round: number, mspId: string): string {
    return this.ctx.stub.createCompositeKey(UPDATE, [runId, roundPart(round), mspId]);
  }

  /** Converts a readable key (`update/<run>/<round>/<msp>`) to the world-state key. */
  worldStateKey(readable: string): string {
    const [type, ...parts] = readable.split('/');
    const objectType = type === undefined ? undefined : READABLE_TYPES[type];
    const expectedParts = type === 'run' ? 1 : type === 'round' ? 2 : 3;
    if (objectType === undefined || parts.length !== expectedParts || parts.some((p) => p === '')) {
      throw new LedgerRuleError(
        'INVALID_ARGUMENT',
        `key "${readable}" is not of the form run/<run>, round/<run>/<round>, update/<run>/<round>/<msp> or secagg-keys/<run>/<round>/<msp>`,
      );
    }
    if (type !== 'run') {
      const round = Number(parts[1]);
      if (!Number.isSafeInteger(round) || round < 0) {
        throw new LedgerRuleError('INVALID_ARGUMENT', `key "${readable}" has an invalid round`);
      }
      parts[1] = roundPart(round);
    }
    return this.ctx.stub.createCompositeKey(objectType, parts);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.read<RunRecord>(this.runKey(runId));
  }

  async getRound(runId: string, round: number): Promise<RoundRecord | undefined> {
    return this.read<RoundRecord>(this.roundKey(runId, round));
  }

  async getUpdate(runId: string, round: number, mspId: string): Promise<UpdateRecord | undefined> {
    return this.read<UpdateRecord>(this.updateKey(runId, round, mspId));
  }

  async putRun(record: RunRecord): Promise<void> {
    await this.write(this.runKey(record.runId), record);
  }

  async putRound(record: RoundRecord): Promise<void> {
    await this.write(this.roundKey(record.runId, record.round), record);
  }

  async getKeys(runId: string, round: number, mspId: string): Promise<KeysRecord | undefined> {
    return this.read<KeysRecord>(
      this.ctx.stub.createCompositeKey(KEYS, [runId, roundPart(round), mspId]),
    );
  }

  async putKeys(record: KeysRecord): Promise<void> {
    await this.write(
      this.ctx.stub.createCompositeKey(KEYS, [record.runId, roundPart(record.round), record.mspId]),
      record,
    );
  }

  /** Every key advertisement of a round (secure-aggregation runs), in MSP ID order. */
  async listKeys(runId: string, round: number): Promise<KeysRecord[]> {
    return this.scan<KeysRecord>(KEYS, [runId, roundPart(round)]);
  }

  async putUpdate(record: UpdateRecord): Promise<void> {
    await this.write(this.updateKey(record.runId, record.round, record.mspId), record);
  }

  /** Every run, in run ID order. */
  async listRuns(): Promise<RunRecord[]> {
    return this.scan<RunRecord>(RUN, []);
  }

  /** Every round of a run, in round order. */
  async listRounds(runId: string): Promise<RoundRecord[]> {
    return this.scan<RoundRecord>(ROUND, [runId]);
  }

  /** Every update of a round, in MSP ID order. */
  async listUpdates(runId: string, round: number): Promise<UpdateRecord[]> {
    return this.scan<UpdateRecord>(UPDATE, [runId, roundPart(round)]);
  }

  async history(worldStateKey: string): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    for await (const mod of this.ctx.stub.getHistoryForKey(worldStateKey)) {
      const text = Buffer.from(mod.value).toString('utf8');
      entries.push({
        txId: mod.txId,
        timestamp: timestampToIso(mod.timestamp),
        isDelete: mod.isDelete,
        value: text.length > 0 ? (JSON.parse(text) as unknown) : null,
      });
    }
    // Fabric returns history newest first; auditors read it oldest first.
    return entries.reverse();
  }

  emit(name: string, record: object): void {
    this.ctx.stub.setEvent(name, Buffer.from(canonicalJson(record), 'utf8'));
  }

  private async read<T>(key: string): Promise<T | undefined> {
    const bytes = await this.ctx.stub.getState(key);
    if (!bytes || bytes.length === 0) return undefined;
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  private async write(key: string, record: object): Promise<void> {
    await this.ctx.stub.putState(key, Buffer.from(canonicalJson(record), 'utf8'));
  }

  private async scan<T>(objectType: string, attributes: string[]): Promise<T[]> {
    const out: T[] = [];
    for await (const kv of this.ctx.stub.getStateByPartialCompositeKey(objectType, attributes)) {
      out.push(JSON.parse(Buffer.from(kv.value).toString('utf8')) as T);
    }
    return out;
  }
}
