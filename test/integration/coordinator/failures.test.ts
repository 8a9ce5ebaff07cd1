// Separate real processes (3 `agdr shard`, 1 `agdr coordinator`) and the failures the
// coordinator must survive: a shard killed during ingest (missing, then reconstructed, nothing
// acknowledged lost), a shard log rewritten behind its back (unverified, never sealed), and the
// coordinator itself killed and restarted (the same global log continues).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardClient } from '../../../src/clients/shard-api.ts';
import type { ShardReceipt } from '../../../src/clients/shard-api.ts';
import { CoordinatorClient } from '../../../src/clients/coordinator-api.ts';
import { buildEvidenceBundle } from '../../../src/client/evidence.ts';
import { verifyBundle } from '../../../src/core/bundle.ts';
import { verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { verifyConsistency } from '../../../src/core/merkle/proof.ts';
import { routeDecision } from '../../../src/core/routing.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';
import type { EpochTable } from '../../../src/core/routing.ts';
import type {
  GlobalRootRecord,
  ReconstructionRecord,
} from '../../../src/core/global-root/index.ts';
import type { TrustBundle } from '../../../src/clients/trust.ts';
import {
  decisions,
  startCoordinatorProcess,
  startServer,
  getJson,
  killAll,
  runAgdr,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';
import type { AgdrProcess } from '../e2e/harness.ts';

interface InitInfo {
  routing: string;
  trust: string;
  shards: { id: number; data: string; key: string }[];
  coordinator: { data: string; key: string };
}

const COORDINATOR_ORIGIN = 'agdr.dev/default/local/coordinator';
let dir: string;
let init: InitInfo;
let table: EpochTable;
let trusted: string[];
const ports: number[] = [];
const shardProcs: (AgdrProcess | undefined)[] = [];
let coordinatorPort: number | undefined;
let coordinatorProc: AgdrProcess;
let coordinator: CoordinatorClient;

async function startShard(id: number): Promise<void> {
  const s = init.shards[id] as InitInfo['shards'][number];
  const p = await startServer([
    'shard',
    '--data',
    s.data,
    '--shard-id',
    String(id),
    '--routing',
    init.routing,
    '--key',
    s.key,
    '--port',
    String(ports[id] ?? 0),
    '--checkpoint-interval',
    '200ms',
    '--workers',
    '0',
  ]);
  ports[id] = p.port;
  shardProcs[id] = p.proc;
}

async function startCoordinator(): Promise<void> {
  const list = ports.map((p, i) => `${i}=http://127.0.0.1:${p}`).join(',');
  const started = await startCoordinatorProcess(init, list, [
    '--port',
    String(coordinatorPort ?? 0),
    '--shard-timeout',
    '500ms',
  ]);
  coordinatorProc = started.proc;
  coordinatorPort = started.port;
  coordinator = new CoordinatorClient(started.url);
}

/** Decisions with ids `${tag}-i`, grouped by the shard they route to. */
function routed(n: number, tag: string, t0?: bigint): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of decisions(n, tag, t0).trim().split('\n')) {
    const { shard } = routeDecision(parseJsonExact(line) as Record<string, unknown>, table);
    out.set(shard, [...(out.get(shard) ?? []), line]);
  }
  return out;
}

async function latestRoot(): Promise<GlobalRootRecord> {
  const e = await coordinator.latestGlobalRoot();
  if (e === undefined) throw new Error('no global root sealed yet');
  return e.record;
}

