// When rounds run: on a fixed grid (start + k * interval), never overlapping. A round that
// overruns skips the grid points it missed instead of running back-to-back to catch up.

export function nextTick(startMs: number, intervalMs: number, nowMs: number): number {
  const k = Math.floor((nowMs - startMs) / intervalMs) + 1;
  return startMs + k * intervalMs;
}

/** The deadline of a round that starts at `startMs`: shard fetches must end by then. */
export function roundDeadline(startMs: number, intervalMs: number): number {
  // Leave room to build, sign and fsync the global root inside the interval.
  return startMs + Math.max(intervalMs * 0.8, intervalMs - 2000);
}

export class RoundTimer {
  readonly #intervalMs: number;
  readonly #run: () => Promise<void>;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #startMs = 0;
  #stopped = true;
  #inFlight: Promise<void> | undefined;

  constructor(intervalMs: number, run: () => Promise<void>, now: () => number = Date.now) {
    this.#intervalMs = intervalMs;
    this.#run = run;
    this.#now = now;
  }

  start(): void {
    this.#stopped = false;
    this.#startMs = this.#now();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const at = nextTick(this.#startMs, this.#intervalMs, this.#now());
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#run().finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
    }, at - this.#now());
  }

  /** Stops scheduling and waits for a round in flight to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }
}
