// Ingest of prepared decisions into the shard's log: routing check (nothing misrouted is
// appended, and nothing new once the epoch in force has retired the shard), record_id
// idempotency (a known record_id returns its original receipt and appends nothing, also when the
// original is still in flight), envelope splicing in the log writer, and receipts once durable.
import { startOf, toHex, utf8 } from '../core/bytes.ts';
import type { EnvelopeRouting } from '../core/envelope.ts';
import type { EpochTable } from '../core/routing.ts';
import type { AppendedRange, BatchStats, MerkleLog } from '../log-store/index.ts';
import { EnvelopeWriter } from './envelope-writer.ts';
import { InFlightIds, type InFlightMatch } from './in-flight-ids.ts';
import type { PackedBatch } from './prepare.ts';
import { appendedReceipt, ReceiptList, type Receipt } from './receipts.ts';
import { idAt, idHash, recordIdAt } from './record-ids.ts';
import type { RecordIndex } from './record-index.ts';
import { retirementAt, type Retirement } from './retirement.ts';

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
      /** Receipt i, and whether decision i was appended by this request (`created(i)`). */
      receipts: ReceiptList;
      /** The group commit this request's new decisions went out in. */
      batch: BatchStats | undefined;
    }
  | { ok: false; misrouted: Misrouted[] }
  /** The epoch in force now has retired this shard: nothing new may be appended. */
  | { ok: false; retired: Retirement };

/** One appendEntries call of an ingest: entry k is decision fresh[k] of batch. */
interface AppendCall {
  readonly appended: Promise<AppendedRange>;
  readonly batch: PackedBatch;
  readonly fresh: readonly number[];
  /** Seq of the call's first entry, once durable. */
  first?: number;
}

/** Nanoseconds since the Unix epoch as a canonical decimal string. */
export function nowNs(): string {
  const ms = performance.timeOrigin + performance.now();
  return (BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.floor((ms % 1) * 1e6))).toString();
}

export type { Receipt };

export class Ingestor {
  readonly shardId: number;
  readonly #log: MerkleLog;
  readonly #index: RecordIndex;
  /** record_ids being appended: the originals for repeats until the index has them. */
  readonly #pending = new InFlightIds<AppendCall>();
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
          record_id: recordIdAt(batch, i),
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

    const receipts = new ReceiptList(this.shardId, batch, n);
    const waits: Promise<void>[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < n; i++) {
      const earlier = batch.sameAs[i] as number;
      if (earlier !== -1) {
        receipts.setSameAs(i, earlier);
        continue;
      }
      const pending = this.#pendingOf(batch, i);
      if (pending !== undefined) {
        waits.push(
          pending.value.appended.then((r) => receipts.setExisting(i, this.#receipt(pending, r))),
        );
        continue;
      }
      const seq = this.#index.get(idAt(batch, i));
      if (seq !== undefined) {
        waits.push(this.receiptOf(seq).then((r) => receipts.setExisting(i, r)));
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
      const call: AppendCall = { appended, batch, fresh };
      const handle = this.#pending.add(batch, fresh, call);
      let result: AppendedRange;
      try {
        result = await appended;
      } catch (err) {
        this.#pending.remove(handle);
        throw err;
      }
      call.first = result.first;
      // Synchronously after the append resolved, so index writes follow log order.
      // Once the index has them, repeats find them there. If the index write failed they stay
      // in flight, so a repeat still gets its original (the index catches up on the next start).
      this.#track(
        this.#index.add(batch, fresh, result.first).then(() => this.#pending.remove(handle)),
      );
      stats = result.batch;
      receipts.setAppended(result, fresh);
    }
    if (waits.length > 0) await Promise.all(waits);
    return { ok: true, receipts, batch: stats };
  }

  /** Whether a batch holds a record_id this shard has neither stored nor in flight. */
  #hasNew(batch: PackedBatch): boolean {
    for (let i = 0; i < batch.count; i++) {
      if (this.#pendingOf(batch, i) === undefined && this.#index.get(idAt(batch, i)) === undefined)
        return true;
    }
    return false;
  }

  /** The in-flight original of decision i's record_id, if one is being appended. */
  #pendingOf(batch: PackedBatch, i: number): InFlightMatch<AppendCall> | undefined {
    const end = batch.idEnds[i] as number;
    return this.#pending.find(
      batch.ids,
      startOf(batch.idEnds, i),
      end,
      batch.idHashes[i] as number,
    );
  }

  /** Resolves once every append started so far has settled (durable or failed). */
  async appendsSettled(): Promise<void> {
    await Promise.all([...this.#appending]);
  }

  #receipt(f: InFlightMatch<AppendCall>, appended: AppendedRange): Receipt {
    const call = f.value;
    return appendedReceipt(this.shardId, call.batch, call.fresh[f.k] as number, appended, f.k);
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
    const bytes = utf8.encode(recordId);
    const f = this.#pending.find(bytes, 0, bytes.length, idHash(bytes, 0, bytes.length));
    const first = f?.value.first;
    return first !== undefined
      ? first + (f as InFlightMatch<AppendCall>).k
      : this.#index.get(bytes);
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
