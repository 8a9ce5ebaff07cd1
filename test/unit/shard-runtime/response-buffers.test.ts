import { expect, it } from 'vitest';
import { BufferPool } from '../../../src/shard-runtime/response-buffers.ts';

it('hands out buffers large enough and reuses the ones given back', () => {
  const pool = new BufferPool(4 * 1024 * 1024);
  const a = pool.take(100_000);
  expect(a.length).toBeGreaterThanOrEqual(100_000);
  pool.give(a);
  expect(pool.freeBytes).toBe(a.length);
  // A request that fits takes the same buffer; a larger one gets a new one.
  expect(pool.take(90_000)).toBe(a);
  expect(pool.freeBytes).toBe(0);
  pool.give(a);
  const big = pool.take(a.length + 1);
  expect(big).not.toBe(a);
  expect(big.length).toBeGreaterThan(a.length);
});

it('keeps at most its byte budget, and does not pool small buffers', () => {
  const pool = new BufferPool(300 * 1024);
  const bufs = [pool.take(128 * 1024), pool.take(128 * 1024), pool.take(128 * 1024)];
  for (const b of bufs) pool.give(b);
  expect(pool.freeBytes).toBe(256 * 1024);
  const small = pool.take(1000);
  expect(small.length).toBe(1000);
  pool.give(small);
  expect(pool.freeBytes).toBe(256 * 1024);
});