beforeAll(async () => {
  dir = tempDir('failures');
  const r = await runAgdr(['local', '--init', '--shards', '3', '--data', dir]);
  expect(r.code).toBe(0);
  init = JSON.parse(r.stdout) as InitInfo;
  table = JSON.parse(fs.readFileSync(init.routing, 'utf8')) as EpochTable;
  trusted = (JSON.parse(fs.readFileSync(init.trust, 'utf8')) as TrustBundle).keys.map(
    (k) => k.verifier_key,
  );
  await Promise.all([0, 1, 2].map(startShard));
  await startCoordinator();
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('coordinator under failures (real processes)', () => {
  it('marks a shard killed during ingest missing, keeps sealing the others, and reconstructs it', async () => {
    const batches = routed(600, 'ingest');
    const acked = new Map<number, ShardReceipt[]>([
      [0, []],
      [1, []],
      [2, []],
    ]);
    const clients = ports.map((p) => new ShardClient(`http://127.0.0.1:${p}`, 5000));
    // Ingest in small batches to every shard; shard 1 is SIGKILLed part-way.
    let killed = false;
    const ingest = async (shard: number): Promise<void> => {
      const lines = batches.get(shard) ?? [];
      for (let i = 0; i < lines.length; i += 10) {
        try {
          const receipts = await clients[shard]?.submitBatch(
            lines.slice(i, i + 10).join('\n') + '\n',
          );
          acked.get(shard)?.push(...(receipts ?? []));
        } catch (err) {
          if (!(shard === 1 && killed)) throw err;
          return;
        }
        if (shard === 1 && i >= lines.length / 2 && !killed) {
          killed = true;
          await shardProcs[1]?.kill('SIGKILL');
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await Promise.all([0, 1, 2].map(ingest));
    expect(killed).toBe(true);
    expect(acked.get(1)?.length).toBeGreaterThan(0);

    const missing = await waitFor('a global root with shard 1 missing', async () => {
      const g = await latestRoot();
      return g?.shard_roots[1]?.status === 'missing' ? g : undefined;
    });
    // Killed between the two fetches of a round, the shard fails the consistency proof's.
    expect(missing.shard_roots[1]?.reason).toMatch(/(checkpoint|consistency proof) fetch failed/);
    // The other shards keep accepting and being sealed while shard 1 is down.
    const more = routed(60, 'while-down', 1_800_000_000_000_000_000n);
    const extra = await clients[0]?.submitBatch((more.get(0) ?? []).join('\n') + '\n');
    expect(extra?.length).toBe(more.get(0)?.length);
    const size0 = (acked.get(0)?.length ?? 0) + (extra?.length ?? 0);
    await waitFor('shard 0 sealed while shard 1 is missing', async () => {
      const g = await latestRoot();
      return g.shard_roots[0]?.status === 'ok' &&
        g.shard_roots[0].tree_size >= size0 &&
        g.shard_roots[1]?.status === 'missing'
        ? true
        : undefined;
    });

    // On a loaded machine shard 1 may have missed a round (its 500 ms timeout) before the kill
    // and been reconstructed already: only a reconstruction appended after the restart counts.
    const reconstructedShard1 = async (): Promise<{ index: number; shard_id: number }[]> =>
      (
        await getJson<{
          reconstructed: { index: number; shard_id: number }[];
          open: unknown[];
        }>(`${coordinator.url}/v1/missing`)
      ).reconstructed.filter((x) => x.shard_id === 1);
    const earlier = new Set((await reconstructedShard1()).map((x) => x.index));
    await startShard(1);
    const reconstruction = await waitFor('a reconstruction record for shard 1', async () =>
      (await reconstructedShard1()).find((x) => !earlier.has(x.index)),
    );
    const record = (
      await getJson<{ record: ReconstructionRecord }>(
        `${coordinator.url}/v1/records/${reconstruction.index}`,
      )
    ).record;
    expect(record.type).toBe('reconstruction');
    expect(record.missed_intervals.length).toBeGreaterThan(0);
    expect(record.tree_size).toBeGreaterThanOrEqual(acked.get(1)?.length ?? 0);

    // Every record shard 1 acknowledged before the kill is provable and verifies.
    await waitFor('shard 1 sealed again in a global root', async () => {
      const g = await latestRoot();
      return g.shard_roots[1]?.status === 'ok' ? true : undefined;
    });
    for (const receipt of acked.get(1) ?? []) {
      const bundle = await buildEvidenceBundle(
        coordinator,
        { shard: 1, seq: receipt.seq },
        { waitMs: 5000, timeoutMs: 5000 },
      );
      expect(JSON.parse(bundle.envelope).decision.record_id).toBe(receipt.record_id);
      const report = verifyBundle(bundle, { trustedKeys: trusted });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    }
  });

  it('marks a shard whose log was rewritten unverified and never seals it', async () => {
    const before = (await latestRoot()).shard_roots[2];
    expect(before?.status).toBe('ok');
    expect(before?.tree_size).toBeGreaterThan(0);
    // Stop shard 2, throw its log away, start it again with the same key and other records.
    await shardProcs[2]?.kill('SIGTERM');
    fs.rmSync((init.shards[2] as InitInfo['shards'][number]).data, {
      recursive: true,
      force: true,
    });
    await startShard(2);
    const forged = (routed(900, 'forged', 1_900_000_000_000_000_000n).get(2) ?? []).slice(
      0,
      (before?.tree_size ?? 0) + 5,
    );
    const client = new ShardClient(`http://127.0.0.1:${ports[2]}`);
    for (let i = 0; i < forged.length; i += 50)
      await client.submitBatch(forged.slice(i, i + 50).join('\n') + '\n');

    const flagged = await waitFor('a global root with shard 2 unverified', async () => {
      const g = await latestRoot();
      return g.shard_roots[2]?.status === 'unverified' ? g : undefined;
    });
    expect(flagged.shard_roots[2]).toMatchObject({
      tree_size: before?.tree_size,
      root: before?.root,
      checkpoint: null,
      record_count: 0,
    });
    expect(flagged.shard_roots[2]?.reason).toMatch(/consistency|fork|shrank/);
    // It stays unverified round after round; the sealed root never moves to the forged log.
    const firstId = flagged.global_root_id;
    const later = await waitFor('two more global roots', async () => {
      const g = await latestRoot();
      return g.global_root_id >= firstId + 2 ? g : undefined;
    });
    expect(later.shard_roots[2]).toMatchObject({
      status: 'unverified',
      root: before?.root,
      tree_size: before?.tree_size,
    });
    const missing = await getJson<{ open: { shard_id: number; status: string }[] }>(
      `${coordinator.url}/v1/missing`,
    );
    expect(missing.open).toContainEqual(
      expect.objectContaining({ shard_id: 2, status: 'unverified' }),
    );
  });

  it('continues the same global log after the coordinator is killed and restarted', async () => {
    const a = verifyCheckpoint(await coordinator.latestCheckpoint(), trusted, COORDINATOR_ORIGIN);
    const lastBefore = await latestRoot();
    await coordinatorProc.kill('SIGKILL');
    await startCoordinator();
    const b = await waitFor('the restarted coordinator to seal more', async () => {
      const cp = verifyCheckpoint(
        await coordinator.latestCheckpoint(),
        trusted,
        COORDINATOR_ORIGIN,
      );
      return cp.size >= a.size + 2 ? cp : undefined;
    });
    verifyConsistency(
      blake3,
      a.size,
      b.size,
      await coordinator.consistencyProof(a.size, b.size),
      a.rootHash,
      b.rootHash,
    );
    // Global root ids continue without a gap or a repeat, and each links to the one before.
    const all = await getJson<{ global_roots: { record: GlobalRootRecord }[] }>(
      `${coordinator.url}/v1/global-roots?from=0&limit=1000`,
    );
    const roots = all.global_roots.map((e) => e.record);
    expect(roots.map((r) => r.global_root_id)).toEqual(roots.map((_, i) => i));
    for (let i = 1; i < roots.length; i++)
      expect(roots[i]?.prev_global_root).toBe(roots[i - 1]?.global_merkle_root);
    expect(roots.length).toBeGreaterThan(lastBefore.global_root_id + 1);
    // And the shard left unverified is still unverified after the restart (state rebuilt from the log).
    expect((await latestRoot()).shard_roots[2]?.status).toBe('unverified');
  });
});
