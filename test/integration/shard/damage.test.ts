// Damage to stored records found after start, over HTTP against a real `agdr shard`: a record
// whose bytes no longer match its leaf hash is never served (by seq, by record_id, or as a
// proof's leaf); the shard says so loudly (500 log_corrupt, /healthz and /readyz 503, no more
// appends), keeps the finding across the restart it causes, and starts again once the bytes are
// restored.
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
  waitFor,
  writeRouting,
} from './shard-process.ts';
import { sdkLine } from '../../fixtures/records.ts';

afterAll(() => removeTempDirs());

const table = epochTable(1);

/** XORs one byte of record `seq` (segment 0) with `mask`; returns the segment path. */
function flipRecordByte(dataDir: string, seq: number, mask: number): string {
  const idx = fs.readFileSync(path.join(dataDir, 'log', 'leaves.idx'));
  const start = seq === 0 ? 0 : idx.readUInt32LE((seq - 1) * 40 + 32);
  const seg = path.join(dataDir, 'log', 'records', '0000000000000000.seg');
  const data = fs.readFileSync(seg);
  data.writeUInt8((data.readUInt8(start + 30) ^ mask) & 0xff, start + 30);
  fs.writeFileSync(seg, data);
  return seg;
}

it('never serves a record whose bytes changed on disk, fails health, and refuses to restart until restored', async () => {
  const dir = tempDir();
  const routingFile = writeRouting(dir, table);
  const dataDir = path.join(dir, 'data');
  const shard = await startShardProcess({ dataDir, shardId: 0, routingFile });
  const batch = decisionsFor(table, 0, 300, { tag: 'dmg' });
  const res = await request(`${shard.url}/v1/decisions:batch`, { body: ndjson(batch) });
  expect(res.status).toBe(200);
  expect(await shard.stop()).toBe(0);

  // One byte of record 5 changes while the shard is down; the tail check on start does not
  // reach it (it is far below the durable marker), so the shard starts.
  flipRecordByte(dataDir, 5, 0x01);
  // No scrub here: the reads themselves must find it.
  const noScrub = ['--scrub-rate', '0'];
  const again = await startShardProcess({ dataDir, shardId: 0, routingFile, args: noScrub });
  expect((await request(`${again.url}/healthz`)).status).toBe(200);
  expect((await request(`${again.url}/v1/records/6`)).status).toBe(200);

  const read = await request<{ error: { code: string; message: string } }>(
    `${again.url}/v1/records/5`,
  );
  expect(read.status).toBe(500);
  expect(read.body.error.code).toBe('log_corrupt');
  expect(read.body.error.message).toMatch(
    /record 5 \(bytes \d+\.\.\d+\) does not match its leaf hash/,
  );
  expect(read.text).not.toContain('dmg-');
  const byId = await request(`${again.url}/v1/records?record_id=${String(batch[5]?.record_id)}`);
  expect(byId.status).toBe(500);
  const proof = await request(`${again.url}/v1/proofs/inclusion?index=5&size=300`);
  expect(proof.status).toBe(500);

  // Liveness and readiness fail (Kubernetes restarts it); nothing new is taken meanwhile.
  const health = await request<{ status: string; reason: string }>(`${again.url}/healthz`);
  expect(health.status).toBe(503);
  expect(health.body.reason).toMatch(/record 5/);
  expect((await request(`${again.url}/readyz`)).status).toBe(503);
  const more = await request(`${again.url}/v1/decisions`, {
    body: sdkLine(decisionsFor(table, 0, 1, { tag: 'after' })[0]),
  });
  expect(more.status).toBe(503);
  expect(again.stderr()).toMatch(/stored log data is damaged/);
  expect(await again.stop()).toBe(0);

  // The finding outlives the restart: the next start checks record 5 again and refuses.
  const refused = await runShardExpectingExit({ dataDir, shardId: 0, routingFile });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/record 5 .*still damaged/);

  // Restored (the same byte flipped back), it starts, clears the finding and serves record 5.
  flipRecordByte(dataDir, 5, 0x01);
  const restored = await startShardProcess({ dataDir, shardId: 0, routingFile, args: noScrub });
  expect((await request(`${restored.url}/v1/records/5`)).status).toBe(200);
  expect((await request(`${restored.url}/healthz`)).status).toBe(200);
  expect(fs.existsSync(path.join(dataDir, 'log', 'DAMAGE'))).toBe(false);
  expect(await restored.stop()).toBe(0);

  // Damage no request touches is found by the background scrub (on by default).
  flipRecordByte(dataDir, 7, 0x02);
  const scrubbed = await startShardProcess({ dataDir, shardId: 0, routingFile });
  const failed = await waitFor(async () => {
    const h = await request<{ reason: string }>(`${scrubbed.url}/healthz`);
    return h.status === 503 ? h.body.reason : undefined;
  });
  expect(failed).toMatch(/record 7 \(bytes \d+\.\.\d+\) does not match its leaf hash/);
  const metrics = (await request<string>(`${scrubbed.url}/metrics`)).text;
  expect(metrics).toMatch(/agdr_shard_scrub_records_total\{shard="0"\} \d+/);
  expect(metrics).toMatch(/agdr_shard_storage_failed\{shard="0"\} 1\b/);
  expect(await scrubbed.stop()).toBe(0);
});
