// A shard's log carries its identity from creation: with the data directories of shards 1 and 2
// swapped (volumes mounted on the wrong pods), neither starts, and each says whose log it found.
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

it('refuses to open another shard’s log (swapped shards/1 and shards/2)', async () => {
  const table = epochTable(3);
  const dir = tempDir();
  const routingFile = writeRouting(dir, table);
  // Keys live outside the data directories, as a Secret would: only the logs are swapped.
  const opts = (id: number) => ({
    dataDir: path.join(dir, 'shards', String(id)),
    shardId: id,
    routingFile,
    args: ['--key', path.join(dir, `key-${id}.json`)],
  });
  for (const id of [1, 2]) {
    const shard = await startShardProcess(opts(id));
    const res = await request(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(table, id, 5, { tag: `s${id}` })),
    });
    expect(res.status).toBe(200);
    expect(await shard.stop()).toBe(0);
  }
  const one = path.join(dir, 'shards', '1');
  const two = path.join(dir, 'shards', '2');
  fs.renameSync(one, `${one}.x`);
  fs.renameSync(two, one);
  fs.renameSync(`${one}.x`, two);

  const refused = await runShardExpectingExit(opts(1));
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    /meta\.json: this directory holds the log of \{"origin":"agdr\.dev\/default\/local\/shard-2"/,
  );
  expect(refused.stderr).toMatch(/not of \{"origin":"agdr\.dev\/default\/local\/shard-1"/);
  expect((await runShardExpectingExit(opts(2))).code).toBe(1);
  // Nothing was written into the wrong log.
  expect(fs.statSync(path.join(one, 'log', 'leaves.idx')).size).toBe(5 * 40);
});
