// Ingest of prepared decisions into the shard's log: routing check (nothing misrouted is
// appended, and nothing new once the epoch in force has retired the shard), record_id
// idempotency (a known record_id returns its original receipt and appends nothing, also when the
// original is still in flight), envelope splicing in the log writer, and receipts once durable.
import { toHex, utf8 } from '../core/bytes.ts';
import type { EnvelopeRouting } from '../core/envelope.ts';
import type { EpochTable } from '../core/routing.ts';
import type { AppendedRange, BatchStats, MerkleLog } from '../log-store/index.ts';
import { EnvelopeWriter } from './envelope-writer.ts';
import type { PackedBatch } from './prepare.ts';
import type { RecordIndex } from './record-index.ts';
import { retirementAt, type Retirement } from './retirement.ts';

export interface Receipt {
  shard_id: number;
  seq: number;
  leaf_hash: string;
  record_id: string;
  routing: EnvelopeRouting;
}

export interface Misrouted {
  line: number;
  record_id: string;
  /** The shard the decision routes to under the epoch in force at its timestamp. */
  shard_id: number;
  epoch: number;
}

export type IngestOutcome =
  | {
      ok: true;
      receipts: Receipt[];
      /** created[i]: decision i was appended by this request (false: an earlier original). */
      created: boolean[];
      /** The group commit this request's new decisions went out in. */
      batch: BatchStats | undefined;
    }
  | { ok: false; misrouted: Misrouted[] }
  /** The epoch in force now has retired this shard: nothing new may be appended. */
  | { ok: false; retired: Retirement };

interface InFlight {
  readonly appended: Promise<AppendedRange>;
  /** Set once durable, until the index has the record_id. */
  seq?: number;
  readonly k: number;
  readonly recordId: string;
  readonly routing: EnvelopeRouting;
}

/** Nanoseconds since the Unix epoch as a canonical decimal string. */
export function nowNs(): string {
  const ms = performance.timeOrigin + performance.now();
  return (BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.floor((ms % 1) * 1e6))).toString();
}

export class Ingestor {
  readonly shardId: number;
  readonly #log: MerkleLog;
  readonly #index: RecordIndex;
  readonly #pending = new Map<string, InFlight>();
  readonly #clock: () => string;
  readonly #onIndexError: (err: unknown) => void;
  readonly #inflight = new Set<Promise<void>>();
  /** Appends not yet durable (what a final checkpoint must wait for). */
  readonly #appending = new Set<Promise<unknown>>();
  readonly #routing: (() => EpochTable) | undefined;

  /** `routing`: the epoch table in force; without it the shard is never treated as retired. */
  constructor(
    log: MerkleLog,
    index: RecordIndex,
    shardId: number,
    onIndexError: (err: unknown) => void,
    clock: () => string = nowNs,
    routing?: () => EpochTable,
  ) {
    this.#log = log;
    this.#index = index;
    this.shardId = shardId;
    this.#onIndexError = onIndexError;
    this.#clock = clock;
    this.#routing = routing;
  }

