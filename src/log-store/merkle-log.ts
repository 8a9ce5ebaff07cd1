// MerkleLog: a durable, append-only RFC 9162 Merkle log in one directory. append() resolves
// once its entries are on disk (group commit: every append waiting while a batch is written
// joins the next batch, and one fdatasync per file covers the batch); proofs and roots at any
// past size are read from stored tile nodes, so memory stays flat in the number of records.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { blake3, type Hasher } from '../core/hash.ts';
import { CompactRange, frontierNodeIds } from '../core/merkle/compact.ts';
import { consistencyPlan, inclusionPlan, proofFromNodes } from '../core/merkle/nodes.ts';
import { bytesEqual, hexInto } from '../core/bytes.ts';
import type { AppendFile } from './append-file.ts';
import { syncDirectory } from './append-file.ts';
import { CheckpointStore, type StoredCheckpoint } from './checkpoint-store.ts';
import { LogCorruptionError, LogStoreError } from './errors.ts';
import {
  checkInclusion,
  checkStoredRange,
  clearDamage,
  recheckRecordedDamage,
  readStoredRecord,
  recordDamage,
  type DamageNote,
  type StoredTree,
} from './damage.ts';
import {
  DIR_MODE,
  HASH_SIZE,
  INDEX_ENTRY,
  SEGMENT_RECORDS,
  logLayout,
  type LogLayout,
} from './layout.ts';
import { BatchBuffer, encodeBatch } from './batch-encoder.ts';
import { acquireLock, acquireReadLock, releaseLock } from './lock.ts';
import { loadMeta, type LogIdentity } from './meta.ts';
import { recover, treeHeadOfNote, type RecoveryPhase, type RecoveryReport } from './recovery.ts';
import { SegmentFiles } from './segments.ts';
import { StateMarker } from './state-marker.ts';
import { TreeStore } from './tree-store.ts';

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

export interface LogOptions {
  dir: string;
  /** Tree hash; fixed when the log is created (default BLAKE3). */
  hasher?: Hasher;
  /** Most entries in one group commit (default 16384). */
  maxBatchEntries?: number;
  /**
   * Bytes after which a batch closes (default 1.5 MiB: the kernel then copies a batch into the
   * page cache while it is still in the CPU caches; 6 MiB batches cost about twice the system
   * time per record).
   */
  maxBatchBytes?: number;
  /** How long an idle writer waits for more appends before writing (default 0: next tick). */
  maxBatchWaitMs?: number;
  /** Records per segment file, fixed when the log is created (default 2^20). */
  segmentRecords?: number;
  /**
   * Whose log this is (origin, shard id, cluster...): written into meta.json when the log is
   * created, and checked on every open (LogStoreError `wrong_log` when it differs). A log
   * created without one adopts it on its first open with one (`recovery.adoptedIdentity`).
   */
  identity?: LogIdentity;
  /** Re-hash every record and recompute every tile node on open (default: tail only). */
  fullCheck?: boolean;
  /**
   * Open to check and read only (`agdr verify --log`): the same lock and every recovery check,
   * but nothing in the directory is created, written, truncated or synced. A torn tail is left
   * in place and not served; stale tile nodes past the marker are recomputed in memory; the
   * recovery report says what a writable open would repair. Appends and checkpoint saves
   * reject with LogStoreError `read_only`. The directory must hold a log (else `not_found`).
   */
  readOnly?: boolean;
  /** How often the durable marker (and tile files) are synced while appending (default 1000 ms). */
  markIntervalMs?: number;
  onProgress?: (phase: RecoveryPhase, done: number, total: number) => void;
  onBatch?: (stats: BatchStats) => void;
  /**
   * Stored data was found damaged after open (a read, a proof or the scrub): the log then
   * refuses appends and reports it as `failure` (see damage.ts).
   */
  onDamage?: (err: LogCorruptionError) => void;
}

interface PendingCall {
  readonly writer: EntryWriter;
  readonly resolve: (r: AppendedRange) => void;
  readonly reject: (e: unknown) => void;
}

/** The classic builder-per-entry call as an EntryWriter (one copy into the batch buffer). */
class BuilderWriter implements EntryWriter {
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

/** The directory lock as `open` took it. */
interface HeldLock {
  readonly path: string;
  /** Read-only opens: the LOCK content a killed owner left, restored on close. */
  readonly stale: Buffer | undefined;
  /** Whether this open wrote the LOCK file (a read-only check may not be able to). */
  readonly wrote: boolean;
}

class Appended implements AppendedRange {
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

export class MerkleLog {
  readonly dir: string;
  readonly hasher: Hasher;
  /** What recovery found and did when this log was opened. */
  readonly recovery: RecoveryReport;
  readonly #layout: LogLayout;
  readonly #tree: TreeStore;
  readonly #segments: SegmentFiles;
  readonly #marker: StateMarker;
  readonly #checkpoints: CheckpointStore;
  readonly #range: CompactRange;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #waitMs: number;
  readonly #markIntervalMs: number;
  readonly #onBatch: ((stats: BatchStats) => void) | undefined;
  readonly #onDamage: ((err: LogCorruptionError) => void) | undefined;
  /** Damage found in stored data since open: reads of it fail, appends are refused. */
  #damage: LogCorruptionError | undefined;

