// Signs a C2SP checkpoint of the shard's log every interval while the tree grew, and persists
// it in the log's checkpoint history. Once the epoch in force has retired the shard it signs one
// more, dated at or after the boundary, even at an unchanged size: the coordinator stops
// collecting from a retired shard only after sealing such a checkpoint. It also signs one at an
// unchanged size when the signing key changed (a rotation, recorded by `beforeSign` at the first
// tick the new version may sign): an idle shard's latest checkpoint moves to the new key at once,
// so trimming the old version never leaves the shard's current state signed by a key whose
// window is closed. A failing signer (e.g. Vault down) never stops appends, and never fails
// health: the failure is counted, logged once when it starts and at each backed-off retry, and
// the timer retries after a growing delay (`retryDelayMs`), so a long outage neither floods the
// log nor hammers the key service. The first success after failures logs the recovery; that
// checkpoint covers everything appended meanwhile.
import type { Logger } from 'pino';
import { parseCheckpointNote, signCheckpoint } from '../core/checkpoint.ts';
import { keyId, parseNote } from '../core/note.ts';
import { compareU64Text } from '../core/decision/timestamp.ts';
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
  /** A signing or saving failed; `consecutive` counts the failures since the last success. */
  onFailure?: (err: unknown, consecutive: number) => void;
  /** Resolves once appends already started are durable (awaited before a final checkpoint). */
  appendsSettled?: () => Promise<void>;
  /** Nanoseconds since the Unix epoch (canonical decimal); the shard clock by default. */
  clock?: () => string;
  /**
   * Awaited at every tick before the clock is read for a checkpoint (the key history records a
   * rotation there and switches the signer: key-history-file.ts); a failure fails that signing
   * like a signer failure.
   */
  beforeSign?: () => Promise<void>;
}

/** Longest wait between retries of a failing signing. */
export const MAX_RETRY_DELAY_MS = 30_000;

/**
 * How long the timer waits after the `failures`-th consecutive failure before trying again:
 * the interval, doubled per failure, at most MAX_RETRY_DELAY_MS (or the interval if longer).
 */
export function retryDelayMs(intervalMs: number, failures: number): number {
  const cap = Math.max(intervalMs, MAX_RETRY_DELAY_MS);
  return Math.min(cap, intervalMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/** timestamp_ns of a stored signed checkpoint note, or undefined when it has none. */
function timestampOf(note: string): string | undefined {
  return parseCheckpointNote(note).timestampNs?.toString();
}

/** Whether a stored checkpoint note carries a signature by the signer's key in use. */
function signedBy(note: string, signer: Signer): boolean {
  const id = keyId(signer.name, signer.publicKey);
  return parseNote(note).signatures.some((s) => s.name === signer.name && s.keyId === id);
}

export class Checkpointer {
  readonly #d: CheckpointerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #failures = 0;
  #lastFailure = '';
  #failingSinceMs = 0;
  #retryAtMs = 0;

  constructor(deps: CheckpointerDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#failures === 0 || Date.now() >= this.#retryAtMs) void this.signIfDue();
    }, this.#d.intervalMs);
    this.#timer.unref();
  }

  /** Failures since the last successful checkpoint (0 when signing works). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** While signings fail: since when (ms since the epoch) and the latest reason. */
  get failing(): { sinceMs: number; reason: string } | undefined {
    return this.#failures === 0
      ? undefined
      : { sinceMs: this.#failingSinceMs, reason: this.#lastFailure };
  }

  /**
   * Signs and saves a checkpoint at the current size if it is larger than the latest saved one
   * (also the first checkpoint of an empty log, so a new shard has something to serve), if the
   * shard is retired and the latest one is dated before the retirement boundary, or if the
   * latest one is not signed by the key in use (the key rotated: `beforeSign` switched it).
   * Calls are serialized; failures are reported, not thrown.
   */
  signIfDue(): Promise<void> {
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
      // Also on an idle log: a rotation is recorded as soon as the new version may sign.
      await this.#d.beforeSign?.();
      if (latest !== undefined && latest.size >= size && !stale && signedBy(latest.note, signer))
        return;
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
      if (this.#failures > 0) {
        logger.info(
          { size, failures: this.#failures, failing_ms: Date.now() - this.#failingSinceMs },
          'checkpoint signing recovered',
        );
      }
      this.#failures = 0;
      this.#d.onSigned?.(size);
    } catch (err) {
      this.#failed(err, size);
    }
  }

  #failed(err: unknown, size: number): void {
    const now = Date.now();
    if (this.#failures === 0) this.#failingSinceMs = now;
    this.#failures++;
    this.#lastFailure = (err as Error).message;
    const retryMs = retryDelayMs(this.#d.intervalMs, this.#failures);
    this.#retryAtMs = now + retryMs;
    const fields = {
      err: (err as Error).message,
      code: (err as { code?: unknown }).code,
      size,
      failures: this.#failures,
      retry_ms: retryMs,
    };
    if (this.#failures === 1) {
      this.#d.logger.error(fields, 'checkpoint signing failed; appends continue, retrying');
    } else {
      this.#d.logger.warn(fields, 'checkpoint signing still failing');
    }
    this.#d.onFailure?.(err, this.#failures);
  }

  /** Stops the timer and waits for a signing in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
