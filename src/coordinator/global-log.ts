// The global log: the coordinator's own Merkle log (the same durable log-store a shard uses)
// whose entries are the canonical bytes of signed global root and reconstruction records,
// with a signed checkpoint after every round.
import {
  MerkleLog,
  Scrubber,
  type LogCorruptionError,
  type LogIdentity,
  type ScrubOptions,
} from '../log-store/index.ts';

export class GlobalLog {
  readonly #log: MerkleLog;
  #scrub: Scrubber | undefined;
  #checkpointSize: number;

  private constructor(log: MerkleLog, checkpointSize: number) {
    this.#log = log;
    this.#checkpointSize = checkpointSize;
  }

  /** `onDamage`: stored entries were found damaged after open (they are never served). */
  static async open(
    dir: string,
    opts: { onDamage?: (err: LogCorruptionError) => void; identity?: LogIdentity } = {},
  ): Promise<GlobalLog> {
    const log = await MerkleLog.open({ dir, ...opts });
    const latest = await log.latestCheckpoint();
    return new GlobalLog(log, latest?.size ?? 0);
  }

  /** Why the global log can no longer make progress (a failed write, damaged data), if so. */
  get failure(): Error | undefined {
    return this.#log.failure;
  }

  /** The log had no identity (an older version created it) and adopted this coordinator's. */
  get adoptedIdentity(): boolean {
    return this.#log.recovery.adoptedIdentity === true;
  }

  get size(): number {
    return this.#log.size;
  }

  root(): Uint8Array {
    return this.#log.root();
  }

  /** Appends entries durably, in order; resolves with the index of the first. */
  async append(entries: Uint8Array[]): Promise<number> {
    const first = this.#log.size;
    await this.#log.append(entries.map((bytes) => () => bytes));
    return first;
  }

  async rootAt(size: number): Promise<Uint8Array> {
    return await this.#log.rootAt(size);
  }

  async read(index: number): Promise<Uint8Array> {
    return await this.#log.read(index);
  }

  async leafHash(index: number): Promise<Uint8Array> {
    return await this.#log.leafHash(index);
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return await this.#log.inclusionProof(index, size);
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return await this.#log.consistencyProof(from, to);
  }

  latestCheckpointSize(): number {
    return this.#checkpointSize;
  }

  async saveCheckpoint(size: number, note: string): Promise<void> {
    await this.#log.saveCheckpoint(size, note);
    this.#checkpointSize = size;
  }

  async latestCheckpoint(): Promise<string | undefined> {
    return (await this.#log.latestCheckpoint())?.note;
  }

  async checkpointAt(size: number): Promise<string | undefined> {
    return await this.#log.checkpointAt(size);
  }

  /** Starts the background scrub of the stored entries (stopped by close). */
  startScrub(opts: ScrubOptions): void {
    this.#scrub ??= new Scrubber(this.#log, opts);
    this.#scrub.start();
  }

  async close(): Promise<void> {
    await this.#scrub?.stop();
    await this.#log.close();
  }
}
