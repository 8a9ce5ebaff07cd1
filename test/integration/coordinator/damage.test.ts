// A global log entry whose bytes change on disk under a running `agdr coordinator` is never
// served: 500 log_corrupt, /healthz and /readyz 503 (so Kubernetes restarts it), and the
// restart refuses to open the damaged log, naming the entry.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  initCluster,
  killAll,
  runAgdr,
  startCoordinatorProcess,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';

afterAll(() => killAll());

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

it('never serves a damaged global log entry and fails liveness and readiness', async () => {
  const dir = tempDir('coordinator-damage');
  const files = await initCluster(dir, 1);
  // The shard never answers: every round still appends a global root (shard 0 missing).
  const started = await startCoordinatorProcess(files, '0=http://127.0.0.1:9', [
    '--shard-timeout',
    '100ms',
  ]);
  const url = started.url;
  await waitFor('two global roots', async () =>
    (await get(`${url}/v1/records/1`)).status === 200 ? true : undefined,
  );
  expect((await get(`${url}/healthz`)).status).toBe(200);

  const seg = path.join(files.coordinator.data, 'log', 'records', '0000000000000000.seg');
  const fd = fs.openSync(seg, 'r+');
  const one = Buffer.alloc(1);
  fs.readSync(fd, one, 0, 1, 40);
  one[0] = (one[0] as number) ^ 0x01;
  fs.writeSync(fd, one, 0, 1, 40);
  fs.closeSync(fd);

  const read = await get(`${url}/v1/records/0`);
  expect(read.status).toBe(500);
  expect(read.body.error).toMatchObject({
    code: 'log_corrupt',
    message: expect.stringMatching(/record 0 \(bytes 0\.\.\d+\) does not match its leaf hash/),
  });
  const health = await get(`${url}/healthz`);
  expect(health.status).toBe(503);
  expect(health.body.reason).toMatch(/record 0/);
  expect((await get(`${url}/readyz`)).status).toBe(503);
  await started.proc.kill('SIGKILL');

  const again = await runAgdr([
    'coordinator',
    '--shards',
    '0=http://127.0.0.1:9',
    '--data',
    files.coordinator.data,
    '--key',
    files.coordinator.key,
    '--trust',
    files.trust,
    '--routing',
    files.routing,
    '--port',
    '0',
  ]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/log corrupt: .*record 0 /);
});
