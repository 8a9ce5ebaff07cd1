// Signs a C2SP checkpoint of the shard's log every interval while the tree grew, and persists
// it in the log's checkpoint history. Once the epoch in force has retired the shard it signs one
// more, dated at or after the boundary, even at an unchanged size: the coordinator stops
// collecting from a retired shard only after sealing such a checkpoint. A failing signer (e.g.
// a remote key service that is down) never stops appends: the failure is logged and counted, and
// the next tick tries again.
import type { Logger } from 'pino';
import { parseCheckpoint, signCheckpoint } from '../core/checkpoint.ts';
import { compareU64Text } from '../core/decision/timestamp.ts';
import { parseNote } from '../core/note.ts';
import { epochAt, type EpochTable } from '../core/routing.ts';
import type { Signer } from '../core/signer.ts';
import type { MerkleLog } from '../log-store/index.ts';
import { nowNs } from './ingest.ts';
import { retirementAt } from './retirement.ts';

export interface CheckpointerDeps {
  log: MerkleLog;
  signer: Signer;
  shardId: number;
  origin: string;
  intervalMs: number;
  routing: () => EpochTable;
  logger: Logger;
  onSigned?: (size: number) => void;
  onFailure?: (err: unknown) => void;
  /** Resolves once appends already started are durable (awaited before a final checkpoint). */
  appendsSettled?: () => Promise<void>;
  /** Nanoseconds since the Unix epoch (canonical decimal); the shard clock by default. */
  clock?: () => string;
}

/** timestamp_ns of a stored signed checkpoint note, or undefined when it has none. */
function timestampOf(note: string): string | undefined {
  return parseCheckpoint(parseNote(note).text).timestampNs?.toString();
}

export class Checkpointer {
  readonly #d: CheckpointerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: CheckpointerDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#timer = setInterval(() => void this.signIfGrown(), this.#d.intervalMs);
    this.#timer.unref();
  }

  /**
   * Signs and saves a checkpoint at the current size if it is larger than the latest saved one
   * (also the first checkpoint of an empty log, so a new shard has something to serve), or if
   * the shard is retired and the latest one is dated before the retirement boundary.
   * Calls are serialized; failures are reported, not thrown.
   */
  signIfGrown(): Promise<void> {
    this.#running = this.#running.then(() => this.#sign());
    return this.#running;
  }

  async #sign(): Promise<void> {
    const { log, signer, origin, logger } = this.#d;
    const clock = this.#d.clock ?? nowNs;
    let size = log.size;
    try {
      const retired = retirementAt(this.#d.routing(), this.#d.shardId, clock());
      // Appends admitted before the boundary may still be in flight: the final checkpoint
      // covers them.
      if (retired !== undefined) await this.#d.appendsSettled?.();
      size = log.size;
      const latest = await log.latestCheckpoint();
      const stale =
        retired !== undefined &&
        latest !== undefined &&
        compareU64Text(timestampOf(latest.note) ?? '0', retired.retiredFromNs) < 0;
      if (latest !== undefined && latest.size >= size && !stale) return;
      const timestamp = clock();
      let routingEpoch: number | undefined;
      try {
        routingEpoch = epochAt(this.#d.routing(), timestamp).epoch;
      } catch (err) {
        // No epoch in force yet (the table starts in the future): leave the line out.
        logger.debug({ err: (err as Error).message }, 'checkpoint without routing epoch');
      }
      const note = await signCheckpoint(
        {
          origin,
          size,
          rootHash: await log.rootAt(size),
          timestampNs: BigInt(timestamp),
          ...(routingEpoch !== undefined ? { routingEpoch } : {}),
        },
        signer,
      );
      await log.saveCheckpoint(size, note);
      this.#d.onSigned?.(size);
    } catch (err) {
      logger.error({ err: (err as Error).message, size }, 'checkpoint signing failed; will retry');
      this.#d.onFailure?.(err);
    }
  }

  /** Stops the timer and waits for a signing in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
