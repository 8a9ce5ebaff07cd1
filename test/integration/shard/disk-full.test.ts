// A full disk under a real `agdr shard` (a size-limited tmpfs mounted for the test: the suite runs
// as root): a start that finds no space fails at once with a clear message and leaves no empty
// LOCK behind; a record_id index rebuild that runs out of space ends the process (it neither
// hangs nor keeps its files), and the lock keeps a second instance out while one runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  runShardExpectingExit,
  startShardProcess,
  tempDir,
  writeRouting,
} from './shard-process.ts';

const mounts: string[] = [];
/** Unmounts every test file system (each one, even if another fails), then removes the dirs. */
function unmountAll(): void {
  const failed: string[] = [];
  for (const m of mounts.splice(0)) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch (err) {
      failed.push(`${m}: ${(err as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(`could not unmount ${failed.join('; ')}`);
}
afterAll(() => {
  unmountAll();
  removeTempDirs();
});
// A run interrupted between tests still leaves no mount behind.
process.once('exit', () => {
  for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m]);
});

/** A tmpfs of `size` mounted on a fresh directory. */
function smallDisk(size: string): string {
  const dir = tempDir('agdr-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Fills the file system holding `dir` to the last byte (returns the filler's path). */
function fill(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  try {
    for (;;) fs.writeSync(fd, block, 0, 1);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  fs.closeSync(fd);
  return filler;
}

const table = epochTable(1);

it('a start on a full disk fails at once, leaves no LOCK, and the next start succeeds', async () => {
  const disk = smallDisk('2m');
  const routingFile = writeRouting(tempDir(), table);
  const key = path.join(tempDir(), 'key.json');
  const o = { dataDir: path.join(disk, 'data'), shardId: 0, routingFile, args: ['--key', key] };
  const filler = fill(disk);
  // Exit code 1, not null: a start that hangs is killed after 30 s (runShardExpectingExit).
  const refused = await runShardExpectingExit(o);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/opening the log at \S+: ENOSPC: no space left on device/);
  expect(fs.existsSync(path.join(o.dataDir, 'log', 'LOCK'))).toBe(false);

  fs.rmSync(filler);
  const shard = await startShardProcess(o);
  expect((await request(`${shard.url}/healthz`)).status).toBe(200);
  expect(await shard.stop()).toBe(0);
});

it('a record_id index rebuild on a full disk ends the process promptly; the lock holds meanwhile', async () => {
  const disk = smallDisk('16m');
  const routingFile = writeRouting(tempDir(), table);
  const key = path.join(tempDir(), 'key.json');
  const o = { dataDir: path.join(disk, 'data'), shardId: 0, routingFile, args: ['--key', key] };
  const shard = await startShardProcess(o);
  const res = await request(`${shard.url}/v1/decisions:batch`, {
    body: ndjson(decisionsFor(table, 0, 3000, { tag: 'full' })),
  });
  expect(res.status).toBe(200);
  expect(await shard.stop()).toBe(0);

  fs.rmSync(path.join(o.dataDir, 'record-index'), { recursive: true });
  const filler = fill(disk);
  // Room for the lock and the log's open, not for the index of 3,000 record_ids.
  fs.truncateSync(filler, fs.statSync(filler).size - 48 * 1024);
  // Two instances at once: whichever takes the lock rebuilds and fails; the other is refused
  // by the lock, or, started after the first ended, fails the same way or (the first's partial
  // index took the last bytes) at opening the log, naming it. Neither hangs (a hung one is
  // killed after 30 s: exit code null, not 1).
  const both = await Promise.all([runShardExpectingExit(o), runShardExpectingExit(o)]);
  for (const r of both) {
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /record_id index commit failed|log is open in process|opening the log at \S+: ENOSPC/,
    );
  }
  expect(both.some((r) => /record_id index commit failed/.test(r.stderr))).toBe(true);
  expect(fs.existsSync(path.join(o.dataDir, 'log', 'LOCK'))).toBe(false);

  // With space again, it rebuilds the index and serves the records by record_id.
  fs.rmSync(filler);
  const again = await startShardProcess(o);
  expect((await request(`${again.url}/v1/records?record_id=full-0`)).status).toBe(200);
  expect(await again.stop()).toBe(0);
});
