import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../src/core/bytes.ts';
import { decodeEnvelope } from '../../../src/core/envelope.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { MerkleLog } from '../../../src/log-store/index.ts';
import { BodyLease, BodyPool } from '../../../src/shard-runtime/body-pool.ts';
import { Ingestor } from '../../../src/shard-runtime/ingest.ts';
import type { ReceiptList } from '../../../src/shard-runtime/receipts.ts';
import { prepareBody, type PackedBatch } from '../../../src/shard-runtime/prepare.ts';
import { RecordIndex } from '../../../src/shard-runtime/record-index.ts';
import { packIds } from '../../../src/shard-runtime/record-ids.ts';
import { routeDecision, type EpochTable, type RoutingEpoch } from '../../../src/core/routing.ts';
import {
  decision,
  decisionsFor,
  epochTable,
  ndjson,
} from '../../integration/shard/shard-process.ts';

const table = epochTable(2);
const silent = pino({ level: 'silent' });
const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-ingest-'))) {
  dirs.push(dir);
  const log = await MerkleLog.open({ dir: path.join(dir, 'log') });
  const index = await RecordIndex.open(path.join(dir, 'index'), log, silent);
  open.push(log, index);
  const errors: unknown[] = [];
  const ingestor = new Ingestor(
    log,
    index,
    0,
    (e) => errors.push(e),
    () => '1800000000000000000',
  );
  open.push({ close: () => ingestor.drain() });
  return { dir, log, index, ingestor, errors };
}

function packed(ds: readonly unknown[]): PackedBatch {
  const r = prepareBody(utf8.encode(ndjson(ds)), true, {}, table, 1);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r;
}

function createdOf(list: ReceiptList): boolean[] {
  return Array.from({ length: list.count }, (_, i) => list.created(i));
}

