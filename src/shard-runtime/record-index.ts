// record_id -> seq, for idempotent ingest. Kept in LMDB (the `lmdb` package): an embedded,
// memory-mapped B+tree with prebuilt binaries, lock-free reads that are synchronous (~1 µs, so
// the duplicate check needs no await on the hot path) and batched asynchronous writes that
// commit off the event loop. The index is derived data: the log is the truth. It is written
// after each durable append (not awaited by the request), with a watermark (records indexed so
// far) in the same transaction; on open, records past the watermark are re-indexed from the log,
// and an index that disagrees with the log is rebuilt from scratch. Commits keep LMDB's default
// sync, so a power loss can lose the last transactions (re-indexed) but not corrupt the index.
// Writes of consecutive appends are committed together (one LMDB commit and fsync per
// FLUSH_MS, not per request): until then the ingestor answers repeats from its in-flight map.
import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { utf8 } from '../core/bytes.ts';
import type { MerkleLog } from '../log-store/index.ts';
import { idAt, packIds, type IdList } from './record-ids.ts';

// Not a valid record_id (those match /^[A-Za-z0-9._:-]+$/), so it cannot collide.
const WATERMARK = '\u0000indexed';
const REINDEX_CHUNK = 10_000;
/** Index writes wait at most this long to share one commit with later ones. */
const FLUSH_MS = 20;
/** ...or until this many record_ids are queued (a re-index chunk commits at once). */
const FLUSH_IDS = 8192;

/** The record_id stored in an envelope (the log's bytes are canonical JSON). */
export function recordIdOfEnvelope(bytes: Uint8Array): string {
  const env = JSON.parse(utf8.decode(bytes)) as { decision?: { record_id?: unknown } };
  const id = env.decision?.record_id;
  if (typeof id !== 'string') throw new TypeError('envelope has no decision.record_id');
  return id;
}

export class RecordIndex {
  readonly #root: RootDatabase;
  readonly #db: Database<number, string | Uint8Array>;
  /** Writes queued for the next commit, in log order, and who waits for it. */
  #queue: { list: IdList; items: readonly number[]; first: number }[] = [];
  #queued = 0;
  #waiting: PromiseWithResolvers<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The last commit started (commits run in order). */
  #committed: Promise<void> = Promise.resolve();

  private constructor(root: RootDatabase) {
    this.#root = root;
    this.#db = root as unknown as Database<number, string | Uint8Array>;
  }

  /** Opens the index in `dir` and brings it level with `log`. */
  static async open(dir: string, log: MerkleLog, logger: Logger): Promise<RecordIndex> {
    let index = RecordIndex.#openAt(dir);
    let from = index.#watermark();
    if (from > log.size || !(await index.#agreesWith(log, from))) {
      logger.warn(
        { indexed: from, logSize: log.size },
        'record_id index disagrees with the log; rebuilding',
      );
      await index.close();
      fs.rmSync(dir, { recursive: true, force: true });
      index = RecordIndex.#openAt(dir);
      from = 0;
    }
    if (from < log.size) {
      logger.info({ from, to: log.size }, 'indexing record_ids from the log');
      for (let start = from; start < log.size; start += REINDEX_CHUNK) {
        const end = Math.min(log.size, start + REINDEX_CHUNK);
        const ids: string[] = [];
        for (let seq = start; seq < end; seq++) ids.push(recordIdOfEnvelope(await log.read(seq)));
        await index.add(
          packIds(ids),
          ids.map((_, i) => i),
          start,
        );
      }
    }
    return index;
  }

  static #openAt(dir: string): RecordIndex {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    return new RecordIndex(open({ path: dir, compression: false }));
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
   * order. Resolves when the LMDB transaction holding them committed (within FLUSH_MS, shared
   * with later adds).
   */
  add(list: IdList, items: readonly number[], first: number): Promise<void> {
    this.#queue.push({ list, items, first });
    this.#queued += items.length;
    const waiting = (this.#waiting ??= Promise.withResolvers<void>());
    if (this.#queued >= FLUSH_IDS) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS);
    return waiting.promise;
  }

  /** Commits every queued write in one transaction, the watermark last. */
  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const queue = this.#queue;
    const waiting = this.#waiting;
    this.#queue = [];
    this.#queued = 0;
    this.#waiting = undefined;
    const last = queue[queue.length - 1];
    if (last === undefined || waiting === undefined) return;
    this.#committed = this.#db.transaction(() => {
      for (const { list, items, first } of queue)
        for (let k = 0; k < items.length; k++)
          void this.#db.put(idAt(list, items[k] as number), first + k);
      void this.#db.put(WATERMARK, last.first + last.items.length);
    });
    this.#committed.then(waiting.resolve, waiting.reject);
  }

  async close(): Promise<void> {
    this.#flush();
    await this.#committed.catch(() => undefined); // a failed commit was reported to its waiters
    await this.#root.close();
  }
}
