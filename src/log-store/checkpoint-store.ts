// Checkpoint history: every saved checkpoint note, by tree size (non-decreasing: a size repeats
// only when the latest checkpoint is signed again at the same size, e.g. with a newer timestamp;
// the last note saved for a size is the one served for it).
// checkpoints.log holds frames [u32 note length][u48 size + 2 zero bytes][note][u32 CRC32];
// checkpoints.idx holds [u64 size][u64 frame offset] per checkpoint for binary search, so
// lookups need no in-memory history. Both are synced before save() resolves.
// Opened read-only (a check), a torn frame is left in place and frames the index missed are
// indexed in memory only.
import { crc32 } from 'node:zlib';
import { AppendFile } from './append-file.ts';
import { LogStoreError } from './errors.ts';
import type { LogLayout } from './layout.ts';

const HEADER = 12;
const TRAILER = 4;
const IDX_ENTRY = 16;
/** Upper bound on one note; larger frames can only be garbage. */
const MAX_NOTE = 1 << 20;

export interface StoredCheckpoint {
  readonly size: number;
  readonly note: string;
}

function encodeFrame(size: number, note: string): Buffer {
  const body = Buffer.from(note, 'utf8');
  const frame = Buffer.alloc(HEADER + body.length + TRAILER);
  frame.writeUInt32LE(body.length, 0);
  frame.writeUIntLE(size, 4, 6);
  body.copy(frame, HEADER);
  frame.writeUInt32LE(crc32(frame.subarray(4, HEADER + body.length)), HEADER + body.length);
  return frame;
}

export class CheckpointStore {
  readonly #log: AppendFile;
  readonly #idx: AppendFile;
  #latest: StoredCheckpoint | undefined;
  /** Read-only: index entries served from checkpoints.idx, then those found past it. */
  readonly #readOnly: { indexed: number; found: Buffer[] } | undefined;

  private constructor(
    log: AppendFile,
    idx: AppendFile,
    latest: StoredCheckpoint | undefined,
    readOnly?: { indexed: number; found: Buffer[] },
  ) {
    this.#log = log;
    this.#idx = idx;
    this.#latest = latest;
    this.#readOnly = readOnly;
  }

  /**
   * Opens the history, dropping a torn last frame and re-indexing frames the index missed;
   * `readOnly`, both files must exist and are not changed (see the file comment).
   */
  static async open(layout: LogLayout, readOnly = false): Promise<CheckpointStore> {
    const log = AppendFile.open(layout.checkpointLog, readOnly ? 'read' : 'create');
    const idx = AppendFile.open(layout.checkpointIndex, readOnly ? 'read' : 'create');
    let count = Math.floor(idx.length / IDX_ENTRY);
    let latest: { size: number; note: string; end: number } | undefined;
    // The index may run ahead of a torn log (drop those entries) or behind it (add them).
    while (count > 0 && latest === undefined) {
      const entry = idx.read((count - 1) * IDX_ENTRY, IDX_ENTRY);
      const frame = readFrame(log, Number(entry.readBigUInt64LE(8)));
      if (frame !== undefined && frame.size === Number(entry.readBigUInt64LE(0))) latest = frame;
      else count--;
    }
    const found: Buffer[] = [];
    if (!readOnly) await idx.truncate(count * IDX_ENTRY);
    let offset = latest?.end ?? 0;
    for (;;) {
      const frame = readFrame(log, offset);
      if (frame === undefined || (latest !== undefined && frame.size < latest.size)) break;
      if (readOnly) found.push(indexEntry(frame.size, offset));
      else await idx.append(indexEntry(frame.size, offset));
      latest = frame;
      offset = frame.end;
    }
    const head = latest && { size: latest.size, note: latest.note };
    if (readOnly) return new CheckpointStore(log, idx, head, { indexed: count, found });
    if (log.length > offset) await log.truncate(offset);
    await Promise.all([log.datasync(), idx.datasync()]);
    return new CheckpointStore(log, idx, head);
  }

  get latest(): StoredCheckpoint | undefined {
    return this.#latest;
  }

  get count(): number {
    const ro = this.#readOnly;
    return ro === undefined
      ? Math.floor(this.#idx.length / IDX_ENTRY)
      : ro.indexed + ro.found.length;
  }

  /** Index entry i: [u64 size][u64 frame offset]. */
  #entry(i: number): Buffer {
    const ro = this.#readOnly;
    if (ro !== undefined && i >= ro.indexed) return ro.found[i - ro.indexed] as Buffer;
    return this.#idx.read(i * IDX_ENTRY, IDX_ENTRY);
  }

  /** The i-th checkpoint in size order. */
  nth(i: number): StoredCheckpoint {
    const entry = this.#entry(i);
    const frame = readFrame(this.#log, Number(entry.readBigUInt64LE(8)));
    if (frame === undefined)
      throw new LogStoreError('corrupt', `checkpoint frame ${i} is unreadable`);
    return { size: frame.size, note: frame.note };
  }

  /** The checkpoint saved last for exactly `size`, if any. */
  at(size: number): StoredCheckpoint | undefined {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = Number(this.#entry(mid).readBigUInt64LE(0));
      if (s === size) found = mid;
      if (s <= size) lo = mid + 1;
      else hi = mid - 1;
    }
    return found < 0 ? undefined : this.nth(found);
  }

  /**
   * Appends and syncs a checkpoint; sizes must not decrease. Repeating the latest note is a
   * no-op; a different note at the latest size (signed again) is kept and becomes the latest.
   */
  async save(size: number, note: string): Promise<void> {
    if (this.#readOnly !== undefined)
      throw new LogStoreError('read_only', 'checkpoint history is open read-only');
    const latest = this.#latest;
    if (latest !== undefined && size < latest.size) {
      throw new LogStoreError(
        'bad_argument',
        `checkpoint size ${size} is below the latest ${latest.size}`,
      );
    }
    if (latest !== undefined && size === latest.size && note === latest.note) return;
    await this.#append(size, note);
  }

  async #append(size: number, note: string): Promise<void> {
    const offset = this.#log.length;
    await Promise.all([
      this.#log.append(encodeFrame(size, note)),
      this.#idx.append(indexEntry(size, offset)),
    ]);
    await Promise.all([this.#log.datasync(), this.#idx.datasync()]);
    this.#latest = { size, note };
  }

  async close(): Promise<void> {
    await this.#log.close();
    await this.#idx.close();
  }
}

function indexEntry(size: number, offset: number): Buffer {
  const buf = Buffer.alloc(IDX_ENTRY);
  buf.writeBigUInt64LE(BigInt(size), 0);
  buf.writeBigUInt64LE(BigInt(offset), 8);
  return buf;
}

function readFrame(
  log: AppendFile,
  offset: number,
): { size: number; note: string; end: number } | undefined {
  if (offset + HEADER + TRAILER > log.length) return undefined;
  const header = log.read(offset, HEADER);
  const len = header.readUInt32LE(0);
  if (len > MAX_NOTE || offset + HEADER + len + TRAILER > log.length) return undefined;
  const frame = log.read(offset, HEADER + len + TRAILER);
  if (frame.readUInt32LE(HEADER + len) !== crc32(frame.subarray(4, HEADER + len))) return undefined;
  return {
    size: frame.readUIntLE(4, 6),
    note: frame.subarray(HEADER, HEADER + len).toString('utf8'),
    end: offset + HEADER + len + TRAILER,
  };
}
