// Bounded in-flight bytes: a decision holds its canonical size from submit() until it is
// acknowledged or refused, and a caller waits here while the budget is spent. This is what
// keeps a client that reads a file of any size at flat memory.

export class ByteBudget {
  readonly limit: number;
  #used = 0;
  readonly #waiters: { bytes: number; resolve: () => void }[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Whether `bytes` can be taken now. One item larger than the limit fits an empty budget. */
  fits(bytes: number): boolean {
    return this.#waiters.length === 0 && (this.#used === 0 || this.#used + bytes <= this.limit);
  }

  /** Takes `bytes` if they fit now (no promise to settle on the common path). */
  tryTake(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.#used += bytes;
    return true;
  }

  /** Takes `bytes`, waiting (first come, first served) until they fit. */
  async take(bytes: number): Promise<void> {
    if (this.fits(bytes)) {
      this.#used += bytes;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push({ bytes, resolve }));
  }

  /**
   * A decision that held `from` bytes holds `to` now (its text was canonicalized on the way): it
   * keeps its place, even past the limit, as it already is in flight.
   */
  exchange(from: number, to: number): void {
    if (to >= from) this.#used += to - from;
    else this.give(from - to);
  }

  give(bytes: number): void {
    this.#used -= bytes;
    for (;;) {
      const next = this.#waiters[0];
      if (next === undefined) return;
      if (this.#used !== 0 && this.#used + next.bytes > this.limit) return;
      this.#waiters.shift();
      this.#used += next.bytes;
      next.resolve();
    }
  }
}
