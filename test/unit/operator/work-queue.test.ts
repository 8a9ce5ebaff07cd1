import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../src/operator/work-queue.ts';

describe('WorkQueue', () => {
  it('queues a key once and re-queues one added while it is processed', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    q.add('a'); // while active: runs again after done()
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('b');
    q.done('b');
    q.done('a');
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
    q.shutDown();
    expect(await q.get()).toBeUndefined();
  });

  it('keeps the sooner of two scheduled times and backs off per key', async () => {
    const q = new WorkQueue(10, 40);
    q.addAfter('x', 10_000);
    q.addAfter('x', 5);
    expect(await q.get()).toBe('x');
    q.done('x');
    expect([
      q.addRateLimited('y'),
      q.addRateLimited('y'),
      q.addRateLimited('y'),
      q.addRateLimited('y'),
    ]).toEqual([10, 20, 40, 40]);
    q.forget('y');
    expect(q.addRateLimited('y')).toBe(10);
    q.shutDown();
  });
});