  async ingest(batch: PackedBatch): Promise<IngestOutcome> {
    const n = batch.count;
    const misrouted: Misrouted[] = [];
    for (let i = 0; i < n; i++) {
      const shard = batch.shards[i] as number;
      if (shard !== this.shardId) {
        misrouted.push({
          line: batch.lines[i] as number,
          record_id: batch.recordIds[i] as string,
          shard_id: shard,
          epoch: batch.epochs[i] as number,
        });
      }
    }
    if (misrouted.length > 0) return { ok: false, misrouted };
    // Checked in the same synchronous run as the append below, so once the shard clock has
    // passed the boundary no append can start after a final checkpoint waited for appends.
    const retired =
      this.#routing === undefined
        ? undefined
        : retirementAt(this.#routing(), this.shardId, this.#clock());
    if (retired !== undefined && this.#hasNew(batch)) return { ok: false, retired };

    const routingOf = (i: number): EnvelopeRouting => ({
      epoch: batch.epochs[i] as number,
      key: batch.keys[i] as string,
      strategy: batch.strategies[i] as string,
    });
    const receipts: (Receipt | Promise<Receipt> | number)[] = new Array(n);
    const created: boolean[] = new Array<boolean>(n).fill(false);
    const fresh: number[] = [];
    const firstInBatch = n > 1 ? new Map<string, number>() : undefined;
    for (let i = 0; i < n; i++) {
      const id = batch.recordIds[i] as string;
      const earlier = firstInBatch?.get(id);
      if (earlier !== undefined) {
        receipts[i] = earlier; // resolved below to the earlier line's receipt
        continue;
      }
      firstInBatch?.set(id, i);
      const pending = this.#pending.get(id);
      if (pending !== undefined) {
        receipts[i] = pending.appended.then((r) => this.#receipt(pending, r));
        continue;
      }
      const seq = this.#index.get(id);
      if (seq !== undefined) {
        receipts[i] = this.receiptOf(seq);
        continue;
      }
      fresh.push(i);
    }

    let stats: BatchStats | undefined;
    if (fresh.length > 0) {
      const timestamp = this.#clock();
      const appended = this.#log.appendEntries(
        new EnvelopeWriter(batch, fresh, this.shardId, timestamp),
      );
      const done: Promise<unknown> = appended.then(
        () => this.#appending.delete(done),
        () => this.#appending.delete(done),
      );
      this.#appending.add(done);
      const flights = fresh.map((i, k): InFlight => {
        const f: InFlight = {
          appended,
          k,
          recordId: batch.recordIds[i] as string,
          routing: routingOf(i),
        };
        this.#pending.set(f.recordId, f);
        return f;
      });
      let result: AppendedRange;
      try {
        result = await appended;
      } catch (err) {
        for (const f of flights) this.#pending.delete(f.recordId);
        throw err;
      }
      flights.forEach((f, k) => (f.seq = result.first + k));
      // Synchronously after the append resolved, so index writes follow log order.
      const indexed = this.#index.add(
        flights.map((f) => f.recordId),
        result.first,
      );
      const forget = indexed.finally(() => {
        for (const f of flights)
          if (this.#pending.get(f.recordId) === f) this.#pending.delete(f.recordId);
      });
      this.#track(forget);
      stats = result.batch;
      fresh.forEach((i, k) => {
        receipts[i] = this.#receipt(flights[k] as InFlight, result);
        created[i] = true;
      });
    }
    const settled: Receipt[] = new Array<Receipt>(n);
    for (let i = 0; i < n; i++) {
      const r = receipts[i];
      if (typeof r !== 'number') settled[i] = await (r as Receipt | Promise<Receipt>);
    }
    for (let i = 0; i < n; i++) {
      const r = receipts[i];
      if (typeof r === 'number') settled[i] = settled[r] as Receipt;
    }
    return { ok: true, receipts: settled, created, batch: stats };
  }

  /** Whether a batch holds a record_id this shard has neither stored nor in flight. */
  #hasNew(batch: PackedBatch): boolean {
    for (let i = 0; i < batch.count; i++) {
      const id = batch.recordIds[i] as string;
      if (!this.#pending.has(id) && this.#index.get(id) === undefined) return true;
    }
    return false;
  }

  /** Resolves once every append started so far has settled (durable or failed). */
  async appendsSettled(): Promise<void> {
    await Promise.all([...this.#appending]);
  }

  #receipt(f: InFlight, appended: AppendedRange): Receipt {
    return {
      shard_id: this.shardId,
      seq: appended.first + f.k,
      leaf_hash: toHex(appended.leafHash(f.k)),
      record_id: f.recordId,
      routing: f.routing,
    };
  }

  /** The receipt of a stored record, rebuilt from its envelope. */
  async receiptOf(seq: number): Promise<Receipt> {
    const [bytes, leafHash] = await Promise.all([this.#log.read(seq), this.#log.leafHash(seq)]);
    const env = JSON.parse(utf8.decode(bytes)) as {
      decision: { record_id: string };
      routing: EnvelopeRouting;
    };
    return {
      shard_id: this.shardId,
      seq,
      leaf_hash: toHex(leafHash),
      record_id: env.decision.record_id,
      routing: { epoch: env.routing.epoch, key: env.routing.key, strategy: env.routing.strategy },
    };
  }

  /** The sequence number of a record_id in this shard's log. */
  seqOf(recordId: string): number | undefined {
    return this.#pending.get(recordId)?.seq ?? this.#index.get(recordId);
  }

  #track(p: Promise<unknown>): void {
    const done: Promise<void> = p.then(
      () => {
        this.#inflight.delete(done);
      },
      (err: unknown) => {
        this.#inflight.delete(done);
        // The log holds the records; the index catches up from it on the next start.
        this.#onIndexError(err);
      },
    );
    this.#inflight.add(done);
  }

  /** Waits for index writes still in flight. */
  async drain(): Promise<void> {
    await Promise.all([...this.#inflight]);
  }
}
