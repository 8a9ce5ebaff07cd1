// The group-commit pipeline of a MerkleLog: append calls queue, the single writer takes them
// in order into batches (up to the entry and byte limits), builds, hashes and encodes each into
// one buffer, writes it, and acknowledges after one fdatasync per file; several batches are in
// flight so the writer builds the next while one syncs. Acknowledgements are strictly in order.
import { performance } from 'node:perf_hooks';
import type { Hasher } from '../core/hash.ts';
import { CompactRange, frontierNodeIds } from '../core/merkle/compact.ts';
import { hexInto } from '../core/bytes.ts';
import type { AppendFile } from './append-file.ts';
import { LogStoreError } from './errors.ts';
import { HASH_SIZE, INDEX_ENTRY, type LogLayout } from './layout.ts';
import { BatchBuffer, encodeBatch } from './batch-encoder.ts';
import type { SegmentFiles } from './segments.ts';
import type { StateMarker } from './state-marker.ts';
import type { TreeStore } from './tree-store.ts';

/** Builds one entry's bytes; it receives the sequence number the entry will have. */
export type EntryBuilder = (seq: number) => Uint8Array;

/**
 * The entries of one append call, written by the writer straight into its batch buffer. For
 * each entry in order the log calls `maxLength(i, seq)` and then `write(i, seq, ...)`.
 */
export interface EntryWriter {
  readonly count: number;
  /** An upper bound on the length of entry `i`, which gets sequence number `seq`. */
  maxLength(i: number, seq: number): number;
  /** Writes entry `i` at `target[offset..]` (at most `maxLength` bytes); returns its length. */
  write(i: number, seq: number, target: Uint8Array, offset: number): number;
}

export interface AppendedEntry {
  readonly seq: number;
  readonly leafHash: Uint8Array;
}

/** The durable result of one append call: entries `first .. first + count - 1`. */
export interface AppendedRange {
  readonly first: number;
  readonly count: number;
  /** Leaf hash of the call's k-th entry (a copy). */
  leafHash(k: number): Uint8Array;
  /** Writes the k-th entry's leaf hash as lowercase hex into `target` at `at` (no allocation). */
  leafHashHexInto(k: number, target: Uint8Array, at: number): void;
  /** The group commit the entries went out in. */
  readonly batch: BatchStats;
}

/** What one group commit did (for metrics). */
export interface BatchStats {
  readonly entries: number;
  readonly bytes: number;
  /** Seconds from the first write to the last fdatasync of the batch. */
  readonly persistSeconds: number;
  /** Seconds spent in fdatasync alone. */
  readonly syncSeconds: number;
  /** Seconds spent building, hashing and encoding the batch on the writer. */
  readonly hashSeconds: number;
}

interface PendingCall {
  readonly writer: EntryWriter;
  readonly resolve: (r: AppendedRange) => void;
  readonly reject: (e: unknown) => void;
}

/** The classic builder-per-entry call as an EntryWriter (one copy into the batch buffer). */
export class BuilderWriter implements EntryWriter {
  readonly count: number;
  readonly #builders: readonly EntryBuilder[];
  #built: Uint8Array = new Uint8Array(0);

  constructor(builders: readonly EntryBuilder[]) {
    this.#builders = builders;
    this.count = builders.length;
  }

