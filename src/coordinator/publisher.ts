// Publication of global checkpoints to a transparency log or witness: POST the signed note,
// retry with backoff, never block aggregation. Only the newest checkpoint matters to a witness
// (it proves everything before it), so a newer one replaces a pending older one.
import { postBody } from '../clients/http.ts';
import { reasonOf } from '../core/errors.ts';

export interface PublisherOptions {
  url: string;
  timeoutMs: number;
  /** First retry delay; doubles up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  onPublished?: (size: number) => void;
  onFailure?: (size: number, reason: string, attempt: number) => void;
}

export class CheckpointPublisher {
  readonly #opts: PublisherOptions;
  #pending: { size: number; note: string } | undefined;
  #running = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #lastPublishedSize = -1;
  /** Aborts the POST in flight, so closing never waits for a slow or silent witness. */
  readonly #abort = new AbortController();

  constructor(opts: PublisherOptions) {
    this.#opts = opts;
  }

  get lastPublishedSize(): number {
    return this.#lastPublishedSize;
  }

  /** Queues a checkpoint; returns at once. */
  publish(size: number, note: string): void {
    if (this.#closed || size <= this.#lastPublishedSize) return;
    // A newer checkpoint replaces a pending one but does not cut a backoff short: a witness
    // that is down is not hit once per round.
    if (this.#pending === undefined || size > this.#pending.size) this.#pending = { size, note };
    if (!this.#running) void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#running = true;
    let attempt = 0;
    while (!this.#closed && this.#pending !== undefined) {
      const job = this.#pending;
      try {
        await postBody(
          this.#opts.url,
          job.note,
          'text/plain; charset=utf-8',
          this.#opts.timeoutMs,
          this.#abort.signal,
        );
        this.#lastPublishedSize = Math.max(this.#lastPublishedSize, job.size);
        if (this.#pending === job) this.#pending = undefined;
        attempt = 0;
        this.#opts.onPublished?.(job.size);
      } catch (err) {
        if (this.#closed) break;
        attempt++;
        this.#opts.onFailure?.(job.size, reasonOf(err), attempt);
        const delay = Math.min(this.#opts.maxBackoffMs, this.#opts.backoffMs * 2 ** (attempt - 1));
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, delay);
        });
        clearTimeout(this.#timer);
        this.#wake = undefined;
      }
    }
    this.#running = false;
  }

  close(): void {
    this.#closed = true;
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#wake?.();
  }
}
