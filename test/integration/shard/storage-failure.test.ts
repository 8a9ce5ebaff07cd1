// A shard whose log can no longer be written (leaves.idx made immutable under it, as a failing
// or read-only-remounted disk would): the request in flight is told its outcome is unknown,
// liveness and readiness fail (so Kubernetes restarts it) and stay failed after the cause is
// gone, later requests are refused with nothing appended, and after the restart the same
// request (same record_ids) is answered exactly once.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  writeRouting,
} from './shard-process.ts';
import { sdkLine } from '../../fixtures/records.ts';

const immutable: string[] = [];
afterAll(() => {
  for (const f of immutable.splice(0)) execFileSync('chattr', ['-i', f]);
  removeTempDirs();
});

it('fails /healthz and /readyz once the log cannot be written, and answers the request in flight honestly', async () => {
  const table = epochTable(1);
  const dir = tempDir();
  const routingFile = writeRouting(dir, table);
  const dataDir = path.join(dir, 'data');
  const shard = await startShardProcess({ dataDir, shardId: 0, routingFile });
  const [first] = decisionsFor(table, 0, 1, { tag: 'before' });
  expect((await request(`${shard.url}/v1/decisions`, { body: sdkLine(first) })).status).toBe(201);

  const index = path.join(dataDir, 'log', 'leaves.idx');
  execFileSync('chattr', ['+i', index]);
  immutable.push(index);
  const batch = ndjson(decisionsFor(table, 0, 20, { tag: 'during' }));
  const during = await request<{ error: { code: string; message: string } }>(
    `${shard.url}/v1/decisions:batch`,
    { body: batch },
  );
  expect(during.status).toBe(503);
  expect(during.body.error.code).toBe('outcome_unknown');
  expect(during.body.error.message).toMatch(
    /may or may not have been stored; retry the same request/,
  );

  const health = await request<{ status: string; reason: string }>(`${shard.url}/healthz`);
  expect(health.status).toBe(503);
  expect(health.body.reason).toMatch(/log write failed/);
  expect((await request(`${shard.url}/readyz`)).status).toBe(503);
  const after = await request<{ error: { code: string; message: string } }>(
    `${shard.url}/v1/decisions`,
    { body: sdkLine(decisionsFor(table, 0, 1, { tag: 'after' })[0]) },
  );
  expect(after.status).toBe(503);
  expect(after.body.error).toMatchObject({
    code: 'log_unavailable',
    message: expect.stringMatching(/nothing was appended/),
  });

  // The cause goes away; the failed log stays failed until the process restarts.
  execFileSync('chattr', ['-i', index]);
  immutable.pop();
  expect((await request(`${shard.url}/healthz`)).status).toBe(503);
  await shard.kill();

  const again = await startShardProcess({ dataDir, shardId: 0, routingFile });
  expect((await request(`${again.url}/healthz`)).status).toBe(200);
  const retried = await request<{ receipts: { seq: number; record_id: string }[] }>(
    `${again.url}/v1/decisions:batch`,
    { body: batch },
  );
  expect(retried.status).toBe(200);
  const seqs = retried.body.receipts.map((r) => r.seq);
  expect(new Set(seqs).size).toBe(20);
  expect(Math.min(...seqs)).toBe(1);
  expect(await again.stop()).toBe(0);
});
