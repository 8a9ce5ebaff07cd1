import { describe, expect, it } from 'vitest';
import { backoffDelay, retryAfterMs } from '../../../src/client/backoff.ts';
import { ByteBudget } from '../../../src/client/byte-budget.ts';

describe('backoffDelay', () => {
  const policy = { baseMs: 100, maxMs: 5000 };
  it('is uniform below a cap that doubles per attempt up to maxMs', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a, () => 0.999999))).toEqual([
      99, 199, 399, 799,
    ]);
    expect(backoffDelay(policy, 10, () => 0.999999)).toBe(4999);
    expect(backoffDelay(policy, 1000, () => 0.5)).toBe(2500);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
  });
  it('never goes below a server Retry-After', () => {
    expect(backoffDelay(policy, 1, () => 0.5, 1000)).toBe(1000);
    expect(retryAfterMs('1')).toBe(1000);
    expect(retryAfterMs(' 3 ')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(0);
    expect(retryAfterMs(undefined)).toBe(0);
    expect(retryAfterMs(['2', '5'])).toBe(2000);
  });
});

describe('ByteBudget', () => {
  it('lets callers in first come, first served while the bytes fit', async () => {
    const b = new ByteBudget(100);
    await b.take(60);
    const order: string[] = [];
    const big = b.take(50).then(() => order.push('big'));
    const small = b.take(10).then(() => order.push('small'));
    await Promise.resolve();
    // The small one fits, but waits behind the big one: no starvation of large decisions.
    expect(order).toEqual([]);
    b.give(60);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(b.used).toBe(60);
  });
  it('takes one item larger than the whole budget when nothing else is in flight', async () => {
    const b = new ByteBudget(10);
    await b.take(1000);
    expect(b.used).toBe(1000);
    let second = false;
    const p = b.take(1).then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    b.give(1000);
    await p;
    expect(second).toBe(true);
  });
});