  maxLength(i: number, seq: number): number {
    const b = (this.#builders[i] as EntryBuilder)(seq);
    if (!(b instanceof Uint8Array))
      throw new LogStoreError('bad_argument', 'an entry builder returned no bytes');
    this.#built = b;
    return b.length;
  }

  write(_i: number, _seq: number, target: Uint8Array, offset: number): number {
    target.set(this.#built, offset);
    return this.#built.length;
  }
}

export class Appended implements AppendedRange {
  readonly first: number;
  readonly count: number;
  readonly batch: BatchStats;
  readonly #index: Uint8Array;
  readonly #at: number;

  constructor(index: Uint8Array, at: number, first: number, count: number, batch: BatchStats) {
    this.#index = index;
    this.#at = at;
    this.first = first;
    this.count = count;
    this.batch = batch;
  }

  leafHash(k: number): Uint8Array {
    const at = (this.#at + k) * INDEX_ENTRY;
    return this.#index.slice(at, at + HASH_SIZE);
  }

  leafHashHexInto(k: number, target: Uint8Array, at: number): void {
    const from = (this.#at + k) * INDEX_ENTRY;
    hexInto(this.#index, from, from + HASH_SIZE, target, at);
  }

  entries(): AppendedEntry[] {
    const out = new Array<AppendedEntry>(this.count);
    for (let k = 0; k < this.count; k++)
      out[k] = { seq: this.first + k, leafHash: this.leafHash(k) };
    return out;
  }
}

interface PreparedBatch {
  /** Each call with the position of its first entry in the batch. */
  readonly calls: { readonly call: PendingCall; readonly at: number }[];
  readonly first: number;
  readonly end: number;
  readonly count: number;
  readonly bytes: number;
  readonly data: { readonly file: AppendFile; readonly bytes: Uint8Array }[];
  readonly index: Uint8Array;
  readonly tiles: Map<number, Uint8Array[]>;
  readonly root: Uint8Array;
  readonly hashSeconds: number;
  /** The batch buffer the record bytes are views of; reused once they are written. */
  readonly buffer: BatchBuffer;
}

/** Default batch size limit in bytes (see LogOptions.maxBatchBytes). */
export const DEFAULT_BATCH_BYTES = 1.5 * 1024 * 1024;

/** Batches built ahead of acknowledgement: one being built, the rest being written or synced. */
const MAX_IN_FLIGHT = 5;
/** Batch buffers kept for reuse (recycled once written): one per batch in flight, one spare. */
const BUFFER_POOL = MAX_IN_FLIGHT + 1;

export interface GroupCommitOptions {
  hasher: Hasher;
  layout: LogLayout;
  tree: TreeStore;
  segments: SegmentFiles;
  marker: StateMarker;
  /** The recovered size the pipeline continues from. */
  size: number;
  maxEntries: number;
  maxBytes: number;
  waitMs: number;
  markIntervalMs: number;
  onBatch: ((stats: BatchStats) => void) | undefined;
}

/**
 * The single writer of a log: queued append calls are taken in order into batches, each built,
 * hashed and encoded into one buffer, written, fdatasynced and acknowledged in order; the
 * durable marker follows. After a failed write or sync nothing more is acknowledged.
 */
export class GroupCommit {
  readonly hasher: Hasher;
  readonly #layout: LogLayout;
  readonly #tree: TreeStore;
  readonly #segments: SegmentFiles;
  readonly #marker: StateMarker;
  readonly #range: CompactRange;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #waitMs: number;
  readonly #markIntervalMs: number;
  readonly #onBatch: ((stats: BatchStats) => void) | undefined;
  #size: number;
  #root: Uint8Array;
  /** End offset of the last record in the current segment file. */
  #segmentEnd: number;
  #queue: PendingCall[] = [];
  #head = 0;
  #running = false;
  #loopDone: Promise<void> = Promise.resolve();
  readonly #inflight = new Set<PreparedBatch>();
  #failed: LogStoreError | undefined;
  #lastMark = performance.now();
  #markChain: Promise<void> = Promise.resolve();
  readonly #buffers: BatchBuffer[] = [];

  constructor(o: GroupCommitOptions) {
    this.hasher = o.hasher;
    this.#layout = o.layout;
    this.#tree = o.tree;
    this.#segments = o.segments;
    this.#marker = o.marker;
    this.#maxEntries = o.maxEntries;
    this.#maxBytes = o.maxBytes;
    this.#waitMs = o.waitMs;
    this.#markIntervalMs = o.markIntervalMs;
    this.#onBatch = o.onBatch;
    const size = o.size;
    this.#size = size;
    this.#range = CompactRange.restore(o.hasher, size, o.tree.nodes(frontierNodeIds(size)));
    this.#root = this.#range.root();
    this.#segmentEnd = size % o.layout.segmentRecords === 0 ? 0 : o.tree.indexEntry(size - 1).end;
  }

  /** Durable, integrated leaves. */
  get size(): number {
    return this.#size;
  }

  /** Root at `size` (not a copy). */
  get root(): Uint8Array {
    return this.#root;
  }

  /** Set once a write or sync failed. */
  get failed(): LogStoreError | undefined {
    return this.#failed;
  }

  /** Queues one append call; resolves once its entries are durable. */
  enqueue(writer: EntryWriter): Promise<AppendedRange> {
    if (writer.count === 0) {
      const none: BatchStats = {
        entries: 0,
        bytes: 0,
        persistSeconds: 0,
        syncSeconds: 0,
        hashSeconds: 0,
      };
      return Promise.resolve(new Appended(new Uint8Array(0), 0, this.#size, 0, none));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ writer, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves once every accepted call is acknowledged or rejected. */
  drain(): Promise<void> {
    return this.#loopDone;
  }

  /** Resolves once the marker writes started so far are done. */
  settled(): Promise<void> {
    return this.#markChain;
  }

  #kick(): void {
    if (this.#running || this.#failed !== undefined) return;
    this.#running = true;
    this.#loopDone = new Promise<void>((resolve) => {
      const start = (): void => {
        this.#loop().then(resolve, (err: unknown) => {
          this.#fail(err);
          resolve();
        });
      };
      if (this.#waitMs > 0) setTimeout(start, this.#waitMs);
      else setImmediate(start);
    });
  }

  // The single writer. Up to MAX_IN_FLIGHT batches are in flight: while batch N syncs and the
  // next ones are written or wait for their sync, another is built and hashed (the writer idles
  // less when a sync takes as long as building a batch, or the thread pool is slow). Syncs and
  // acknowledgements are strictly in order.
  async #loop(): Promise<void> {
    let prev: Promise<void> | undefined;
    // Completion of the unacknowledged batches before `prev`, oldest first.
    const older: Promise<void>[] = [];
    while (this.#failed === undefined) {
      if (this.#head >= this.#queue.length) {
        if (prev === undefined) break;
        await prev;
        prev = undefined;
        older.length = 0;
        continue;
      }
      const batch = this.#prepare();
      if (batch === undefined) continue;
      this.#inflight.add(batch);
      const before = prev;
      const written = this.#write(batch);
      const done = (async () => {
        const t0 = performance.now();
        await written;
        this.#recycle(batch.buffer);
        if (before !== undefined) await before;
        if (this.#failed !== undefined) throw this.#failed;
        const t1 = performance.now();
        await Promise.all(
          [...new Set(batch.data.map((d) => d.file)), this.#tree.index].map((f) => f.datasync()),
        );
        this.#segments.syncCreated();
        const t2 = performance.now();
        const stats: BatchStats = {
          entries: batch.count,
          bytes: batch.bytes,
          persistSeconds: (t2 - t0) / 1000,
          syncSeconds: (t2 - t1) / 1000,
          hashSeconds: batch.hashSeconds,
        };
        this.#publish(batch, stats);
        this.#onBatch?.(stats);
        if (t2 - this.#lastMark >= this.#markIntervalMs) await this.markDurable();
      })().catch((err: unknown) => this.#fail(err));
      if (before !== undefined) older.push(before);
      if (older.length >= MAX_IN_FLIGHT - 1) await older.shift();
      prev = done;
    }
    if (this.#failed === undefined) await this.#segments.closeRetired();
    this.#running = false;
    if (this.#head < this.#queue.length && this.#failed === undefined) this.#kick();
  }

  /** Takes whole append calls up to the batch limits, builds, hashes and encodes them. */
  #prepare(): PreparedBatch | undefined {
    const t0 = performance.now();
    const first = this.#range.size;
    const buffer = this.#buffers.pop() ?? new BatchBuffer();
    buffer.reset();
    const calls: { call: PendingCall; at: number }[] = [];
    while (this.#head < this.#queue.length) {
      const call = this.#queue[this.#head] as PendingCall;
      if (
        buffer.count > 0 &&
        (buffer.count + call.writer.count > this.#maxEntries || buffer.length >= this.#maxBytes)
      ) {
        break;
      }
      this.#head++;
      const at = buffer.count;
      try {
        writeEntries(call.writer, first + at, buffer);
      } catch (err) {
        buffer.truncate(at);
        call.reject(err);
        continue;
      }
      calls.push({ call, at });
    }
    // Taken calls must not stay reachable from the queue (their promises hold the receipts).
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (buffer.count === 0) {
      this.#recycle(buffer);
      return undefined;
    }

    const encoded = encodeBatch(
      buffer,
      this.#range,
      this.hasher,
      this.#layout.segmentRecords,
      this.#segmentEnd,
    );
    this.#segmentEnd = encoded.segmentEnd;
    const data = encoded.parts.map((p) => ({
      file: this.#segments.writer(p.segment),
      bytes: p.bytes,
    }));
    return {
      calls,
      first,
      end: first + buffer.count,
      count: buffer.count,
      bytes: buffer.length - 1,
      data,
      index: encoded.index,
      tiles: encoded.tiles,
      root: this.#range.root(),
      hashSeconds: (performance.now() - t0) / 1000,
      buffer,
    };
  }

  /** Keeps a written batch's buffer for reuse (not one grown far past the batch limit). */
  #recycle(buffer: BatchBuffer): void {
    if (this.#buffers.length < BUFFER_POOL && buffer.bytes.length <= 4 * this.#maxBytes) {
      this.#buffers.push(buffer);
    }
  }

  #write(batch: PreparedBatch): Promise<unknown> {
    const writes: Promise<void>[] = batch.data.map((d) => d.file.append(d.bytes));
    writes.push(this.#tree.index.append(batch.index));
    for (const [q, nodes] of batch.tiles)
      writes.push(this.#tree.tileFile(q).append(Buffer.concat(nodes)));
    return Promise.all(writes);
  }

  #publish(batch: PreparedBatch, stats: BatchStats): void {
    this.#inflight.delete(batch);
    this.#size = batch.end;
    this.#root = batch.root;
    for (const c of batch.calls) {
      c.call.resolve(
        new Appended(batch.index, c.at, batch.first + c.at, c.call.writer.count, stats),
      );
    }
  }

  /** Syncs tile files and writes the durable marker at the current size (serialized). */
  markDurable(): Promise<void> {
    const run = async (): Promise<void> => {
      const size = this.#size;
      const root = this.#root;
      await this.#tree.syncTiles();
      await this.#marker.write({ size, root });
      this.#lastMark = performance.now();
    };
    const result = this.#markChain.then(run);
    this.#markChain = result.catch((err: unknown) => this.#fail(err));
    return result;
  }

  /** A write or sync failed: nothing more is acknowledged until the log is reopened. */
  #fail(err: unknown): void {
    if (this.#failed !== undefined) return;
    const cause = err instanceof Error ? err.message : String(err);
    this.#failed = new LogStoreError('failed', `log write failed, reopen to recover: ${cause}`, {
      cause: err,
    });
    // Batches already (partly) written may still be on disk after the reopen (their bytes and
    // index entries can have landed whole): their outcome is unknown, not "nothing appended".
    const unknown = new LogStoreError(
      'outcome_unknown',
      `log write failed while these entries were being written (${cause}); they may or may not be durable once the log is reopened`,
      { cause: err },
    );
    for (const batch of this.#inflight) for (const c of batch.calls) c.call.reject(unknown);
    this.#inflight.clear();
    for (let i = this.#head; i < this.#queue.length; i++)
      (this.#queue[i] as PendingCall).reject(this.#failed);
    this.#queue = [];
    this.#head = 0;
  }
}

/** Writes a call's entries (sequence numbers from `seq`) into the batch buffer. */
function writeEntries(writer: EntryWriter, seq: number, buffer: BatchBuffer): void {
  for (let i = 0; i < writer.count; i++, seq++) {
    const max = writer.maxLength(i, seq);
    buffer.reserve(max);
    const n = writer.write(i, seq, buffer.bytes, buffer.length);
    if (!Number.isSafeInteger(n) || n < 0 || n > max) {
      throw new LogStoreError(
        'bad_argument',
        `entry ${i}: wrote ${n} bytes, at most ${max} allowed`,
      );
    }
    buffer.push(n);
  }
}
