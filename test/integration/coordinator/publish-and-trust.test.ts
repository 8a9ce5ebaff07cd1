// Publication of global checkpoints to a witness URL (retried, never blocking aggregation) and
// the trust bundle re-read on change, on real processes.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../../src/clients/coordinator-api.ts';
import { verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import type { TrustBundle } from '../../../src/clients/trust.ts';
import {
  getJson,
  initCluster,
  killAll,
  startCoordinatorProcess,
  startServer,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';

const ORIGIN = 'agdr.dev/default/local/coordinator';
let dir: string;
let witness: http.Server;
const posts: { status: number; note: string }[] = [];
let coordinator: CoordinatorClient;
let fullTrust: TrustBundle;
let liveTrust: string;

beforeAll(async () => {
  dir = tempDir('publish');
  const init = await initCluster(dir, 1);
  fullTrust = JSON.parse(fs.readFileSync(init.trust, 'utf8')) as TrustBundle;
  // Start with a trust bundle that does not know the shard's key.
  liveTrust = path.join(dir, 'trust-live.json');
  fs.writeFileSync(
    liveTrust,
    JSON.stringify({ version: 1, keys: fullTrust.keys.filter((k) => k.role === 'coordinator') }),
  );

  // A witness that refuses the first two checkpoints, then accepts.
  witness = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      const status = posts.length < 2 ? 503 : 200;
      posts.push({ status, note: body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => witness.listen(0, '127.0.0.1', resolve));
  const witnessUrl = `http://127.0.0.1:${(witness.address() as AddressInfo).port}/add-checkpoint`;

  const shard = await startServer([
    'shard',
    '--data',
    init.shards[0]?.data as string,
    '--shard-id',
    '0',
    '--routing',
    init.routing,
    '--key',
    init.shards[0]?.key as string,
    '--port',
    '0',
    '--checkpoint-interval',
    '200ms',
    '--workers',
    '0',
  ]);
  const started = await startCoordinatorProcess(init, shard.url, [
    '--trust',
    liveTrust,
    '--publish-url',
    witnessUrl,
  ]);
  coordinator = new CoordinatorClient(started.url);
});

afterAll(async () => {
  await killAll();
  witness.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('publication and trust reload', () => {
  it('marks a shard with no trusted key unverified, then seals it once the trust file names its key', async () => {
    const unverified = await waitFor('a global root with the shard unverified', async () => {
      const g = (await coordinator.latestGlobalRoot())?.record;
      return g?.shard_roots[0]?.status === 'unverified' ? g : undefined;
    });
    expect(unverified.shard_roots[0]?.reason).toMatch(/no trusted key/);

    fs.writeFileSync(liveTrust, JSON.stringify(fullTrust));
    await waitFor('the shard sealed after the trust reload', async () => {
      const g = (await coordinator.latestGlobalRoot())?.record;
      return g?.shard_roots[0]?.status === 'ok' ? true : undefined;
    });
    const missing = await getJson<{ reconstructed: { shard_id: number }[]; open: unknown[] }>(
      `${coordinator.url}/v1/missing`,
    );
    expect(missing.open).toEqual([]);
    expect(missing.reconstructed.map((r) => r.shard_id)).toContain(0);
    const keys = await getJson<TrustBundle>(`${coordinator.url}/v1/keys`);
    expect(keys.keys.map((k) => k.role).sort()).toEqual(['coordinator', 'shard']);
  });

  it('publishes global checkpoints, retrying failures without holding up aggregation', async () => {
    const accepted = await waitFor('an accepted publication', async () => {
      const ok = posts.filter((p) => p.status === 200);
      return ok.length >= 2 ? ok : undefined;
    });
    expect(posts.slice(0, 2).map((p) => p.status)).toEqual([503, 503]);
    const keys = fullTrust.keys.map((k) => k.verifier_key);
    const sizes = accepted.map((p) => verifyCheckpoint(p.note, keys, ORIGIN).size);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeGreaterThan(sizes[i - 1] as number);
    // Aggregation never waited for the witness: the log is at least as far as what was published.
    const latest = verifyCheckpoint(await coordinator.latestCheckpoint(), keys, ORIGIN);
    expect(latest.size).toBeGreaterThanOrEqual(sizes[sizes.length - 1] as number);
  });
});
