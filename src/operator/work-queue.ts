// A work queue of cluster keys (`namespace/name`) in the style of client-go's: a key is queued
// at most once, never processed by two workers at once (a key queued while it is processed runs
// again afterwards), and can be scheduled for later; failures back off exponentially per key.
export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  readonly #waiters: (() => void)[] = [];
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  #closed = false;

  constructor(baseBackoffMs = 500, maxBackoffMs = 60_000) {
    this.#baseBackoffMs = baseBackoffMs;
    this.#maxBackoffMs = maxBackoffMs;
  }

  /** Keys waiting to be processed (not counting those scheduled for later). */
  get depth(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#closed) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#waiters.shift()?.();
  }

  /** Adds `key` after `ms`, unless it is already scheduled sooner. */
  addAfter(key: string, ms: number): void {
    if (this.#closed) return;
    const at = Date.now() + ms;
    const existing = this.#timers.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Schedules a retry with exponential backoff (base, 2x base, ... up to the maximum). */
  addRateLimited(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const delay = Math.min(this.#baseBackoffMs * 2 ** n, this.#maxBackoffMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of `key` after a success. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** The next key to process, or undefined once the queue is shut down. */
  async get(): Promise<string | undefined> {
    while (this.#queue.length === 0) {
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    const key = this.#queue.shift() as string;
    this.#queued.delete(key);
    this.#active.add(key);
    return key;
  }

  /** Marks `key` processed; a key added meanwhile is queued again. */
  done(key: string): void {
    this.#active.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.#closed = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w();
  }
}
