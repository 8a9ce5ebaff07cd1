import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { MerkleLog } from '../../../src/log-store/index.ts';
import {
  MAX_INDEXABLE_ID_LENGTH,
  ShardConfigError,
  shardConfig,
} from '../../../src/shard-runtime/config.ts';
import { RecordIndex } from '../../../src/shard-runtime/record-index.ts';
import { packIds } from '../../../src/shard-runtime/record-ids.ts';

const silent = pino({ level: 'silent' });
const base = { dataDir: '/data', shardId: 0, routingFile: '/routing.json' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

it('refuses a record_id limit longer than the index can key, and takes the longest it can', async () => {
  const at = (maxIdLength: number) =>
    shardConfig({ ...base, limits: { decision: { maxIdLength } } }, { workers: 1, logger: silent });
  expect(() => at(MAX_INDEXABLE_ID_LENGTH + 1)).toThrow(ShardConfigError);
  expect(() => at(MAX_INDEXABLE_ID_LENGTH + 1)).toThrow(/limits\.decision\.maxIdLength/);
  expect(at(MAX_INDEXABLE_ID_LENGTH).limits.decision.maxIdLength).toBe(MAX_INDEXABLE_ID_LENGTH);

  // The bound is the index's own: an id of exactly that length is stored, one byte more is not.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-config-'));
  dirs.push(dir);
  const log = await MerkleLog.open({ dir: path.join(dir, 'log') });
  const index = await RecordIndex.open(path.join(dir, 'index'), log, silent);
  const longest = 'i'.repeat(MAX_INDEXABLE_ID_LENGTH);
  await index.add(packIds([longest]), [0], 0);
  expect(index.get(longest)).toBe(0);
  await expect(index.add(packIds([`${longest}i`]), [0], 1)).rejects.toThrow(/commit failed/);
  await index.close();
  await log.close();
});
