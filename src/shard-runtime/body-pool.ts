// Request body buffers reused across requests. A batch body is megabytes: allocated per request,
// each one is new external memory, which under full ingest made V8 run a full collection every
// few hundred milliseconds on the main thread (and zero-fill and page-fault every body). A body
// is given back only once nothing reads it any more: the request handler, and the ingestor
// while its decisions are in flight (it compares repeats with their bytes), each hold a lease.
// A buffer is pooled at most once per lease and never while any holder remains.

/** Smallest buffer kept; sizes are powers of two from here, so a freed buffer fits many bodies. */
const MIN_BUFFER = 64 * 1024;

export class BodyPool {
  /** Free buffers by size (a power of two). */
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  /** At most this many bytes are kept free; larger buffers than this are never kept. */
  readonly maxFreeBytes: number;

  constructor(maxFreeBytes: number) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /** Bytes held by free buffers. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of at least `n` bytes: a free one of its size class, else a new one. */
  take(n: number): ArrayBuffer {
    const size = sizeClass(n);
    const buf = this.#free.get(size)?.pop();
    if (buf === undefined) return new ArrayBuffer(size);
    this.#freeBytes -= size;
    return buf;
  }

  /** Keeps `buf` for reuse, if it is a whole pooled size, not detached, and there is room. */
  give(buf: ArrayBuffer): void {
    const size = buf.byteLength;
    if (buf.detached || size !== sizeClass(size) || this.#freeBytes + size > this.maxFreeBytes)
      return;
    let list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, (list = []));
    list.push(buf);
    this.#freeBytes += size;
  }
}

function sizeClass(n: number): number {
  return n <= MIN_BUFFER ? MIN_BUFFER : 2 ** Math.ceil(Math.log2(n));
}

/**
 * Who still reads a request body. Made with one hold (the request's); `hold` adds one,
 * `release` drops one, and when none is left the buffer goes back to its pool (once: a lease
 * whose holds reached zero never pools again, so a late holder cannot hand out a buffer twice).
 */
export class BodyLease {
  /** The body (a view of the whole buffer's start); replaced when it comes back from a worker. */
  bytes: Uint8Array;
  readonly #pool: BodyPool | undefined;
  /** A buffer of the same pool read with the body (its re-serialized decisions), if any. */
  #companion: ArrayBuffer | undefined;
  #holds = 1;
  #ended = false;

  constructor(bytes: Uint8Array, pool: BodyPool | undefined) {
    this.bytes = bytes;
    this.#pool = pool;
  }

  hold(): void {
    this.#holds++;
  }

  /** `buf` is read as long as the body is, and goes back to the pool with it. */
  keepWith(buf: ArrayBuffer): void {
    this.#companion = buf;
  }

  release(): void {
    if (--this.#holds > 0 || this.#ended) return;
    this.#ended = true;
    this.#pool?.give(this.bytes.buffer as ArrayBuffer);
    if (this.#companion !== undefined) this.#pool?.give(this.#companion);
  }
}
