import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { LogStoreError, MerkleLog } from '../../../src/log-store/index.ts';
import { entries, tempDir } from './fixtures.ts';

const shard1 = { origin: 'agdr.dev/ns/c/shard-1', namespace: 'ns', cluster: 'c', shard_id: 1 };
const shard2 = { origin: 'agdr.dev/ns/c/shard-2', namespace: 'ns', cluster: 'c', shard_id: 2 };

const meta = (dir: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;

it('writes the identity at creation and refuses to open as another log', async () => {
  const dir = tempDir();
  const log = await MerkleLog.open({ dir, identity: shard1 });
  await log.append(entries(3));
  await log.close();
  expect(meta(dir).identity).toEqual(shard1);

  const err = await MerkleLog.open({ dir, identity: shard2 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LogStoreError);
  expect((err as LogStoreError).code).toBe('wrong_log');
  expect((err as Error).message).toMatch(/holds the log of .*shard-1.*, not of .*shard-2/);
  // The refused open released the directory: the right owner opens it.
  const again = await MerkleLog.open({ dir, identity: shard1 });
  expect(again.size).toBe(3);
  expect(again.recovery.adoptedIdentity).toBe(false);
  await again.close();
  // A check without an identity (agdr verify --log) opens any log.
  const check = await MerkleLog.open({ dir, readOnly: true });
  await check.close();
});

it('a log created without an identity adopts the first one it is opened with, then keeps it', async () => {
  const dir = tempDir();
  const old = await MerkleLog.open({ dir });
  await old.append(entries(2));
  await old.close();
  expect(meta(dir).identity).toBeUndefined();

  const readOnly = await MerkleLog.open({ dir, readOnly: true, identity: shard2 });
  expect(readOnly.recovery.adoptedIdentity).toBe(false);
  await readOnly.close();
  expect(meta(dir).identity).toBeUndefined();

  const adopted = await MerkleLog.open({ dir, identity: shard2 });
  expect(adopted.recovery.adoptedIdentity).toBe(true);
  await adopted.close();
  expect(meta(dir)).toMatchObject({ format: 'agdr-log/1', identity: shard2 });
  await expect(MerkleLog.open({ dir, identity: shard1 })).rejects.toThrow(/wrong|not of/);
});
