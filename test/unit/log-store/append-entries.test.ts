import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { blake3Reference, sha256 } from '../../../src/core/hash.ts';
import { merkleRoot } from '../../../src/core/merkle/tree.ts';
import { MerkleLog, type EntryWriter } from '../../../src/log-store/index.ts';
import { tempDir } from './fixtures.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Entry bytes naming the call tag and the sequence number, of varying length (0 included). */
const text = (tag: string, seq: number): string =>
  seq % 11 === 0 ? '' : `${tag}:${seq}:${'y'.repeat(seq % 53)}`;

/** An EntryWriter that writes `text(tag, seq)`; `failAt` makes entry `failAt` throw. */
function writer(count: number, tag: string, failAt = -1): EntryWriter {
  return {
    count,
    maxLength: (i, seq) => {
      if (i === failAt) throw new Error(`entry ${i} cannot be built`);
      return utf8.encode(text(tag, seq)).length + 5; // a loose bound is allowed
    },
    write: (_i, seq, target, offset) => {
      const bytes = utf8.encode(text(tag, seq));
      target.set(bytes, offset);
      return bytes.length;
    },
  };
}

describe('MerkleLog.appendEntries (entries written into the batch buffer)', () => {
  it('stores exactly the written bytes, hashed as H(0x00 || record), across segments and reused buffers', async () => {
    const dir = tempDir();
    // Small batches and segments: many batches reuse pooled buffers and cross segment ends.
    const log = await MerkleLog.open({ dir, segmentRecords: 37, maxBatchEntries: 50 });
    const calls = Array.from({ length: 40 }, (_, c) =>
      log.appendEntries(writer(1 + (c % 9), `c${c}`)),
    );
    const results = await Promise.all(calls);
    const leaves: Uint8Array[] = [];
    let next = 0;
    for (const [c, r] of results.entries()) {
      expect(r.first).toBe(next);
      expect(r.count).toBe(1 + (c % 9));
      next += r.count;
      for (let k = 0; k < r.count; k++) {
        const data = await log.read(r.first + k);
        expect(utf8.decode(data)).toBe(text(`c${c}`, r.first + k));
        expect(hex(r.leafHash(k))).toBe(hex(blake3Reference.hashLeaf(data)));
        leaves.push(r.leafHash(k));
      }
    }
    expect(log.size).toBe(next);
    expect(hex(log.root())).toBe(hex(merkleRoot(blake3Reference, leaves)));
    await log.close();
    // What was stored survives a reopen with the full check (every record re-hashed).
    const again = await MerkleLog.open({ dir, fullCheck: true });
    expect(hex(again.root())).toBe(hex(merkleRoot(blake3Reference, leaves)));
    await again.close();
  });

  it('gives the same leaves as append() with builders, with another hasher too', async () => {
    const a = await MerkleLog.open({ dir: tempDir(), hasher: sha256 });
    const b = await MerkleLog.open({ dir: tempDir(), hasher: sha256 });
    const ra = await a.appendEntries(writer(300, 't'));
    const rb = await b.append(
      Array.from({ length: 300 }, () => (seq: number) => utf8.encode(text('t', seq))),
    );
    expect(Array.from({ length: 300 }, (_, k) => hex(ra.leafHash(k)))).toEqual(
      rb.map((e) => hex(e.leafHash)),
    );
    expect(hex(a.root())).toBe(
      hex(
        merkleRoot(
          sha256,
          rb.map((e) => e.leafHash),
        ),
      ),
    );
    await a.close();
    await b.close();
  });

  it('rejects a call whose entry throws or overruns its bound, consuming no sequence numbers', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    const overrun: EntryWriter = { count: 1, maxLength: () => 2, write: () => 3 };
    const before = log.appendEntries(writer(4, 'a'));
    const bad = log.appendEntries(writer(5, 'b', 3));
    const bad2 = log.appendEntries(overrun);
    const after = log.appendEntries(writer(2, 'c'));
    await expect(bad).rejects.toThrow('entry 3 cannot be built');
    await expect(bad2).rejects.toMatchObject({ code: 'bad_argument' });
    expect((await before).first).toBe(0);
    expect((await after).first).toBe(4);
    expect(log.size).toBe(6);
    expect(utf8.decode(await log.read(4))).toBe(text('c', 4));
    await log.close();
  });

  it('acknowledges in call order with many batches in flight, each durable size only growing', async () => {
    const dir = tempDir();
    const sizes: number[] = [];
    // Tiny batches (by entries and by bytes) so that far more batches than can be in flight
    // at once are queued behind each other.
    const log = await MerkleLog.open({
      dir,
      maxBatchEntries: 6,
      maxBatchBytes: 64,
      onBatch: () => sizes.push(log.size),
    });
    const order: number[] = [];
    const calls = Array.from({ length: 120 }, (_, c) =>
      log.appendEntries(writer(1 + (c % 4), `o${c}`)).then((r) => {
        order.push(c);
        // Acknowledged only once its whole range is part of the durable size.
        expect(log.size).toBeGreaterThanOrEqual(r.first + r.count);
        return r;
      }),
    );
    const results = await Promise.all(calls);
    expect(order).toEqual(calls.map((_, c) => c));
    expect(results.map((r) => r.first)).toEqual(
      results.map((_, c) => results.slice(0, c).reduce((n, r) => n + r.count, 0)),
    );
    expect(sizes.length).toBeGreaterThan(20);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    const leaves = [];
    for (let seq = 0; seq < log.size; seq++)
      leaves.push(blake3Reference.hashLeaf(await log.read(seq)));
    expect(hex(log.root())).toBe(hex(merkleRoot(blake3Reference, leaves)));
    await log.close();
  });

  it('resolves an empty call at once', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    const r = await log.appendEntries(writer(0, 'e'));
    expect([r.first, r.count, log.size]).toEqual([0, 0, 0]);
    await log.close();
  });
});
