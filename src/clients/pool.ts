// Bounded-concurrency map with a per-item timeout and an overall deadline. Every item gets a
// result: a value, or the reason it has none. Nothing here throws, so one bad shard cannot
// take the round down with it.
import { CodedError } from '../core/errors.ts';
import { reasonOf } from '../core/errors.ts';

export type Settled<R> = { ok: true; value: R } | { ok: false; reason: string; timedOut: boolean };

export interface PoolOptions {
  concurrency: number;
  /** Per-item time limit. */
  itemTimeoutMs: number;
  /** Absolute time (ms, same clock as `now`) after which no item may still be running. */
  deadlineMs: number;
  now: () => number;
  /** Aborting it settles every item at once (in flight: its signal is aborted) as stopped. */
  stop?: AbortSignal;
}

export class ItemTimeoutError extends CodedError<'timeout'> {
  override name = 'ItemTimeoutError';
  constructor(message: string) {
    super('timeout', message);
  }
}

const STOPPED = 'stopped before an answer (shutting down)';

function withTimeout<R>(
  work: (signal: AbortSignal) => Promise<R>,
  ms: number,
  stop: AbortSignal | undefined,
): Promise<Settled<R>> {
  const controller = new AbortController();
  return new Promise<Settled<R>>((resolve) => {
    // The first outcome wins; settling releases the timer and the listener on `stop`, which
    // lives as long as the coordinator and must not collect one listener per item.
    const settle = (result: Settled<R>): void => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', onStop);
      resolve(result);
    };
    const onStop = (): void => {
      controller.abort();
      settle({ ok: false, reason: STOPPED, timedOut: false });
    };
    stop?.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(
      () => {
        controller.abort();
        settle({ ok: false, reason: `no answer within ${Math.round(ms)} ms`, timedOut: true });
      },
      Math.max(0, ms),
    );
    work(controller.signal).then(
      (value) => settle({ ok: true, value }),
      (err: unknown) =>
        settle({
          ok: false,
          reason: reasonOf(err),
          timedOut: err instanceof ItemTimeoutError,
        }),
    );
  });
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight. An item runs for at most
 * min(itemTimeoutMs, deadline - now); items not started by the deadline settle as timed out.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  work: (item: T, signal: AbortSignal) => Promise<R>,
  opts: PoolOptions,
): Promise<Settled<R>[]> {
  const results = new Array<Settled<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      const item = items[i] as T;
      if (opts.stop?.aborted) {
        results[i] = { ok: false, reason: STOPPED, timedOut: false };
        continue;
      }
      const left = opts.deadlineMs - opts.now();
      if (left <= 0) {
        results[i] = {
          ok: false,
          reason: 'interval deadline passed before the request',
          timedOut: true,
        };
        continue;
      }
      results[i] = await withTimeout(
        (signal) => work(item, signal),
        Math.min(opts.itemTimeoutMs, left),
        opts.stop,
      );
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}