describe('Ingestor', () => {
  it('appends envelopes that carry shard, seq, accept time and routing around the canonical decision', async () => {
    const { log, ingestor } = await setup();
    const ds = decisionsFor(table, 0, 3);
    const out = await ingestor.ingest(packed(ds));
    if (!out.ok) throw new Error('misrouted');
    expect(createdOf(out.receipts)).toEqual([true, true, true]);
    for (const [i, r] of out.receipts.toArray().entries()) {
      const bytes = await log.read(r.seq);
      expect(toHex(blake3Reference.hashLeaf(bytes))).toBe(r.leaf_hash);
      const env = decodeEnvelope(bytes);
      expect(env.meta).toEqual({
        shard: 0,
        seq: r.seq,
        timestamp_ns: '1800000000000000000',
        routing: r.routing,
      });
      expect(env.decision).toEqual(ds[i]);
    }
  });

  it('appends nothing for a batch with a misrouted decision', async () => {
    const { log, ingestor } = await setup();
    const [mine] = decisionsFor(table, 0, 1);
    const [theirs] = decisionsFor(table, 1, 1);
    const out = await ingestor.ingest(packed([mine, theirs]));
    expect(out).toEqual({
      ok: false,
      misrouted: [{ line: 2, record_id: theirs?.record_id, shard_id: 1, epoch: 0 }],
    });
    expect(log.size).toBe(0);
  });

  it('returns the original receipt for a record_id seen before: in the batch, in flight, or stored', async () => {
    const { log, ingestor } = await setup();
    const ds = decisionsFor(table, 0, 4);
    // Two concurrent requests with an overlapping record_id: it is appended once.
    const [a, b] = await Promise.all([
      ingestor.ingest(packed([ds[0], ds[1], ds[0]])),
      ingestor.ingest(packed([ds[1], ds[2]])),
    ]);
    if (!a.ok || !b.ok) throw new Error('misrouted');
    expect(log.size).toBe(3);
    expect(a.receipts.get(2)).toEqual(a.receipts.get(0));
    expect(b.receipts.get(0)).toEqual(a.receipts.get(1));
    expect([createdOf(a.receipts), createdOf(b.receipts)]).toEqual([
      [true, true, false],
      [false, true],
    ]);
    await ingestor.drain();
    const c = await ingestor.ingest(packed([ds[2], ds[3]]));
    if (!c.ok) throw new Error('misrouted');
    expect(c.receipts.get(0)).toEqual(b.receipts.get(1));
    expect(createdOf(c.receipts)).toEqual([false, true]);
    expect(log.size).toBe(4);
  });

  it('renders receipts as exactly the JSON of the receipt objects: new, repeated, stored, escaped keys', async () => {
    const { ingestor } = await setup();
    // Routing keys that need JSON escapes or are not ASCII, routed to this shard.
    const odd = ['q"u\\o\u2028te-é-𝄞', 'tab\tnl\n-ü', 'ctl\u0001-ß'].flatMap((entity, e) =>
      [0, 1, 2, 3].map((v) => decision(100 + 4 * e + v, { tag: 'odd', entity: `${entity}-${v}` })),
    );
    const routed = odd.filter((d) => routeDecision(d, table).shard === 0);
    expect(routed.length).toBeGreaterThan(0);
    const ds = [...decisionsFor(table, 0, 3), ...routed];
    const first = await ingestor.ingest(packed(ds.slice(0, 2)));
    if (!first.ok) throw new Error('misrouted');
    await ingestor.drain();
    // Line 0 is stored, line 3 repeats line 2 of this request, the rest are new.
    const out = await ingestor.ingest(packed([ds[0], ds[2], ...ds.slice(2)]));
    if (!out.ok) throw new Error('misrouted');
    const list = out.receipts;
    expect(createdOf(list)).toEqual([false, true, false, ...routed.map(() => true)]);
    expect(list.toArray().map((r) => r.routing.key)).toContain(routed[0]?.entity_id);
    expect(list.batchJson().toString('utf8')).toBe(JSON.stringify({ receipts: list.toArray() }));
    // Into a reused buffer (still holding an earlier response): exactly the same bytes.
    const reused = Buffer.alloc(list.batchJsonMaxLength() + 100, 'x');
    expect(reused.subarray(0, list.writeBatchJson(reused))).toEqual(list.batchJson());
    for (let i = 0; i < list.count; i++) {
      expect(list.json(i).toString('utf8')).toBe(JSON.stringify(list.get(i)));
    }
    expect(list.get(0)).toEqual(first.receipts.get(0));
    expect(list.get(2)).toEqual(list.get(1));
    expect(list.duplicates()).toBe(2);
  });

  it('holds a pooled body while its decisions are in flight, and gives it back once indexed', async () => {
    const { ingestor } = await setup();
    const pool = new BodyPool(16 << 20);
    const batch = packed(decisionsFor(table, 0, 3));
    const buffer = pool.take(batch.body.length);
    const body = new Uint8Array(buffer, 0, batch.body.length);
    body.set(batch.body);
    const lease = new BodyLease(body, pool);
    const held: PackedBatch = { ...batch, body, lease };
    const ingested = ingestor.ingest(held);
    // The request lets go as soon as it is answered (before the index commit, at least FLUSH_MS
    // later); the ingestor still compares repeats with these bytes until the index has them.
    const out = await ingested;
    expect(out.ok).toBe(true);
    lease.release();
    expect(pool.freeBytes).toBe(0);
    // A repeat is answered with the originals (from the in-flight table or, once committed, the
    // index).
    const again = await ingestor.ingest(packed(decisionsFor(table, 0, 3)));
    expect(again.ok && createdOf(again.receipts)).toEqual([false, false, false]);
    await ingestor.drain();
    expect(pool.freeBytes).toBe(buffer.byteLength);
  });

  it('keeps ids in flight when the index cannot be written: a repeat still gets its original', async () => {
    const { log, index, ingestor, errors } = await setup();
    const ds = decisionsFor(table, 0, 3);
    // A first write with a key LMDB refuses puts the index in its failed state.
    await expect(index.add(packIds(['k'.repeat(4000)]), [0], 0)).rejects.toThrow(/commit failed/);
    const first = await ingestor.ingest(packed(ds));
    if (!first.ok) throw new Error('misrouted');
    await ingestor.drain();
    expect(errors.length).toBe(1);
    const again = await ingestor.ingest(packed([ds[1]]));
    expect(again.ok && again.receipts.get(0)).toEqual(first.receipts.get(1));
    expect(again.ok && again.receipts.created(0)).toBe(false);
    expect(log.size).toBe(3);
  });

  it('rebuilds the record_id index from the log when it is lost or behind', async () => {
    const first = await setup();
    const ds = decisionsFor(table, 0, 25);
    const out = await first.ingestor.ingest(packed(ds));
    if (!out.ok) throw new Error('misrouted');
    for (const o of open.splice(0).reverse()) await o.close();
    fs.rmSync(path.join(first.dir, 'index'), { recursive: true });
    const again = await setup(first.dir);
    dirs.pop(); // same directory, cleaned once
    expect(ds.map((d) => again.index.get(d.record_id as string))).toEqual(
      out.receipts.toArray().map((r) => r.seq),
    );
    const dup = await again.ingestor.ingest(packed([ds[7]]));
    expect(dup.ok && dup.receipts.get(0)).toEqual(out.receipts.get(7));
    expect(again.log.size).toBe(25);
  });

  it('refuses new decisions once the epoch in force has retired the shard, still answering known ones', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-ingest-'));
    dirs.push(dir);
    const log = await MerkleLog.open({ dir: path.join(dir, 'log') });
    const index = await RecordIndex.open(path.join(dir, 'index'), log, silent);
    open.push(log, index);
    // Shard 2 of 3 until the boundary, when an epoch with 2 shards takes effect.
    const boundary = '1800000000000000000';
    const scaled: EpochTable = {
      epochs: [
        { ...(table.epochs[0] as RoutingEpoch), shards: 3 },
        { ...(table.epochs[0] as RoutingEpoch), epoch: 1, shards: 2, effective_from_ns: boundary },
      ],
    };
    let now = '1799999999999999999';
    const ingestor = new Ingestor(
      log,
      index,
      2,
      () => undefined,
      () => now,
      () => scaled,
    );
    open.push({ close: () => ingestor.drain() });
    const prep = (ds: readonly unknown[]): PackedBatch => {
      const r = prepareBody(utf8.encode(ndjson(ds)), true, {}, scaled, 1);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r;
    };
    // Timestamped before the boundary, so they route to shard 2 under epoch 0.
    const ds = decisionsFor(scaled, 2, 3);
    const before = await ingestor.ingest(prep([ds[0]]));
    expect(before.ok).toBe(true);
    now = boundary;
    expect(await ingestor.ingest(prep([ds[1]]))).toEqual({
      ok: false,
      retired: { epoch: 1, retiredFromNs: boundary },
    });
    // A batch with one new decision appends nothing, not even the known one.
    expect(await ingestor.ingest(prep([ds[0], ds[2]]))).toMatchObject({ ok: false });
    expect(log.size).toBe(1);
    // A retry of an acknowledged decision still gets its original receipt.
    await ingestor.drain();
    const again = await ingestor.ingest(prep([ds[0]]));
    expect(again.ok && again.receipts.get(0)).toEqual(before.ok && before.receipts.get(0));
    await ingestor.appendsSettled();
    expect(log.size).toBe(1);
  });

  it('builds a stored receipt from the envelope', async () => {
    const { ingestor } = await setup();
    const ds = decisionsFor(table, 0, 2);
    const out = await ingestor.ingest(packed(ds));
    if (!out.ok) throw new Error('misrouted');
    await ingestor.drain();
    // Indexed by now: the repeat's receipt is rebuilt from the stored envelope.
    const again = await ingestor.ingest(packed([ds[1]]));
    expect(again.ok && again.receipts.toArray()).toEqual([out.receipts.get(1)]);
    expect(ingestor.seqOf(String(out.receipts.get(0)?.record_id))).toBe(0);
    expect(ingestor.seqOf(String(decision(999_999).record_id))).toBeUndefined();
  });

  it('refuses a record_id taken by another decision, stored, in flight or earlier in the batch, appending nothing', async () => {
    const { ingestor, log } = await setup();
    const ds = decisionsFor(table, 0, 4, { tag: 'conflict' });
    const changed = (d: Record<string, unknown> | undefined) => ({ ...d, output: 'changed' });
    const first = ingestor.ingest(packed([ds[0], ds[1]]));
    // In flight: the original is still being appended.
    const inFlight = await ingestor.ingest(packed([ds[2], changed(ds[0])]));
    expect(inFlight).toMatchObject({
      ok: false,
      conflicts: [{ line: 2, record_id: ds[0]?.record_id }],
    });
    await first;
    await ingestor.drain();
    // Stored: read back and compared; the new decision of the same request is not appended.
    const stored = await ingestor.ingest(packed([ds[2], changed(ds[1])]));
    expect(stored).toEqual({
      ok: false,
      conflicts: [{ line: 2, record_id: ds[1]?.record_id, seq: 1 }],
    });
    // Within one batch.
    const inBatch = await ingestor.ingest(packed([ds[3], ds[2], changed(ds[3])]));
    expect(inBatch).toEqual({
      ok: false,
      conflicts: [{ line: 3, record_id: ds[3]?.record_id, original_line: 1 }],
    });
    await ingestor.appendsSettled();
    expect(log.size).toBe(2);
    // The same decisions again are idempotent: the original receipts, nothing appended.
    const same = await ingestor.ingest(packed([ds[0], ds[1], ds[0]]));
    expect(same.ok && createdOf(same.receipts)).toEqual([false, false, false]);
    expect(same.ok && same.receipts.toArray().map((r) => r.seq)).toEqual([0, 1, 0]);
    expect(log.size).toBe(2);
  });
});