  #size: number;
  #root: Uint8Array;
  /** Offset just past the last record prepared in the current segment. */
  #segmentEnd: number;
  #queue: PendingCall[] = [];
  #head = 0;
  #running = false;
  #loopDone: Promise<void> = Promise.resolve();
  readonly #inflight = new Set<PreparedBatch>();
  #failed: LogStoreError | undefined;
  #closed = false;
  #lastMark = performance.now();
  #markChain: Promise<void> = Promise.resolve();
  readonly #buffers: BatchBuffer[] = [];
  #checkpointChain: Promise<void> = Promise.resolve();
  /** The directory lock as `open` took it. */
  readonly #lock: HeldLock;

  private constructor(
    opts: LogOptions,
    layout: LogLayout,
    hasher: Hasher,
    stores: {
      tree: TreeStore;
      segments: SegmentFiles;
      marker: StateMarker;
      checkpoints: CheckpointStore;
    },
    recovery: RecoveryReport,
    lock: HeldLock,
  ) {
    this.dir = opts.dir;
    this.#lock = lock;
    this.hasher = hasher;
    this.#layout = layout;
    this.#tree = stores.tree;
    this.#segments = stores.segments;
    this.#marker = stores.marker;
    this.#checkpoints = stores.checkpoints;
    this.recovery = recovery;
    this.#maxEntries = opts.maxBatchEntries ?? 16384;
    this.#maxBytes = opts.maxBatchBytes ?? DEFAULT_BATCH_BYTES;
    this.#waitMs = opts.maxBatchWaitMs ?? 0;
    this.#markIntervalMs = opts.markIntervalMs ?? 1000;
    this.#onBatch = opts.onBatch;
    this.#onDamage = opts.onDamage;
    const size = recovery.size;
    this.#size = size;
    this.#range = CompactRange.restore(hasher, size, stores.tree.nodes(frontierNodeIds(size)));
    this.#root = this.#range.root();
    this.#segmentEnd =
      size % layout.segmentRecords === 0 ? 0 : stores.tree.indexEntry(size - 1).end;
  }

  /**
   * Opens (creating if empty) the log in `opts.dir` and recovers it: torn tail truncated,
   * derived tile nodes repaired, frontier rebuilt, roots checked. Throws LogCorruptionError
   * (code `corrupt`) rather than open a log that contradicts its durable commitments.
   * With `readOnly` it only checks: same lock and checks, nothing written (see LogOptions).
   */
  static async open(opts: LogOptions): Promise<MerkleLog> {
    const hasher = opts.hasher ?? blake3;
    const readOnly = opts.readOnly ?? false;
    const paths = logLayout(opts.dir, SEGMENT_RECORDS);
    if (readOnly) {
      // A check creates nothing: every file a log has once it was first opened must be there.
      const { meta, index, state, checkpointLog, checkpointIndex } = paths;
      const missing = [meta, index, state, checkpointLog, checkpointIndex].find(
        (p) => !fs.existsSync(p),
      );
      if (missing !== undefined)
        throw new LogStoreError('not_found', `${missing}: missing, not a log directory`);
    } else {
      // Explicit modes: a umask of 000 must not make a log world-writable.
      fs.mkdirSync(opts.dir, { recursive: true, mode: DIR_MODE });
    }
    const lockPath = paths.lock;
    // The lock a killed owner left: a read-only open puts it back as it found it on close.
    const staleLock = readOnly && fs.existsSync(lockPath) ? fs.readFileSync(lockPath) : undefined;
    let wrote = true;
    if (readOnly) wrote = acquireReadLock(lockPath);
    else acquireLock(lockPath);
    const lock: HeldLock = { path: lockPath, stale: staleLock, wrote };
    try {
      const { meta, adopted } = loadMeta(
        opts.dir,
        hasher,
        opts.segmentRecords ?? SEGMENT_RECORDS,
        opts.identity,
        readOnly,
      );
      const layout = logLayout(opts.dir, meta.segment_records);
      if (!readOnly) {
        fs.mkdirSync(layout.records, { recursive: true, mode: DIR_MODE });
        fs.mkdirSync(layout.tiles, { recursive: true, mode: DIR_MODE });
      }
      const tree = TreeStore.open(hasher, layout, readOnly);
      const segments = new SegmentFiles(layout);
      const marker = StateMarker.open(layout.state, readOnly);
      const checkpoints = await CheckpointStore.open(layout, readOnly);
      if (!readOnly) for (const d of [layout.dir, layout.records, layout.tiles]) syncDirectory(d);
      const stores = { tree, segments, marker, checkpoints };
      const report = await recover(
        { layout, hasher, ...stores },
        { fullCheck: opts.fullCheck ?? false, onProgress: opts.onProgress, readOnly },
      );
      // Damage an earlier run found is checked again: still there, the open fails.
      const stored: StoredTree = { layout, hasher, tree, segments };
      const cleared = recheckRecordedDamage(stored, report.size);
      if (cleared !== undefined && !readOnly) clearDamage(layout);
      const full = { ...report, cleared, adoptedIdentity: adopted };
      const log = new MerkleLog(opts, layout, hasher, stores, full, lock);
      const mark = marker.mark;
      const behind =
        mark === undefined || mark.size !== log.size || !bytesEqual(mark.root, log.root());
      if (behind && !readOnly) await log.#markDurable();
      return log;
    } catch (err) {
      MerkleLog.#releaseLock(lock);
      throw err;
    }
  }

