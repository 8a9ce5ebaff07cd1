import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { mapPool } from '../../../src/clients/pool.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapPool', () => {
  it('never runs more than `concurrency` items at once and keeps result order', async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 40 }, (_, i) => i);
    const out = await mapPool(
      items,
      async (i) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(2 + (i % 3));
        running--;
        return i * 2;
      },
      { concurrency: 5, itemTimeoutMs: 1000, deadlineMs: Date.now() + 10_000, now: Date.now },
    );
    expect(peak).toBe(5);
    expect(out.map((r) => (r.ok ? r.value : -1))).toEqual(items.map((i) => i * 2));
  });

  it('times out a slow item without delaying the others, and aborts its signal', async () => {
    let aborted = false;
    const t0 = Date.now();
    const out = await mapPool(
      ['slow', 'fast'],
      (name, signal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => (aborted = true));
          setTimeout(() => resolve(name), name === 'slow' ? 5000 : 5);
        }),
      { concurrency: 2, itemTimeoutMs: 100, deadlineMs: Date.now() + 10_000, now: Date.now },
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(out[0]).toMatchObject({ ok: false, timedOut: true });
    expect(out[1]).toEqual({ ok: true, value: 'fast' });
    expect(aborted).toBe(true);
  });

  it('cuts every item at the interval deadline, even with a long per-item timeout', async () => {
    const t0 = Date.now();
    const out = await mapPool([1, 2, 3, 4], () => sleep(10_000).then(() => 1), {
      concurrency: 1,
      itemTimeoutMs: 60_000,
      deadlineMs: Date.now() + 150,
      now: Date.now,
    });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(out.every((r) => !r.ok && r.timedOut)).toBe(true);
    expect(out.length).toBe(4);
  });

  it('turns a rejection into a reason instead of throwing', async () => {
    const out = await mapPool([1], () => Promise.reject(new Error('connection refused')), {
      concurrency: 4,
      itemTimeoutMs: 100,
      deadlineMs: Date.now() + 1000,
      now: Date.now,
    });
    expect(out[0]).toEqual({ ok: false, reason: 'connection refused', timedOut: false });
  });

  it('settles every item at once when stopped, and leaves no listener on the stop signal', async () => {
    const stop = new AbortController();
    const never = (): Promise<number> => new Promise<number>(() => undefined);
    // Items that time out release their listener on the long-lived stop signal too.
    const timedOut = await mapPool([1, 2, 3], never, {
      concurrency: 3,
      itemTimeoutMs: 20,
      deadlineMs: Date.now() + 10_000,
      now: Date.now,
      stop: stop.signal,
    });
    expect(timedOut.every((r) => !r.ok && r.timedOut)).toBe(true);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);

    const t0 = Date.now();
    const pending = mapPool([1, 2, 3, 4], never, {
      concurrency: 2,
      itemTimeoutMs: 60_000,
      deadlineMs: Date.now() + 60_000,
      now: Date.now,
      stop: stop.signal,
    });
    setTimeout(() => stop.abort(), 20);
    const out = await pending;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(out).toEqual(
      [1, 2, 3, 4].map(() => ({
        ok: false,
        reason: expect.stringMatching(/stopped/),
        timedOut: false,
      })),
    );
  });
});
