// Ingest of prepared decisions into the shard's log: routing check (nothing misrouted is
// appended, and nothing new once the epoch in force has retired the shard), record_id
// idempotency (a known record_id with the same decision returns its original receipt and appends
// nothing, also when the original is still in flight; with another decision it is a conflict,
// and nothing of the request is appended), envelope splicing in the log writer, and receipts
// once durable.
import { bytesEqual, startOf, toHex, utf8 } from '../core/bytes.ts';
import { envelopeHoldsDecision, type EnvelopeRouting } from '../core/envelope.ts';
import type { EpochTable } from '../core/routing.ts';
import type { AppendedRange, BatchStats, MerkleLog } from '../log-store/index.ts';
import { EnvelopeWriter } from './envelope-writer.ts';
import { InFlightIds, type InFlightMatch } from './in-flight-ids.ts';
import { canonicalAt, type PackedBatch } from './prepare.ts';
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

/** A decision whose record_id is already taken by a different decision. */
export interface Conflict {
  line: number;
  record_id: string;
  /** The seq of the stored original, once it has one (an original in flight may not yet). */
  seq?: number;
  /** The line of the original, when it is an earlier line of the same request. */
  original_line?: number;
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
  | { ok: false; retired: Retirement }
  /** record_ids already taken by other decisions: nothing was appended. */
  | { ok: false; conflicts: Conflict[] };

/** A stored record a repeat is answered with: its receipt, and its envelope to compare with. */
interface StoredOriginal {
  receipt: Receipt;
  envelope: Uint8Array;
}

/** How each decision of a request is answered, decided in one synchronous pass. */
interface IngestPlan {
  receipts: ReceiptList;
  waits: Promise<void>[];
  fresh: number[];
  conflicts: Conflict[];
  /** Seqs of stored originals not read yet: the pass must run again once they are. */
  unread: number[];
}

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

    // A repeat of a stored record_id is compared with the stored decision before anything is
    // appended, so a conflict refuses the whole request. Reading the originals awaits, so the
    // pass runs again after it: everything from the pass that finds nothing unread to the
    // append below is one synchronous run (no other request can start appending in between).
    let stored: Map<number, StoredOriginal> | undefined;
    let plan = this.#plan(batch, stored);
    while (plan.unread.length > 0) {
      stored ??= new Map();
      const originals = stored;
      await Promise.all(
        plan.unread.map(async (seq) => originals.set(seq, await this.#stored(seq))),
      );
      plan = this.#plan(batch, stored);
    }
    if (plan.conflicts.length > 0) return { ok: false, conflicts: plan.conflicts };
    // Checked in the same synchronous run as the append below, so once the shard clock has
    // passed the boundary no append can start after a final checkpoint waited for appends.
    const retired =
      this.#routing === undefined
        ? undefined
        : retirementAt(this.#routing(), this.shardId, this.#clock());
    if (retired !== undefined && plan.fresh.length > 0) return { ok: false, retired };
    const { receipts, waits, fresh } = plan;

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
      // While in flight, later requests compare repeats with these decisions' bytes.
      batch.lease?.hold();
      const settle = (): void => {
        this.#pending.remove(handle);
        batch.lease?.release();
      };
      let result: AppendedRange;
      try {
        result = await appended;
      } catch (err) {
        settle();
        throw err;
      }
      call.first = result.first;
      // Synchronously after the append resolved, so index writes follow log order.
      // Once the index has them, repeats find them there. If the index write failed they stay
      // in flight, so a repeat still gets its original (the index catches up on the next start).
      this.#track(this.#index.add(batch, fresh, result.first).then(settle));
      stats = result.batch;
      receipts.setAppended(result, fresh);
    }
    if (waits.length > 0) await Promise.all(waits);
    return { ok: true, receipts, batch: stats };
  }

  /**
   * One pass over the batch: each decision is new (`fresh`), a repeat of an earlier line, of a
   * decision in flight or of a stored one (answered with the original's receipt), or a conflict
   * (its record_id is taken by another decision). A stored original not in `stored` is `unread`.
   */
  #plan(batch: PackedBatch, stored: Map<number, StoredOriginal> | undefined): IngestPlan {
    const n = batch.count;
    const plan: IngestPlan = {
      receipts: new ReceiptList(this.shardId, batch, n),
      waits: [],
      fresh: [],
      conflicts: [],
      unread: [],
    };
    const conflict = (i: number, original: Omit<Conflict, 'line' | 'record_id'>): void => {
      plan.conflicts.push({
        line: batch.lines[i] as number,
        record_id: recordIdAt(batch, i),
        ...original,
      });
    };
    for (let i = 0; i < n; i++) {
      const earlier = batch.sameAs[i] as number;
      if (earlier !== -1) {
        if (bytesEqual(canonicalAt(batch, i), canonicalAt(batch, earlier)))
          plan.receipts.setSameAs(i, earlier);
        else conflict(i, { original_line: batch.lines[earlier] as number });
        continue;
      }
      const pending = this.#pendingOf(batch, i);
      if (pending !== undefined) {
        const call = pending.value;
        const original = canonicalAt(call.batch, call.fresh[pending.k] as number);
        if (!bytesEqual(canonicalAt(batch, i), original)) {
          conflict(i, call.first === undefined ? {} : { seq: call.first + pending.k });
          continue;
        }
        plan.waits.push(
          call.appended.then((r) => plan.receipts.setExisting(i, this.#receipt(pending, r))),
        );
        continue;
      }
      const seq = this.#index.get(idAt(batch, i));
      if (seq === undefined) {
        plan.fresh.push(i);
        continue;
      }
      const original = stored?.get(seq);
      if (original === undefined) plan.unread.push(seq);
      else if (!envelopeHoldsDecision(original.envelope, canonicalAt(batch, i)))
        conflict(i, { seq });
      else plan.receipts.setExisting(i, original.receipt);
    }
    return plan;
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

  /** A stored record's envelope, and its receipt rebuilt from it. */
  async #stored(seq: number): Promise<StoredOriginal> {
    const [bytes, leafHash] = await Promise.all([this.#log.read(seq), this.#log.leafHash(seq)]);
    const env = JSON.parse(utf8.decode(bytes)) as {
      decision: { record_id: string };
      routing: EnvelopeRouting;
    };
    const receipt = {
      shard_id: this.shardId,
      seq,
      leaf_hash: toHex(leafHash),
      record_id: env.decision.record_id,
      routing: {
        epoch: env.routing.epoch,
        key: env.routing.key,
        pointer: env.routing.pointer,
        strategy: env.routing.strategy,
      },
    };
    return { receipt, envelope: bytes };
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
