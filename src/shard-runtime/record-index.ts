// record_id -> seq, for idempotent ingest. Kept in LMDB (the `lmdb` package): an embedded,
// memory-mapped B+tree with prebuilt binaries and lock-free reads that are synchronous (~0.3 µs,
// so the duplicate check needs no await on the hot path). The index is derived data: the log is
// the truth. It is written after each durable append (not awaited by the request), with a
// watermark (records indexed so far) in the same transaction; on open, records past the
// watermark are re-indexed from the log, and an index that disagrees with the log is rebuilt
// from scratch. Commits keep LMDB's default sync, so a power loss can lose the last
// transactions (re-indexed) but not corrupt the index.
//
// Writes run on their own thread (record-index-worker.ts): encoding a put and inserting it cost
// ~0.8 µs of CPU per record, which the thread that owns the log writer cannot spare. Writes of
// consecutive appends are committed together (one commit per FLUSH_MS or FLUSH_IDS, not per
// request); until a commit is visible the ingestor answers repeats from its in-flight table.
import { CodedError } from '../core/errors.ts';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { copyBytes, startOf, utf8, withRoom } from '../core/bytes.ts';
import type { MerkleLog } from '../log-store/index.ts';
import {
  openIndexDb,
  WATERMARK,
  type IndexDb,
  type IndexWorkerReply,
  type IndexWorkerRequest,
} from './record-index-db.ts';
import { packIds, type IdList } from './record-ids.ts';

const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './record-index-worker.ts' : './record-index-worker.js',
  import.meta.url,
);
const REINDEX_CHUNK = 10_000;
/** Index writes wait at most this long to share one commit with later ones. */
const FLUSH_MS = 20;
/** ...or until this many record_ids are queued (a re-index chunk commits at once). */
const FLUSH_IDS = 8192;

export class RecordIndexError extends CodedError<'record_index_failed'> {
  override name = 'RecordIndexError';
  constructor(message: string) {
    super('record_index_failed', message);
  }
}

/** The record_id stored in an envelope (the log's bytes are canonical JSON). */
export function recordIdOfEnvelope(bytes: Uint8Array): string {
  const env = JSON.parse(utf8.decode(bytes)) as { decision?: { record_id?: unknown } };
  const id = env.decision?.record_id;
  if (typeof id !== 'string') throw new TypeError('envelope has no decision.record_id');
  return id;
}

/** Ids queued for the next commit: copied (the batches they came from move on). */
class PendingWrite {
  keys: Uint8Array = new Uint8Array(64 * 1024);
  ends: number[] = [];
  runs: [number, number][] = [];
  readonly waiting = Promise.withResolvers<void>();

  get count(): number {
    return this.ends.length;
  }

  add(list: IdList, items: readonly number[], first: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last[0] + last[1] === first) last[1] += items.length;
    else this.runs.push([first, items.length]);
    let at = this.ends.length === 0 ? 0 : (this.ends[this.ends.length - 1] as number);
    for (const i of items) {
      const start = startOf(list.idEnds, i);
      const end = list.idEnds[i] as number;
      this.keys = withRoom(this.keys, at, at + end - start);
      at = copyBytes(list.ids, start, end, this.keys, at);
      this.ends.push(at);
    }
  }
}

export class RecordIndex {
  readonly #root: RootDatabase;
  readonly #db: IndexDb;
  readonly #worker: Worker;
  #pending = new PendingWrite();
  #timer: NodeJS.Timeout | undefined;
  /** Commits sent to the writer and not yet answered, by message id (answered in order). */
  readonly #sent = new Map<number, PromiseWithResolvers<void>>();
  #nextId = 1;
  /** Set once a write failed or the writer thread died: every later write fails with it. */
  #failed: RecordIndexError | undefined;
  #closing = false;
  readonly #exited: Promise<void>;

