// A shard whose record_id index can no longer be written, over HTTP on 127.0.0.1: the real log,
// the real LMDB index (made to fail with a key it refuses) and the real HTTP layer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { MerkleLog } from '../../../src/log-store/index.ts';
import { DEFAULT_SHARD_LIMITS } from '../../../src/shard-runtime/config.ts';
import { CallerAuth, NO_CALLER_AUTH } from '../../../src/shard-runtime/caller-auth.ts';
import { shardApp } from '../../../src/shard-runtime/http.ts';
import { Ingestor } from '../../../src/shard-runtime/ingest.ts';
import { ShardMetrics } from '../../../src/shard-runtime/metrics.ts';
import { BodyBudget } from '../../../src/shard-runtime/request-body.ts';
import { RecordIndex } from '../../../src/shard-runtime/record-index.ts';
import { packIds } from '../../../src/shard-runtime/record-ids.ts';
import { RoutingTable } from '../../../src/shard-runtime/routing-table.ts';
import {
  decisionsFor,
  epochTable,
  removeTempDirs,
  request,
  tempDir,
  writeRouting,
} from './shard-process.ts';
import { sdkLine } from '../../fixtures/records.ts';

const closers: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  removeTempDirs();
});

it('stops taking decisions and fails /healthz and /readyz once the index cannot be written', async () => {
  const logger = pino({ level: 'silent' });
  const table = epochTable(1);
  const dir = tempDir();
  const routing = new RoutingTable(writeRouting(dir, table), logger);
  const log = await MerkleLog.open({ dir: path.join(dir, 'log') });
  const index = await RecordIndex.open(path.join(dir, 'index'), log, logger);
  const ingestor = new Ingestor(
    log,
    index,
    0,
    () => undefined,
    undefined,
    () => table,
  );
  closers.push(
    () => log.close(),
    () => index.close(),
    () => ingestor.drain(),
    () => routing.close(),
  );
  const metrics = new ShardMetrics(0, () => log.size, false);
  const app = shardApp({
    shardId: 0,
    log,
    ingestor,
    routing,
    pool: undefined,
    metrics,
    limits: DEFAULT_SHARD_LIMITS,
    browsers: { allowOrigins: [], allowHosts: [] },
    auth: new CallerAuth(NO_CALLER_AUTH, { metrics, logger }),
    bodyBudget: new BodyBudget(DEFAULT_SHARD_LIMITS.maxInflightBodyBytes),
    accepting: () => true,
    indexFailure: () => index.failure,
    onError: () => undefined,
    onPoolError: () => undefined,
    keyHistory: () => {
      throw new Error('this test serves no key history');
    },
    signingFailure: () => undefined,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const [a, b] = decisionsFor(table, 0, 2, { tag: 'idx-fail' });
  const first = await request(`${url}/v1/decisions`, { body: sdkLine(a) });
  expect(first.status).toBe(201);
  expect((await request(`${url}/healthz`)).status).toBe(200);
  expect((await request(`${url}/readyz`)).status).toBe(200);

  // A commit LMDB refuses (a key longer than any it takes) puts the index in its failed state.
  await expect(index.add(packIds(['k'.repeat(4000)]), [0], log.size)).rejects.toThrow();
  const health = await request<{ status: string; reason: string }>(`${url}/healthz`);
  expect(health.status).toBe(503);
  expect(health.body).toMatchObject({
    status: 'failed',
    reason: expect.stringMatching(/commit failed/),
  });
  expect((await request(`${url}/readyz`)).status).toBe(503);
  const size = log.size;
  const refused = await request<{ error: { code: string } }>(`${url}/v1/decisions`, {
    body: sdkLine(b),
  });
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe('index_unavailable');
  expect(log.size).toBe(size);
  // What was acknowledged stays readable.
  const stored = await request(`${url}/v1/records/0`);
  expect(stored.status).toBe(200);
});
