// One shard's queue of decisions waiting to be sent. A decision waits at most `lingerMs` for
// company; a full batch (by count or bytes) goes at once; at most `maxRequests` requests are
// in flight per shard, and whatever queued meanwhile goes as one batch when a request ends.
// That is group commit seen from the client: the slower the shard, the bigger the batches.
import type { ReadyDecision } from './in-flight.ts';
import type { Slab, SlabPool } from './slabs.ts';

export interface LaneLimits {
  lingerMs: number;
  maxBatchDecisions: number;
  maxBatchBytes: number;
  maxRequests: number;
}

export class Lane {
  readonly shard: number;
  url: string;
  readonly #limits: LaneLimits;
  readonly #send: (lane: Lane, batch: ReadyDecision[]) => Promise<void>;
  readonly #slabs: SlabPool;
  #slab: Slab | undefined;
  /** Waiting items are #queue[#head..]: a batch taken moves the head, not the rest. */
  #queue: ReadyDecision[] = [];
  #head = 0;
  #queuedBytes = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    shard: number,
    url: string,
    limits: LaneLimits,
    send: (lane: Lane, batch: ReadyDecision[]) => Promise<void>,
    slabs: SlabPool,
  ) {
    this.shard = shard;
    this.url = url;
    this.#limits = limits;
    this.#send = send;
    this.#slabs = slabs;
  }

  get idle(): boolean {
    return this.#queue.length === this.#head && this.#inFlight === 0;
  }

  push(item: ReadyDecision): void {
    this.#copyIn(item);
    this.#queue.push(item);
    this.#queuedBytes += item.size + 1;
    if (
      this.#queue.length - this.#head >= this.#limits.maxBatchDecisions ||
      this.#queuedBytes >= this.#limits.maxBatchBytes
    ) {
      this.flush();
    } else {
      this.#timer ??= setTimeout(() => this.flush(), this.#limits.lingerMs);
    }
  }

  /** Sends what is queued, as far as the request limit allows. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > this.#head && this.#inFlight < this.#limits.maxRequests) {
      const batch = this.#take();
      this.#inFlight++;
      void this.#send(this, batch).finally(() => {
        this.#inFlight--;
        // What queued while the request was out has waited long enough.
        if (this.#queue.length > this.#head) this.flush();
      });
    }
  }

  /** Moves the item's bytes into this lane's slab, out of the input (or another lane's slab). */
  #copyIn(item: ReadyDecision): void {
    if (this.#slab === undefined || !this.#slab.fits(item.size)) {
      this.#slab?.seal();
      this.#slab = this.#slabs.take(item.size);
    }
    const previous = item.slab;
    item.slab = this.#slab;
    item.moveTo(this.#slab.buf, this.#slab.append(item.buf, item.at, item.size));
    previous?.release();
  }

  #take(): ReadyDecision[] {
    const { maxBatchDecisions, maxBatchBytes } = this.#limits;
    const queue = this.#queue;
    const head = this.#head;
    let n = 0;
    let bytes = 0;
    while (head + n < queue.length && n < maxBatchDecisions) {
      const size = (queue[head + n] as ReadyDecision).size + 1;
      if (n > 0 && bytes + size > maxBatchBytes) break;
      bytes += size;
      n++;
    }
    const batch = queue.slice(head, head + n);
    this.#queuedBytes -= bytes;
    if (head + n === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (head + n > 4096 && 2 * (head + n) > queue.length) {
      // The taken front outweighs what waits: drop it (one copy per many batches).
      this.#queue = queue.slice(head + n);
      this.#head = 0;
    } else this.#head = head + n;
    return batch;
  }
}
