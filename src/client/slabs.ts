// Where the client keeps the bytes of the decisions it holds: each shard's lane copies a
// decision, when it is queued, into its current slab (a 1 MiB buffer, each line followed by its
// newline), and a batch's request body is the slab ranges its decisions fill, written as they
// are. A slab goes back to the pool when the last decision in it settles or moves to another
// lane. So what the client holds is its in-flight decisions once, in a few reused buffers: the
// input's read chunks are garbage as soon as their lines are queued (they die young), and no
// per-request body is allocated, so no buffer churn builds up ahead of the garbage collector.
import { rangeOf } from '../core/bytes.ts';

export const SLAB_BYTES = 1024 * 1024;

export class Slab {
  readonly buf: Buffer;
  /** Bytes written so far. */
  used = 0;
  /** Decisions whose bytes are in this slab. */
  refs = 0;
  /** No longer a lane's current slab: it returns to the pool once `refs` is 0. */
  sealed = false;
  readonly #pool: SlabPool;

  constructor(buf: Buffer, pool: SlabPool) {
    this.buf = buf;
    this.#pool = pool;
  }

  /** Copies the line src[from, from + size) and a newline in; where the line now lies. */
  append(src: Uint8Array, from: number, size: number): number {
    const at = this.used;
    this.buf.set(rangeOf(src, from, from + size), at);
    this.buf[at + size] = 0x0a;
    this.used = at + size + 1;
    this.refs++;
    return at;
  }

  fits(bytes: number): boolean {
    return this.used + bytes + 1 <= this.buf.length;
  }

  release(): void {
    if (--this.refs === 0 && this.sealed) this.#pool.give(this);
  }

  seal(): void {
    this.sealed = true;
    if (this.refs === 0) this.#pool.give(this);
  }
}

export class SlabPool {
  readonly #free: Buffer[] = [];
  readonly #keep: number;

  /** Keeps at most `keep` free slabs for reuse (the rest are left to the garbage collector). */
  constructor(keep: number) {
    this.#keep = keep;
  }

  /** A slab with room for a line of `bytes` (a line larger than a slab gets its own). */
  take(bytes: number): Slab {
    if (bytes + 1 > SLAB_BYTES) return new Slab(Buffer.allocUnsafeSlow(bytes + 1), this);
    return new Slab(this.#free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES), this);
  }

  give(slab: Slab): void {
    if (slab.buf.length === SLAB_BYTES && this.#free.length < this.#keep) {
      this.#free.push(slab.buf);
    }
  }
}

/**
 * The NDJSON body of a batch whose lines lie in slabs: one part per run of lines that lie one
 * after the other (usually one or two parts per request).
 */
export function slabBody(
  items: readonly { buf: Uint8Array; at: number; size: number; slab: Slab | undefined }[],
): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let buf: Buffer | undefined;
  let start = 0;
  let end = 0;
  for (const item of items) {
    const { at, size, slab } = item;
    if (slab === undefined || slab.buf !== item.buf) {
      throw new Error('a queued decision is not in a slab');
    }
    if (slab.buf === buf && at === end) {
      end = at + size + 1;
      continue;
    }
    if (buf !== undefined) parts.push(buf.subarray(start, end));
    buf = slab.buf;
    start = at;
    end = at + size + 1;
  }
  if (buf !== undefined) parts.push(buf.subarray(start, end));
  return parts;
}
