// The background scrub: walks the stored log from record 0 to its size, over and over, checking
// every record against its leaf hash and every tile node against the nodes below it
// (MerkleLog.verifyStored), so that damage no read touches is found too. Rate-limited: one chunk
// at a time on a timer, paced to `recordsPerSecond`, so it takes a small, fixed share of the
// thread that also runs the log writer. Damage found stops it (the log then reports `failure`).
import type { MerkleLog } from './merkle-log.ts';
import { LogStoreError } from './errors.ts';

export interface ScrubOptions {
  /** Records checked per second at most (> 0). */
  readonly recordsPerSecond: number;
  /** Records per step (default 256: one tile, about 100 KB of shard records). */
  readonly chunk?: number;
  /** Pause after a full pass before the next one starts (default 60 s). */
  readonly passPauseMs?: number;
  /** After each step: records checked in it. */
  readonly onChecked?: (records: number) => void;
  /** A full pass over the log (as large as it was when the pass ended) completed. */
  readonly onPass?: (size: number) => void;
  /** The scrub stopped on an error: damage (code `corrupt`) or a failed read. */
  readonly onStopped?: (err: unknown) => void;
}

export class Scrubber {
  readonly #log: MerkleLog;
  readonly #opts: ScrubOptions;
  readonly #chunk: number;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #step: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(log: MerkleLog, opts: ScrubOptions) {
    if (!(opts.recordsPerSecond > 0)) {
      throw new LogStoreError('bad_argument', 'recordsPerSecond must be positive');
    }
    this.#log = log;
    this.#opts = opts;
    this.#chunk = opts.chunk ?? 256;
  }

  /** Where the current pass is (the next record to check). */
  get position(): number {
    return this.#next;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stops after the step in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#step;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#step = this.#run();
    }, ms);
    // A scrub never keeps the process alive on its own.
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#stopped || this.#log.failure !== undefined) return;
    const size = this.#log.size;
    if (this.#next >= size) {
      if (size > 0) this.#opts.onPass?.(size);
      this.#next = 0;
      this.#schedule(this.#opts.passPauseMs ?? 60_000);
      return;
    }
    let checked: number;
    try {
      checked = await this.#log.verifyStored(this.#next, this.#chunk);
    } catch (err) {
      this.#opts.onStopped?.(err);
      return;
    }
    this.#next += checked;
    this.#opts.onChecked?.(checked);
    this.#schedule((checked / this.#opts.recordsPerSecond) * 1000);
  }
}
