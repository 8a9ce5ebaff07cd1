// `agdr verify --log` on the directory a killed shard left: the check reports what the next
// start will repair, and leaves every byte of the directory (its stale LOCK included) as it was.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { snapshotTree } from '../../unit/log-store/snapshot.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  writeRouting,
  type ShardProcess,
} from '../shard/shard-process.ts';
import { runAgdr } from './harness.ts';

afterAll(() => removeTempDirs());

/** Makes `dir` (recursively) readable but not writable by everyone, owner included. */
function makeReadOnly(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) makeReadOnly(p);
    else fs.chmodSync(p, 0o444);
  }
  fs.chmodSync(dir, 0o555);
}

/** Makes a tree writable again so that it can be removed. */
function makeWritable(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(p);
    else fs.chmodSync(p, 0o644);
  }
}

const table = epochTable(1);

/** A shard process on a fresh data directory holding `count` acknowledged decisions. */
async function shardWith(count: number): Promise<{
  dir: string;
  dataDir: string;
  routingFile: string;
  shard: ShardProcess;
}> {
  const dir = tempDir();
  const routingFile = writeRouting(dir, table);
  const dataDir = path.join(dir, 'data');
  const shard = await startShardProcess({ dataDir, shardId: 0, routingFile });
  const res = await request(`${shard.url}/v1/decisions:batch`, {
    body: ndjson(decisionsFor(table, 0, count)),
  });
  expect(res.status).toBe(200);
  return { dir, dataDir, routingFile, shard };
}

it('checks a killed shard directory without changing it; the next start repairs what it reported', async () => {
  const { dataDir, routingFile, shard } = await shardWith(300);
  expect(await shard.kill()).toBe(null);
  // A torn tail: one more leaf-index entry whose record bytes never reached the segment.
  const torn = Buffer.alloc(40, 0xa5);
  torn.writeUInt32LE(0x7fffffff, 32);
  fs.appendFileSync(path.join(dataDir, 'log', 'leaves.idx'), torn);
  expect(fs.existsSync(path.join(dataDir, 'log', 'LOCK'))).toBe(true);

  const before = snapshotTree(dataDir);
  const checked = await runAgdr(['verify', '--log', dataDir]);
  expect(checked.stdout).toContain(
    'torn tail: 1 unacknowledged record(s) past the durable size (left in place; the shard drops them on its next start)',
  );
  expect(checked.stdout).toMatch(/size 300, root [0-9a-f]{64}/);
  expect(checked.stdout).toMatch(/OK$/);
  expect(checked.code).toBe(0);
  expect(snapshotTree(dataDir)).toEqual(before);

  const json = await runAgdr(['verify', '--log', dataDir, '--json']);
  const report = JSON.parse(json.stdout) as { size: number; root: string; tornTailRecords: number };
  expect(report).toMatchObject({ size: 300, tornTailRecords: 1 });
  expect(snapshotTree(dataDir)).toEqual(before);

  // The shard's own start drops the torn entry and serves the root the check reported.
  const again = await startShardProcess({ dataDir, shardId: 0, routingFile });
  expect(again.info.size).toBe(300);
  const proof = await request<{ tree_size: number }>(
    `${again.url}/v1/proofs/inclusion?index=0&size=300`,
  );
  expect(proof.status).toBe(200);
  expect(await again.stop()).toBe(0);
  expect(fs.statSync(path.join(dataDir, 'log', 'leaves.idx')).size).toBe(300 * 40);
  const after = await runAgdr(['verify', '--log', dataDir, '--json']);
  expect(JSON.parse(after.stdout)).toMatchObject({
    size: 300,
    root: report.root,
    tornTailRecords: 0,
  });
});

it('checks an archived copy it has no permission to write (read-only media, another user)', async () => {
  const { dir, dataDir, shard } = await shardWith(200);
  expect(await shard.stop()).toBe(0);
  const live = await runAgdr(['verify', '--log', dataDir, '--json']);
  expect(live.code).toBe(0);

  // The copy is readable by everyone and writable by no one. Root ignores permission bits, so
  // as root the check runs as `nobody`; either way every write it tried would fail.
  const archive = path.join(dir, 'archive');
  fs.cpSync(dataDir, archive, { recursive: true });
  makeReadOnly(archive);
  fs.chmodSync(dir, 0o755);
  const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  const before = snapshotTree(archive);
  try {
    const checked = await runAgdr(['verify', '--log', archive, '--json'], undefined, as);
    expect(checked.stderr).not.toMatch(/error|EACCES|EROFS/i);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({
      ok: true,
      size: 200,
      root: (JSON.parse(live.stdout) as { root: string }).root,
      checkedRecords: 200,
    });
    expect(snapshotTree(archive)).toEqual(before);
    expect(fs.existsSync(path.join(archive, 'log', 'LOCK'))).toBe(false);
  } finally {
    makeWritable(archive);
  }
});
