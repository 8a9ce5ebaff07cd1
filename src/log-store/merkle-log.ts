// MerkleLog: a durable, append-only RFC 9162 Merkle log in one directory. append() resolves
// once its entries are on disk (group commit: every append waiting while a batch is written
// joins the next batch, and one fdatasync per file covers the batch); proofs and roots at any
// past size are read from stored tile nodes, so memory stays flat in the number of records.
import { blake3, type Hasher } from '../core/hash.ts';
import { consistencyPlan, inclusionPlan, proofFromNodes } from '../core/merkle/nodes.ts';
import { bytesEqual } from '../core/bytes.ts';
import type { CheckpointStore, StoredCheckpoint } from './checkpoint-store.ts';
import {
  checkInclusion,
  checkStoredRange,
  readStoredRecord,
  recordDamage,
  type DamageNote,
  type StoredTree,
} from './damage.ts';
import { LogCorruptionError, LogStoreError } from './errors.ts';
import type { LogLayout } from './layout.ts';
import type { LogIdentity } from './meta.ts';
import {
  Appended,
  BuilderWriter,
  DEFAULT_BATCH_BYTES,
  GroupCommit,
  type AppendedEntry,
  type AppendedRange,
  type BatchStats,
  type EntryBuilder,
  type EntryWriter,
} from './group-commit.ts';
import { openLogDirectory, releaseHeldLock, type HeldLock, type OpenedLog } from './open-log.ts';
import { treeHeadOfNote, type RecoveryPhase, type RecoveryReport } from './recovery.ts';
import type { SegmentFiles } from './segments.ts';
import type { StateMarker } from './state-marker.ts';
import type { TreeStore } from './tree-store.ts';

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

export class MerkleLog {
  readonly dir: string;
  readonly hasher: Hasher;
  /** What opening found and repaired. */
  readonly recovery: RecoveryReport;
  readonly #layout: LogLayout;
  readonly #tree: TreeStore;
  readonly #segments: SegmentFiles;
  readonly #marker: StateMarker;
  readonly #checkpoints: CheckpointStore;
  readonly #commit: GroupCommit;
  readonly #onDamage: ((err: LogCorruptionError) => void) | undefined;
  /** Damage found in stored data since open: reads of it fail, appends are refused. */
  #damage: LogCorruptionError | undefined;
  #closed = false;
  #checkpointChain: Promise<void> = Promise.resolve();
  /** The directory lock as `open` took it. */
  readonly #lock: HeldLock;

  private constructor(opts: LogOptions, opened: OpenedLog) {
    const { layout, hasher, stores, recovery, lock } = opened;
    this.dir = opts.dir;
    this.#lock = lock;
    this.hasher = hasher;
    this.#layout = layout;
    this.#tree = stores.tree;
    this.#segments = stores.segments;
    this.#marker = stores.marker;
    this.#checkpoints = stores.checkpoints;
    this.recovery = recovery;
    this.#onDamage = opts.onDamage;
    this.#commit = new GroupCommit({
      hasher,
      layout,
      tree: stores.tree,
      segments: stores.segments,
      marker: stores.marker,
      size: recovery.size,
      maxEntries: opts.maxBatchEntries ?? 16384,
      maxBytes: opts.maxBatchBytes ?? DEFAULT_BATCH_BYTES,
      waitMs: opts.maxBatchWaitMs ?? 0,
      markIntervalMs: opts.markIntervalMs ?? 1000,
      onBatch: opts.onBatch,
    });
  }

  /**
   * Opens (creating if empty) the log in `opts.dir` and recovers it: torn tail truncated,
   * derived tile nodes repaired, frontier rebuilt, roots checked. Throws LogCorruptionError
   * (code `corrupt`) rather than open a log that contradicts its durable commitments.
   * With `readOnly` it only checks: same lock and checks, nothing written (see LogOptions).
   */
  static async open(opts: LogOptions): Promise<MerkleLog> {
    const opened = await openLogDirectory(opts, opts.hasher ?? blake3);
    try {
      const log = new MerkleLog(opts, opened);
      const mark = opened.stores.marker.mark;
      const behind =
        mark === undefined || mark.size !== log.size || !bytesEqual(mark.root, log.root());
      if (behind && !(opts.readOnly ?? false)) await log.#commit.markDurable();
      return log;
    } catch (err) {
      releaseHeldLock(opened.lock);
      throw err;
    }
  }

  /** Durable, integrated leaves. */
  get size(): number {
    return this.#commit.size;
  }

  /** Root at `size`. */
  root(): Uint8Array {
    return this.#commit.root.slice();
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
    return this.#commit.enqueue(writer);
  }

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
    const r = checkStoredRange(this.#stored, from, Math.min(count, this.#commit.size - from));
    if (r.found !== undefined) throw this.#damaged(r.found);
    return r.checked;
  }

  /**
   * Why the log can no longer make progress: an earlier write or sync failed (code `failed`:
   * reopen to recover) or stored data was found damaged (code `corrupt`). Undefined while fine.
   */
  get failure(): LogStoreError | undefined {
    return this.#damage ?? this.#commit.failed;
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
    return size === this.#commit.size ? this.root() : this.#tree.rootAt(size);
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
    const root = size === this.#commit.size ? this.#commit.root : this.#tree.rootAt(size);
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
   * The note must be a signed C2SP checkpoint carrying this log's root at `size`.
   */
  saveCheckpoint(size: number, note: string): Promise<void> {
    if (this.recovery.readOnly) return Promise.reject(readOnlyError('saveCheckpoint'));
    if (this.#closed) return Promise.reject(new LogStoreError('closed', 'log is closed'));
    const run = async (): Promise<void> => {
      this.#checkSize('size', size);
      const head = treeHeadOfNote(note, 'checkpoint note');
      if (head.size !== size || !bytesEqual(head.root, await this.rootAt(size))) {
        throw new LogStoreError(
          'bad_argument',
          `checkpoint note does not carry this log's root at size ${size}`,
        );
      }
      // The durable marker must cover a signed size before the signature is kept.
      if ((this.#marker.mark?.size ?? 0) < size) await this.#commit.markDurable();
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
    await this.#commit.drain();
    await this.#checkpointChain;
    if (this.#commit.failed === undefined) await this.#commit.markDurable();
    await this.#commit.settled();
    await this.#segments.close();
    await this.#tree.close();
    await this.#marker.close();
    await this.#checkpoints.close();
    releaseHeldLock(this.#lock);
  }

  /** Read-only: nothing was written, so nothing to finish or sync; closes files and the lock. */
  async #closeReadOnly(): Promise<void> {
    await this.#segments.close();
    await this.#tree.close();
    await this.#marker.close();
    await this.#checkpoints.close();
    releaseHeldLock(this.#lock);
  }

  #checkSeq(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#commit.size) {
      throw new LogStoreError('out_of_range', `no record ${seq} (log size ${this.#commit.size})`);
    }
  }

  #checkSize(name: string, size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#commit.size) {
      throw new LogStoreError(
        'out_of_range',
        `${name} ${size} is beyond the log size ${this.#commit.size}`,
      );
    }
  }
}

function readOnlyError(what: string): LogStoreError {
  return new LogStoreError('read_only', `${what} refused: the log is open read-only`);
}
