// One append-only file on a raw descriptor: opened synchronously (so the single writer can
// create files without yielding), appends take their position synchronously (several writes can
// be in flight, in order), writes and syncs run on the thread pool, and small positional reads
// are synchronous (page-cache hot reads are faster inline than through the pool).
import fs from 'node:fs';
import { promisify } from 'node:util';

const writeAsync = promisify(fs.write);
const fdatasyncAsync = promisify(fs.fdatasync);
const ftruncateAsync = promisify(fs.ftruncate);
const closeAsync = promisify(fs.close);

/** Appends up to this size are written inline (synchronously) instead of on the thread pool. */
const INLINE_WRITE_MAX = 64 * 1024;

function writeFullySync(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length;) {
    done += fs.writeSync(fd, data, done, data.length - done, position + done);
  }
}

export class AppendFile {
  readonly path: string;
  readonly #fd: number;
  #length: number;

  private constructor(path: string, fd: number, length: number) {
    this.path = path;
    this.#fd = fd;
    this.#length = length;
  }

  /**
   * Opens an existing file for reading and writing (`write`), creating it if missing
   * (`create`), or for reading only (`read`: a check of a log, which needs no write access;
   * writes then fail with EBADF).
   */
  static open(path: string, mode: 'create' | 'write' | 'read'): AppendFile {
    const { O_RDWR, O_CREAT, O_RDONLY } = fs.constants;
    const flags = mode === 'read' ? O_RDONLY : mode === 'create' ? O_RDWR | O_CREAT : O_RDWR;
    const fd = fs.openSync(path, flags, 0o644);
    return new AppendFile(path, fd, fs.fstatSync(fd).size);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends `data`; the position is taken now, the bytes land when the promise resolves. */
  append(data: Uint8Array): Promise<void> {
    const position = this.#length;
    this.#length += data.length;
    if (data.length <= INLINE_WRITE_MAX) {
      // A small write into the page cache costs a few µs inline; through the thread pool it
      // costs a thread wake-up and a completion callback, several times more CPU.
      try {
        writeFullySync(this.#fd, data, position);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.#writeFully(data, position);
  }

  /** Overwrites bytes at `position` (recovery repairs derived data this way). */
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    if (position + data.length > this.#length) this.#length = position + data.length;
    await this.#writeFully(data, position);
  }

  async #writeFully(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await writeAsync(
        this.#fd,
        data,
        done,
        data.length - done,
        position + done,
      );
      done += bytesWritten;
    }
  }

  /** Reads exactly `length` bytes at `position` (throws on a short read). */
  read(position: number, length: number): Buffer {
    return readExactly(this.#fd, this.path, position, length);
  }

  datasync(): Promise<void> {
    return fdatasyncAsync(this.#fd);
  }

  async truncate(length: number): Promise<void> {
    await ftruncateAsync(this.#fd, length);
    this.#length = length;
  }

  close(): Promise<void> {
    return closeAsync(this.#fd);
  }
}

/** Reads exactly `length` bytes at `position` of an open descriptor. */
export function readExactly(fd: number, path: string, position: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new RangeError(`${path}: short read of ${length} bytes at ${position}`);
    done += n;
  }
  return out;
}

/** fsyncs a directory so that entries created or removed in it are durable. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
