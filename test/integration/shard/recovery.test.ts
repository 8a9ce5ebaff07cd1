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
