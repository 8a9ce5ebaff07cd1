// Reusable buffers for large response bodies (a batch's receipts run to megabytes). Every
// ArrayBuffer allocated on the main thread counts towards V8's external-memory limit, and each
// time ~64 MB of it has accumulated V8 starts a full mark-compact; at full ingest fresh response
// buffers were about a seventh of that memory, and reusing them took a tenth of the full
// collections away (docs/PERFORMANCE.md). A buffer is handed out for one
// response and given back once the response has been handed to the OS ('finish'), never
// earlier; a response that does not finish simply drops its buffer. Bodies are sent as the
// written prefix only, so nothing of an earlier response is ever sent.

/** Responses smaller than this are not worth pooling. */
const MIN_POOLED = 64 * 1024;

export class BufferPool {
  readonly #free: Buffer[] = [];
  #freeBytes = 0;
  readonly #maxBytes: number;

  /** `maxBytes`: most bytes kept while not in use. */
  constructor(maxBytes = 32 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes kept for reuse now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of at least `size` bytes (uninitialized: write before sending). */
  take(size: number): Buffer {
    if (size < MIN_POOLED) return Buffer.allocUnsafe(size);
    const free = this.#free;
    for (let i = 0; i < free.length; i++) {
      const b = free[i] as Buffer;
      if (b.length >= size) {
        free.splice(i, 1);
        this.#freeBytes -= b.length;
        return b;
      }
    }
    // Rounded up to a power of two so that similar responses can share buffers; never a slice
    // of Node's shared small-buffer pool.
    return Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(size)));
  }

  /** Returns a buffer from `take` once nothing refers to its bytes any more. */
  give(buffer: Buffer): void {
    if (buffer.length < MIN_POOLED) return;
    if (this.#freeBytes + buffer.length > this.#maxBytes) return;
    this.#free.push(buffer);
    this.#freeBytes += buffer.length;
  }
}
