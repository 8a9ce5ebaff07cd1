import { expect, it } from 'vitest';
import { BodyLease, BodyPool } from '../../../src/shard-runtime/body-pool.ts';

it('hands out buffers by power-of-two size class and reuses given ones', () => {
  const pool = new BodyPool(16 << 20);
  const a = pool.take(3_500_000);
  expect(a.byteLength).toBe(4 << 20);
  expect(pool.take(10).byteLength).toBe(64 * 1024);
  pool.give(a);
  expect(pool.freeBytes).toBe(4 << 20);
  expect(pool.take(3_000_000)).toBe(a);
  expect(pool.freeBytes).toBe(0);
  // Another size class is a new buffer.
  pool.give(a);
  expect(pool.take(5_000_000)).not.toBe(a);
});

it('keeps no detached buffer, no odd size and nothing beyond its bound', () => {
  const pool = new BodyPool(8 << 20);
  const moved = pool.take(100_000);
  structuredClone(moved, { transfer: [moved] });
  pool.give(moved);
  pool.give(new ArrayBuffer(100_000));
  expect(pool.freeBytes).toBe(0);
  pool.give(pool.take(4 << 20));
  pool.give(pool.take(4 << 20));
  pool.give(new ArrayBuffer(4 << 20));
  expect(pool.freeBytes).toBe(8 << 20);
});

it('a lease gives its buffer back once, when the last holder releases it', () => {
  const pool = new BodyPool(16 << 20);
  const buf = pool.take(1000);
  const lease = new BodyLease(new Uint8Array(buf, 0, 1000), pool);
  lease.hold();
  lease.release();
  expect(pool.freeBytes).toBe(0);
  lease.release();
  expect(pool.freeBytes).toBe(buf.byteLength);
  // A late holder cannot hand the same buffer out twice.
  lease.hold();
  lease.release();
  expect(pool.freeBytes).toBe(buf.byteLength);
});

it('a lease gives back the buffer its body was moved to', () => {
  const pool = new BodyPool(16 << 20);
  const buf = pool.take(1000);
  const lease = new BodyLease(new Uint8Array(buf, 0, 1000), pool);
  const back = structuredClone(buf, { transfer: [buf] });
  lease.bytes = new Uint8Array(back, 0, 1000);
  lease.release();
  expect(pool.take(1000)).toBe(back);
});

it('a lease gives back the buffer kept with its body at the same time', () => {
  const pool = new BodyPool(16 << 20);
  const buf = pool.take(1000);
  const companion = pool.take(1000);
  const lease = new BodyLease(new Uint8Array(buf, 0, 1000), pool);
  lease.keepWith(companion);
  lease.hold();
  lease.release();
  expect(pool.freeBytes).toBe(0);
  lease.release();
  expect(pool.freeBytes).toBe(buf.byteLength + companion.byteLength);
  const again = [pool.take(1000), pool.take(1000)];
  expect(again).toContain(buf);
  expect(again).toContain(companion);
});
