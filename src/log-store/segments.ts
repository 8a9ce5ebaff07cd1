// Record data: segment files of layout.segmentRecords records each, records stored back to back with
// no framing (the leaf index holds each record's end offset and leaf hash, which also checks
// the bytes). The writer owns the file it appends to; reads go through a small cache of
// read-only descriptors so they never interfere with it.
import fs from 'node:fs';
import { AppendFile, readExactly, syncDirectory } from './append-file.ts';
import { segmentPath, type LogLayout } from './layout.ts';

const READ_CACHE = 8;

export class SegmentFiles {
  readonly #layout: LogLayout;
  readonly #readers = new Map<number, number>();
  /** The segments the writer appends to: the current one and, across a boundary, the previous. */
  readonly #writers = new Map<number, AppendFile>();
  /** Writers retired when the writer moved on; closed at close() (a sync may still use them). */
  #retired: AppendFile[] = [];
  /** A segment file was created since the directory was last synced. */
  #created = false;

  constructor(layout: LogLayout) {
    this.#layout = layout;
  }

  /** Segment numbers present on disk, ascending. */
  listOnDisk(): number[] {
    const names = fs.existsSync(this.#layout.records) ? fs.readdirSync(this.#layout.records) : [];
    const out: number[] = [];
    for (const name of names) {
      const m = /^(\d{16})\.seg$/.exec(name);
      if (m !== null) out.push(Number(m[1]) / this.#layout.segmentRecords);
    }
    return out.sort((a, b) => a - b);
  }

  path(segment: number): string {
    return segmentPath(this.#layout, segment);
  }

  /** The file the writer appends to for `segment` (created if missing); older writers close. */
  writer(segment: number): AppendFile {
    const open = this.#writers.get(segment);
    if (open !== undefined) return open;
    if (!fs.existsSync(this.path(segment))) this.#created = true;
    const f = AppendFile.open(this.path(segment), 'create');
    this.#writers.set(segment, f);
    for (const [s, w] of this.#writers) {
      if (s < segment) {
        this.#writers.delete(s);
        this.#retired.push(w);
      }
    }
    return f;
  }

  /** Makes newly created segment files' directory entries durable. */
  syncCreated(): void {
    if (!this.#created) return;
    this.#created = false;
    syncDirectory(this.#layout.records);
  }

  /** Closes writers of finished segments once no write or sync can still use them. */
  async closeRetired(): Promise<void> {
    const retired = this.#retired;
    this.#retired = [];
    for (const w of retired) await w.close();
  }

  /** Reads `length` bytes at `position` of `segment`. */
  read(segment: number, position: number, length: number): Buffer {
    let fd = this.#readers.get(segment);
    if (fd === undefined) {
      fd = fs.openSync(this.path(segment), 'r');
      this.#readers.set(segment, fd);
      if (this.#readers.size > READ_CACHE) {
        const [oldest, oldFd] = this.#readers.entries().next().value as [number, number];
        this.#readers.delete(oldest);
        fs.closeSync(oldFd);
      }
    }
    return readExactly(fd, this.path(segment), position, length);
  }

  /** Size of a segment file on disk (0 when missing). */
  sizeOnDisk(segment: number): number {
    try {
      return fs.statSync(this.path(segment)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  /**
   * Cuts a segment to `length` bytes, durably: records appended after the cut must never share
   * the file with old bytes a lost truncation would bring back (recovery would read them as
   * damage, not as a torn tail).
   */
  async truncate(segment: number, length: number): Promise<void> {
    this.dropReader(segment);
    const file = await fs.promises.open(this.path(segment), 'r+');
    try {
      await file.truncate(length);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** Deletes a whole segment file (recovery removes segments past the durable end). */
  async remove(segment: number): Promise<void> {
    this.dropReader(segment);
    const w = this.#writers.get(segment);
    if (w !== undefined) {
      this.#writers.delete(segment);
      await w.close();
    }
    await fs.promises.rm(this.path(segment), { force: true });
  }

  private dropReader(segment: number): void {
    const fd = this.#readers.get(segment);
    if (fd !== undefined) {
      this.#readers.delete(segment);
      fs.closeSync(fd);
    }
  }

  async close(): Promise<void> {
    for (const fd of this.#readers.values()) fs.closeSync(fd);
    this.#readers.clear();
    for (const w of this.#writers.values()) await w.close();
    this.#writers.clear();
    await this.closeRetired();
  }
}