  private constructor(dir: string) {
    ({ root: this.#root, db: this.#db } = openIndexDb(dir));
    this.#worker = new Worker(WORKER_URL, { workerData: { dir }, name: 'agdr-index' });
    this.#worker.unref();
    this.#worker.on('message', (msg: IndexWorkerReply) => {
      if (!('id' in msg)) return;
      const waiting = this.#sent.get(msg.id);
      this.#sent.delete(msg.id);
      if (msg.error !== undefined) {
        this.#fail(`record_id index commit failed: ${msg.error}`);
        waiting?.reject(this.#failed);
        return;
      }
      // The next lookup must see this commit: in-flight ids are dropped once it resolves.
      this.#root.resetReadTxn();
      waiting?.resolve();
    });
    this.#worker.on('error', (err) => this.#fail(`record_id index writer failed: ${err.message}`));
    this.#exited = new Promise((resolve) =>
      this.#worker.once('exit', (code) => {
        if (!this.#closing) this.#fail(`record_id index writer exited (code ${code})`);
        resolve();
      }),
    );
  }

  /** Opens the index in `dir` and brings it level with `log`. */
  static async open(dir: string, log: MerkleLog, logger: Logger): Promise<RecordIndex> {
    let index = new RecordIndex(dir);
    let from = index.#watermark();
    if (from > log.size || !(await index.#agreesWith(log, from))) {
      logger.warn(
        { indexed: from, logSize: log.size },
        'record_id index disagrees with the log; rebuilding',
      );
      await index.close();
      fs.rmSync(dir, { recursive: true, force: true });
      index = new RecordIndex(dir);
      from = 0;
    }
    if (from < log.size) {
      logger.info({ from, to: log.size }, 'indexing record_ids from the log');
      try {
        await index.#reindex(log, from);
      } catch (err) {
        // Its writer thread and environment go with it: a start that failed here (a full
        // disk, say) must end its process, not linger holding the index's files.
        await index
          .close()
          .catch((closeErr: unknown) =>
            logger.warn({ err: (closeErr as Error).message }, 'record_id index close failed'),
          );
        throw err;
      }
    }
    return index;
  }

  async #reindex(log: MerkleLog, from: number): Promise<void> {
    for (let start = from; start < log.size; start += REINDEX_CHUNK) {
      const end = Math.min(log.size, start + REINDEX_CHUNK);
      const ids: string[] = [];
      for (let seq = start; seq < end; seq++) ids.push(recordIdOfEnvelope(await log.read(seq)));
      await this.add(
        packIds(ids),
        ids.map((_, i) => i),
        start,
      );
    }
  }

  #watermark(): number {
    return (this.#db.get(WATERMARK) as number | undefined) ?? 0;
  }

  async #agreesWith(log: MerkleLog, indexed: number): Promise<boolean> {
    if (indexed === 0) return true;
    const last = indexed - 1;
    return this.get(recordIdOfEnvelope(await log.read(last))) === last;
  }

  /**
   * The sequence number of a record_id (as a string or its bytes: LMDB's key encoding writes a
   * valid record_id as exactly its ASCII bytes), if it is in the log.
   */
  get(recordId: string | Uint8Array): number | undefined {
    return this.#db.get(recordId);
  }

  /**
   * Records that id items[k] of `list` has seq first + k; callers add durable records in log
   * order. Resolves when the LMDB transaction holding them committed and is visible to `get`
   * (within FLUSH_MS, shared with later adds); rejects with RecordIndexError if it failed.
   */
  add(list: IdList, items: readonly number[], first: number): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new RecordIndexError('record_id index is closed'));
    const pending = this.#pending;
    pending.add(list, items, first);
    if (pending.count >= FLUSH_IDS) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS);
    return pending.waiting.promise;
  }

  /** Sends every queued write to the writer as one transaction. */
  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    if (pending.count === 0) return;
    this.#pending = new PendingWrite();
    if (this.#failed !== undefined) {
      pending.waiting.reject(this.#failed);
      return;
    }
    const id = this.#nextId++;
    this.#sent.set(id, pending.waiting);
    const keys = pending.keys;
    const ends = Uint32Array.from(pending.ends);
    const msg: IndexWorkerRequest = { type: 'write', id, keys, ends, runs: pending.runs };
    this.#worker.postMessage(msg, [keys.buffer as ArrayBuffer, ends.buffer as ArrayBuffer]);
  }

  #fail(message: string): void {
    this.#failed ??= new RecordIndexError(message);
    for (const waiting of this.#sent.values()) waiting.reject(this.#failed);
    this.#sent.clear();
  }

  /**
   * Why the index can no longer be written, once a write failed or its thread died (undefined
   * while it is fine). The records are safe in the log; a restart re-indexes them.
   */
  get failure(): RecordIndexError | undefined {
    return this.#failed;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#flush();
    await Promise.allSettled([...this.#sent.values()].map((w) => w.promise));
    if (this.#failed === undefined) {
      // Referenced while it closes: otherwise nothing keeps the process alive to see it exit,
      // and a shutdown would end here, before the log is closed.
      this.#worker.ref();
      this.#worker.postMessage({ type: 'close' } satisfies IndexWorkerRequest);
      await this.#exited;
    } else {
      await this.#worker.terminate();
    }
    await this.#root.close();
  }
}
