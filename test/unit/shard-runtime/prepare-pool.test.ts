import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { prepareBody } from '../../../src/shard-runtime/prepare.ts';
import { PreparePool } from '../../../src/shard-runtime/prepare-pool.ts';
import { decision, epochTable, ndjson } from '../../integration/shard/shard-process.ts';

let pool: PreparePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

it('gives the same result as preparing inline, and reports the routing table version it used', async () => {
  pool = new PreparePool(2, epochTable(4), 1, pino({ level: 'silent' }));
  const body = utf8.encode(ndjson(Array.from({ length: 200 }, (_, i) => decision(i))));
  const inline = prepareBody(body, true, {}, epochTable(4), 1);
  const [a, b] = await Promise.all([pool.prepare(body, true, {}), pool.prepare(body, true, {})]);
  expect(a).toEqual(inline);
  expect(b).toEqual(inline);
  pool.setTable(epochTable(5), 2);
  const after = await pool.prepare(body, true, {});
  expect(after.ok && after.tableVersion).toBe(2);
  expect(after).toEqual(prepareBody(body, true, {}, epochTable(5), 2));
  const bad = await pool.prepare(utf8.encode('{"x":1}\n'), true, {});
  expect(bad.ok).toBe(false);
});

it('moves a body to the worker and back instead of copying it', async () => {
  pool = new PreparePool(1, epochTable(4), 1, pino({ level: 'silent' }));
  const text = utf8.encode(ndjson(Array.from({ length: 50 }, (_, i) => decision(i))));
  const inline = prepareBody(text, true, {}, epochTable(4), 1);
  const body = new Uint8Array(new ArrayBuffer(text.length + 100), 0, text.length);
  body.set(text);
  const pending = pool.prepare(body, true, {}, true);
  expect(body.buffer.detached).toBe(true);
  const result = await pending;
  if (!result.ok) throw new Error('rejected');
  expect(result.body.buffer.byteLength).toBe(text.length + 100);
  expect(result).toEqual({ ...inline, body: result.body });
  expect(result.body).toEqual(text);
  // A rejected batch gives nothing back to use; a later job may still move its own body.
  const bad = new Uint8Array(utf8.encode('{"x":1}\n'));
  expect((await pool.prepare(bad, true, {}, true)).ok).toBe(false);
});

it('writes re-serialized decisions into the buffer lent with the job and gives it back', async () => {
  pool = new PreparePool(1, epochTable(4), 1, pino({ level: 'silent' }));
  const text = utf8.encode(
    ndjson(Array.from({ length: 50 }, (_, i) => decision(i))).replace(/,/g, ', '),
  );
  const inline = prepareBody(text, true, {}, epochTable(4), 1);
  if (!inline.ok) throw new Error('rejected');
  expect(inline.canonical.length).toBeGreaterThan(0);
  const out = new ArrayBuffer(text.length);
  const pending = pool.prepare(text, true, {}, false, out);
  expect(out.detached).toBe(true);
  const result = await pending;
  if (!result.ok) throw new Error('rejected');
  expect(result.out).toBeInstanceOf(ArrayBuffer);
  expect(result.canonical.buffer).toBe(result.out);
  expect(result.canonical).toEqual(inline.canonical);
  expect({ ...result, out: undefined }).toEqual({ ...inline, body: result.body, out: undefined });
  // Canonical lines need no room: the loan comes back unused.
  const canonicalText = utf8.encode(ndjson([decision(1), decision(2)]));
  const unused = await pool.prepare(canonicalText, true, {}, false, new ArrayBuffer(4096));
  if (!unused.ok) throw new Error('rejected');
  expect(unused.out?.byteLength).toBe(4096);
  expect(unused.canonical.length).toBe(0);
});

it('rejects jobs after close', async () => {
  pool = new PreparePool(1, epochTable(1), 1, pino({ level: 'silent' }));
  await pool.close();
  await expect(pool.prepare(new Uint8Array(1), true, {})).rejects.toMatchObject({
    code: 'prepare_failed',
  });
  pool = undefined;
});