  /** Releases the directory lock; a stale lock found by a read-only open is put back. */
  static #releaseLock(lock: HeldLock): void {
    releaseLock(lock.path, lock.wrote);
    const staleLock = lock.stale;
    if (staleLock === undefined || !lock.wrote) return;
    try {
      // Exclusive create: an owner that took the lock meanwhile keeps it.
      fs.writeFileSync(lock.path, staleLock, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }

  /** Durable, integrated leaves. */
  get size(): number {
    return this.#size;
  }

  /** Root at `size`. */
  root(): Uint8Array {
    return this.#root.slice();
  }

  /**
   * Appends entries as one unit (all get consecutive sequence numbers, or none if a builder
   * throws) and resolves once they are durable.
   */
  append(entries: readonly EntryBuilder[]): Promise<AppendedEntry[]> {
    return this.appendWithStats(entries).then((r) => r.entries);
  }

  /** `append`, also reporting the group commit the entries went out in (for timing headers). */
  async appendWithStats(
    entries: readonly EntryBuilder[],
  ): Promise<{ entries: AppendedEntry[]; batch: BatchStats }> {
    const r = (await this.appendEntries(new BuilderWriter(entries))) as Appended;
    return { entries: r.entries(), batch: r.batch };
  }

  /**
   * Appends the entries of `writer` as one unit (consecutive sequence numbers, or none if
   * writing one throws), each written straight into the group commit's buffer; resolves once
   * they are durable, with one result for the whole call.
   */
  appendEntries(writer: EntryWriter): Promise<AppendedRange> {
    if (this.recovery.readOnly) return Promise.reject(readOnlyError('append'));
    const failure = this.failure;
    if (failure !== undefined) return Promise.reject(failure);
    if (this.#closed) return Promise.reject(new LogStoreError('closed', 'log is closed'));
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

  /**
   * Record `seq`, checked against its leaf hash: bytes that no longer match are never returned
   * (LogCorruptionError, and the log records the damage and reports it as `failure`).
   */
  async read(seq: number): Promise<Uint8Array> {
    this.#checkSeq(seq);
    const r = readStoredRecord(this.#stored, seq);
    if ('damage' in r) throw this.#damaged(r);
    return r.bytes;
  }

  /**
   * Checks stored records from `from` (at most `count`, within one segment) and the tile nodes
   * they complete; returns how many records were checked. Damage throws as in `read`.
   */
  async verifyStored(from: number, count: number): Promise<number> {
    this.#checkSeq(from);
    const r = checkStoredRange(this.#stored, from, Math.min(count, this.#size - from));
    if (r.found !== undefined) throw this.#damaged(r.found);
    return r.checked;
  }

  /**
   * Why the log can no longer make progress: an earlier write or sync failed (code `failed`:
   * reopen to recover) or stored data was found damaged (code `corrupt`). Undefined while fine.
   */
  get failure(): LogStoreError | undefined {
    return this.#damage ?? this.#failed;
  }

  get #stored(): StoredTree {
    return {
      layout: this.#layout,
      hasher: this.hasher,
      tree: this.#tree,
      segments: this.#segments,
    };
  }

  /** Records damage found after open (once), reports it, and returns the error to throw. */
  #damaged(found: { damage: LogCorruptionError; note: DamageNote }): LogCorruptionError {
    if (this.#damage === undefined) {
      this.#damage = found.damage;
      // Kept beside the log so that the restart it causes does not forget it.
      if (!this.recovery.readOnly) {
        try {
          recordDamage(this.#layout, found.note);
        } catch (err) {
          // The finding stands either way; the error says it will not outlive a restart.
          this.#damage = new LogCorruptionError(
            found.note.file,
            `${found.note.message} (found after open; recording it in ${this.#layout.damage} failed: ${(err as Error).message})`,
          );
        }
      }
      this.#onDamage?.(this.#damage);
    }
    return this.#damage;
  }

  async leafHash(seq: number): Promise<Uint8Array> {
    this.#checkSeq(seq);
    return this.#tree.indexEntry(seq).leafHash;
  }

  async rootAt(size: number): Promise<Uint8Array> {
    this.#checkSize('size', size);
    return size === this.#size ? this.root() : this.#tree.rootAt(size);
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.#checkSize('size', size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new LogStoreError('out_of_range', `leaf index ${index} is not below tree size ${size}`);
    }
    const plan = inclusionPlan(index, size);
    const proof = proofFromNodes(this.hasher, plan, this.#tree.nodes(plan.nodes));
    // The leaf's record must match its index entry, and the path its root: a proof is served
    // only for stored data that checks.
    await this.read(index);
    const root = size === this.#size ? this.#root : this.#tree.rootAt(size);
    const damage = checkInclusion(this.#stored, index, size, proof, root);
    if (damage !== undefined) throw this.#damaged(damage);
    return proof;
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    this.#checkSize('to', to);
    if (!Number.isSafeInteger(from) || from < 1 || from > to) {
      throw new LogStoreError(
        'out_of_range',
        `consistency needs 0 < from <= to, got ${from}, ${to}`,
      );
    }
    const plan = consistencyPlan(from, to);
    return proofFromNodes(this.hasher, plan, this.#tree.nodes(plan.nodes));
  }

  /**
   * Persists a checkpoint note for `size` (sizes never decrease; repeating the latest note is a
   * no-op, a newly signed note at the latest size becomes the latest).
   * A C2SP checkpoint note must carry this log's root at `size`.
   */
  saveCheckpoint(size: number, note: string): Promise<void> {
    if (this.recovery.readOnly) return Promise.reject(readOnlyError('saveCheckpoint'));
    if (this.#closed) return Promise.reject(new LogStoreError('closed', 'log is closed'));
    const run = async (): Promise<void> => {
      this.#checkSize('size', size);
      const head = treeHeadOfNote(note);
      if (
        head !== undefined &&
        (head.size !== size || !bytesEqual(head.root, await this.rootAt(size)))
      ) {
        throw new LogStoreError(
          'bad_argument',
          `checkpoint note does not carry this log's root at size ${size}`,
        );
      }
      // The durable marker must cover a signed size before the signature is kept.
      if ((this.#marker.mark?.size ?? 0) < size) await this.#markDurable();
      await this.#checkpoints.save(size, note);
    };
    const result = this.#checkpointChain.then(run);
    this.#checkpointChain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async checkpointAt(size: number): Promise<string | undefined> {
    return this.#checkpoints.at(size)?.note;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#checkpoints.latest;
  }

  /** Number of checkpoints in the history, and the i-th one (size order). */
  get checkpointCount(): number {
    return this.#checkpoints.count;
  }

  async checkpointByIndex(i: number): Promise<StoredCheckpoint> {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.#checkpoints.count) {
      throw new LogStoreError('out_of_range', `no checkpoint number ${i}`);
    }
    return this.#checkpoints.nth(i);
  }

  /** Finishes every accepted append, syncs the durable marker and releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.recovery.readOnly) return this.#closeReadOnly();
    await this.#loopDone;
    await this.#checkpointChain;
    if (this.#failed === undefined) await this.#markDurable();
    await this.#markChain;
    await this.#segments.close();
    await this.#tree.close();
    await this.#marker.close();
    await this.#checkpoints.close();
    MerkleLog.#releaseLock(this.#lock);
  }

  /** Read-only: nothing was written, so nothing to finish or sync; closes files and the lock. */
  async #closeReadOnly(): Promise<void> {
    await this.#segments.close();
    await this.#tree.close();
    await this.#marker.close();
    await this.#checkpoints.close();
    MerkleLog.#releaseLock(this.#lock);
  }

  #checkSeq(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#size) {
      throw new LogStoreError('out_of_range', `no record ${seq} (log size ${this.#size})`);
    }
  }

  #checkSize(name: string, size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#size) {
      throw new LogStoreError(
        'out_of_range',
        `${name} ${size} is beyond the log size ${this.#size}`,
      );
    }
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
        if (t2 - this.#lastMark >= this.#markIntervalMs) await this.#markDurable();
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
  #markDurable(): Promise<void> {
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

function readOnlyError(what: string): LogStoreError {
  return new LogStoreError('read_only', `${what} refused: the log is open read-only`);
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
