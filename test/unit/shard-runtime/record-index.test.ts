import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { MerkleLog } from '../../../src/log-store/index.ts';
import { RecordIndex, RecordIndexError } from '../../../src/shard-runtime/record-index.ts';
import { packIds } from '../../../src/shard-runtime/record-ids.ts';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function openIndex(): Promise<{ log: MerkleLog; index: RecordIndex; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-index-'));
  dirs.push(dir);
  const log = await MerkleLog.open({ dir: path.join(dir, 'log') });
  const index = await RecordIndex.open(path.join(dir, 'index'), log, silent);
  return { log, index, dir };
}

const ids = (from: number, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `idx-${from + i}`);

it('an add resolves once its ids are visible to get, commit after commit, string or bytes', async () => {
  const { log, index } = await openIndex();
  let seq = 0;
  // Sizes below and above the per-commit flush threshold, items chosen out of order.
  for (const n of [1, 7, 300, 9000, 3]) {
    const names = ids(seq, n);
    const list = packIds(names);
    const items = names.map((_, i) => n - 1 - i);
    const before = index.get(names[0] as string); // a read just before the commit is sent
    expect(before).toBeUndefined();
    await index.add(list, items, seq);
    items.forEach((i, k) => {
      expect(index.get(names[i] as string)).toBe(seq + k);
      expect(index.get(utf8.encode(names[i] as string))).toBe(seq + k);
    });
    seq += n;
  }
  expect(index.get('idx-never')).toBeUndefined();
  await index.close();
  await log.close();
});

it('adds after close fail with RecordIndexError instead of being lost silently', async () => {
  const { log, index } = await openIndex();
  await index.close();
  await expect(index.add(packIds(['late-1']), [0], 0)).rejects.toBeInstanceOf(RecordIndexError);
  await log.close();
});

it('a failed commit marks the index failed: that add and every later one reject', async () => {
  const { log, index } = await openIndex();
  await index.add(packIds(['ok-1']), [0], 0);
  expect(index.failure).toBeUndefined();
  // Longer than any key LMDB takes (record_ids are capped far below this by validation).
  const tooLong = packIds(['k'.repeat(4000)]);
  await expect(index.add(tooLong, [0], 1)).rejects.toBeInstanceOf(RecordIndexError);
  expect(index.failure?.message).toMatch(/commit failed/);
  await expect(index.add(packIds(['ok-2']), [0], 2)).rejects.toBe(index.failure);
  // What was committed before stays readable.
  expect(index.get('ok-1')).toBe(0);
  await index.close();
  await log.close();
});
