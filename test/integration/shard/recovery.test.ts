// A shard refuses to start on real corruption (clear error, non-zero exit) and starts after a
// torn tail, truncating only what was never acknowledged.
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

afterAll(() => removeTempDirs());

const table = epochTable(1);

it('exits non-zero with a clear message when a committed record was altered, and starts after a torn tail', async () => {
  const dir = tempDir();
  const routingFile = writeRouting(dir, table);
  const dataDir = path.join(dir, 'data');
  const shard = await startShardProcess({ dataDir, shardId: 0, routingFile });
  const res = await request<{ receipts: { seq: number }[] }>(`${shard.url}/v1/decisions:batch`, {
    body: ndjson(decisionsFor(table, 0, 300)),
  });
  expect(res.status).toBe(200);
  expect(await shard.stop()).toBe(0);

  const seg = path.join(dataDir, 'log', 'records', '0000000000000000.seg');
  const clean = fs.readFileSync(seg);

  // A torn tail (bytes of a batch that never committed) is dropped quietly.
  fs.appendFileSync(seg, 'half a record');
  const again = await startShardProcess({ dataDir, shardId: 0, routingFile });
  expect(again.info.size).toBe(300);
  expect(await again.stop()).toBe(0);

  // One flipped byte in the last committed record is corruption: refuse to serve a wrong root.
  const bad = Buffer.from(clean);
  bad.writeUInt8(bad.readUInt8(bad.length - 10) ^ 1, bad.length - 10);
  fs.writeFileSync(seg, bad);
  const refused = await runShardExpectingExit({ dataDir, shardId: 0, routingFile });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    /log corrupt: .*0000000000000000\.seg: record 299 does not match its leaf hash/,
  );
});

/** The size the durable marker (`log/state`) covers: the valid slot with the higher serial. */
function markerSize(dataDir: string): number {
  const buf = fs.readFileSync(path.join(dataDir, 'log', 'state'));
  let best = { serial: -1, size: 0 };
  for (let at = 0; at + 64 <= buf.length; at += 64) {
    if (buf.toString('latin1', at, at + 8) !== 'AGDRSTAT') continue;
    const serial = buf.readUIntLE(at + 8, 6);
    if (serial > best.serial) best = { serial, size: buf.readUIntLE(at + 16, 6) };
  }
  return best.size;
}

it('refuses to start when an acknowledged record past the durable marker was altered, naming it', async () => {
  const dir = tempDir();
  const routingFile = writeRouting(dir, table);
  const dataDir = path.join(dir, 'data');
  // No checkpoint after the first: the durable floor is the marker, which trails appends.
  const args = ['--checkpoint-interval', '1h'];
  const shard = await startShardProcess({ dataDir, shardId: 0, routingFile, args });
  let acknowledged = 0;
  for (let round = 0; round < 200; round++) {
    const res = await request<{ receipts: { seq: number }[] }>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(table, 0, 200, { tag: `m${round}` })),
    });
    expect(res.status).toBe(200);
    acknowledged += res.body.receipts.length;
    if (acknowledged - markerSize(dataDir) >= 300) break;
  }
  const mark = markerSize(dataDir);
  expect(acknowledged - mark).toBeGreaterThanOrEqual(300);
  await shard.kill();

  // One byte of an acknowledged record past the marker changes (a disk fault, an edit).
  const victim = mark + 100;
  const idx = fs.readFileSync(path.join(dataDir, 'log', 'leaves.idx'));
  const start = idx.readUInt32LE((victim - 1) * 40 + 32);
  const seg = path.join(dataDir, 'log', 'records', '0000000000000000.seg');
  const fd = fs.openSync(seg, 'r+');
  const one = Buffer.alloc(1);
  fs.readSync(fd, one, 0, 1, start + 20);
  one[0] = (one[0] as number) ^ 0x01;
  fs.writeSync(fd, one, 0, 1, start + 20);
  fs.closeSync(fd);

  const refused = await runShardExpectingExit({ dataDir, shardId: 0, routingFile, args });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    new RegExp(
      `log corrupt: .*0000000000000000\\.seg: record ${victim} does not match its leaf hash .*acknowledged and has since been damaged`,
    ),
  );
  // Nothing was cut: every acknowledged record is still on disk for the operator.
  expect(fs.statSync(path.join(dataDir, 'log', 'leaves.idx')).size).toBe(acknowledged * 40);
});
