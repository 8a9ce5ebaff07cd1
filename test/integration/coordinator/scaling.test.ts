// Scaling on real processes: routing epoch changes at a future boundary. Scale up 2 -> 3 (the
// new shard is aggregated once its epoch is in force, decisions route by the epoch in force at
// their own timestamp, old records keep proving under the old epoch) and scale down 3 -> 2 (the
// retired shard takes decisions right up to the boundary, refuses every append after it, is
// aggregated until a checkpoint it signed at or after the boundary is sealed, then no longer
// fetched, and everything it acknowledged stays sealed and provable).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../../src/clients/coordinator-api.ts';
import { ShardClient } from '../../../src/clients/shard-api.ts';
import type { ShardReceipt } from '../../../src/clients/shard-api.ts';
import { buildEvidenceBundle, EvidenceError } from '../../../src/client/evidence.ts';
import { verifyBundle } from '../../../src/core/bundle.ts';
import type { EvidenceBundle } from '../../../src/core/bundle.ts';
import { parseCheckpoint } from '../../../src/core/checkpoint.ts';
import type { GlobalRootRecord } from '../../../src/core/global-root/index.ts';
import { parseNote } from '../../../src/core/note.ts';
import { epochTableHash, routeDecision } from '../../../src/core/routing.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';
import type { RoutingEpoch, EpochTable } from '../../../src/core/routing.ts';
import type { TrustBundle } from '../../../src/clients/trust.ts';
import {
  decisions,
  freePort,
  getJson,
  initCluster,
  killAll,
  runAgdr,
  startCoordinatorProcess,
  startShardOf,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';
import type { AgdrProcess, ClusterFiles } from '../e2e/harness.ts';

interface Decision {
  record_id: string;
  [member: string]: unknown;
}

let dir: string;
let files: ClusterFiles;
let trusted: string[];
let epoch0: RoutingEpoch;
let table0: EpochTable;
let table1: EpochTable;
let boundary1: bigint;
const ports: number[] = [];
const procs: (AgdrProcess | undefined)[] = [];
let coordinator: CoordinatorClient;
let shardsFile: string;
/** Every receipt each shard gave, by shard id. */
const acked = new Map<number, ShardReceipt[]>([
  [0, []],
  [1, []],
  [2, []],
]);

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const shardUrl = (id: number): string => `http://127.0.0.1:${ports[id]}`;

/** Replaces the routing file the shards and the coordinator watch (atomically). */
function publishRouting(table: EpochTable): void {
  const tmp = `${files.routing}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(table));
  fs.renameSync(tmp, files.routing);
}

function publishShards(ids: number[]): void {
  const shards = ids.map((id) => ({ id, url: shardUrl(id) }));
  fs.writeFileSync(`${shardsFile}.tmp`, JSON.stringify({ shards }));
  fs.renameSync(`${shardsFile}.tmp`, shardsFile);
}

async function startShard(id: number): Promise<void> {
  procs[id] = (await startShardOf(files, id, ports[id])).proc;
}

/** Waits until every listed shard routes by `table`. */
async function shardsUse(table: EpochTable, ids: number[]): Promise<void> {
  const want = epochTableHash(table);
  for (const id of ids) {
    await waitFor(`shard ${id} to load routing table ${want}`, async () => {
      const res = await fetch(`${shardUrl(id)}/v1/routing`);
      await res.arrayBuffer();
      return res.headers.get('x-agdr-routing-hash') === want ? true : undefined;
    });
  }
}

/** Decisions grouped by the shard `table` routes them to. */
function routed(lines: string[], table: EpochTable): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of lines) {
    const { shard } = routeDecision(parseJsonExact(line) as Decision, table);
    out.set(shard, [...(out.get(shard) ?? []), line]);
  }
  return out;
}

async function submit(groups: Map<number, string[]>): Promise<ShardReceipt[]> {
  const all: ShardReceipt[] = [];
  for (const [shard, lines] of groups) {
    const receipts = await new ShardClient(shardUrl(shard), 5000).submitBatch(
      lines.join('\n') + '\n',
    );
    expect(receipts).toHaveLength(lines.length);
    for (const r of receipts) expect(r.shard_id).toBe(shard);
    acked.get(shard)?.push(...receipts);
    all.push(...receipts);
  }
  return all;
}

/** POSTs one decision to a shard; returns the status and body text. */
async function post(shard: number, line: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${shardUrl(shard)}/v1/decisions`, {
    method: 'POST',
    body: line,
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
}

async function roots(): Promise<GlobalRootRecord[]> {
  const page = await getJson<{ global_roots: { record: GlobalRootRecord }[] }>(
    `${coordinator.url}/v1/global-roots?from=0&limit=10000`,
  );
  return page.global_roots.map((e) => e.record);
}

const entryOf = (g: GlobalRootRecord, shard: number) =>
  g.shard_roots.find((e) => e.shard_id === shard);

/** Builds and verifies (against the trust bundle's keys) the evidence bundle of a receipt. */
async function prove(receipt: ShardReceipt): Promise<EvidenceBundle> {
  const bundle = await buildEvidenceBundle(
    coordinator,
    { shard: receipt.shard_id, seq: receipt.seq },
    { waitMs: 10_000, timeoutMs: 5000 },
  );
  expect(JSON.parse(bundle.envelope).decision.record_id).toBe(receipt.record_id);
  const report = verifyBundle(bundle, { trustedKeys: trusted });
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.ok).toBe(true);
  return bundle;
}

beforeAll(async () => {
  dir = tempDir('scaling');
  files = await initCluster(dir, 3);
  trusted = (JSON.parse(fs.readFileSync(files.trust, 'utf8')) as TrustBundle).keys.map(
    (k) => k.verifier_key,
  );
  // The cluster starts with two shards; shard 2 is keyed and trusted but not routed to yet.
  const initial = JSON.parse(fs.readFileSync(files.routing, 'utf8')) as EpochTable;
  epoch0 = { ...(initial.epochs[0] as RoutingEpoch), shards: 2 };
  table0 = { epochs: [epoch0] };
  publishRouting(table0);
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  await Promise.all([0, 1].map(startShard));
  // A shards file, as the operator writes it: a retired shard's pod (and URL) goes away.
  shardsFile = path.join(dir, 'shards.json');
  publishShards([0, 1, 2]);
  const started = await startCoordinatorProcess(files, { file: shardsFile }, [
    '--shard-timeout',
    '500ms',
  ]);
  coordinator = new CoordinatorClient(started.url);
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('coordinator scaling through routing epochs (real processes)', () => {
  it('scales up 2 -> 3 at a future boundary', async () => {
    const before = await submit(routed(decisions(40, 'pre').trim().split('\n'), table0));
    expect(acked.get(0)?.length).toBeGreaterThan(0);
    expect(acked.get(1)?.length).toBeGreaterThan(0);
    const g0 = await waitFor('a global root over shards 0 and 1', async () => {
      const g = (await coordinator.latestGlobalRoot())?.record;
      return g !== undefined && g.shard_roots.every((e) => e.status === 'ok') ? g : undefined;
    });
    expect(g0.shard_roots.map((e) => e.shard_id)).toEqual([0, 1]);

    // New shard Ready first, then the new epoch at a boundary a few seconds ahead.
    await startShard(2);
    boundary1 = nowNs() + 3_000_000_000n;
    table1 = {
      epochs: [epoch0, { ...epoch0, epoch: 1, shards: 3, effective_from_ns: String(boundary1) }],
    };
    publishRouting(table1);
    await shardsUse(table1, [0, 1, 2]);

    // Decisions timestamped after the boundary route (client-side) to all three shards.
    const after = decisions(90, 'post', boundary1 + 1n)
      .trim()
      .split('\n');
    const groups = routed(after, table1);
    expect([...groups.keys()].sort()).toEqual([0, 1, 2]);
    for (const r of await submit(groups)) expect(r.routing.epoch).toBe(1);

    // A shard refuses what routes elsewhere under the epoch in force at the decision's time.
    const moved = after.find(
      (l) =>
        routeDecision(parseJsonExact(l) as Decision, table0).shard !== 2 &&
        routeDecision(parseJsonExact(l) as Decision, table1).shard === 2,
    ) as string;
    expect(moved).toBeDefined();
    const oldHome = routeDecision(parseJsonExact(moved) as Decision, table0).shard;
    const refused = await post(oldHome, moved);
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'misrouted', shard_id: 2 } });
    const oldLine = decisions(1, 'late-old').trim();
    const oldShard = routeDecision(parseJsonExact(oldLine) as Decision, table1).shard;
    expect(oldShard).toBeLessThan(2);
    const refusedOld = await post(2, oldLine);
    expect(refusedOld.status).toBe(421);
    expect(JSON.parse(refusedOld.text)).toMatchObject({
      error: { code: 'misrouted', shard_id: oldShard },
    });

    // From the first round that starts after the boundary on, shard 2 is in every global root, ok.
    const size2 = acked.get(2)?.length ?? 0;
    await waitFor('shard 2 sealed with every record it acknowledged', async () => {
      const g = (await coordinator.latestGlobalRoot())?.record;
      if (g === undefined || BigInt(g.interval_start_ns) < boundary1) return undefined;
      const e = entryOf(g, 2);
      return e?.status === 'ok' && e.tree_size >= size2 ? true : undefined;
    });
    const all = await roots();
    const afterBoundary = all.filter((g) => BigInt(g.interval_start_ns) >= boundary1);
    expect(afterBoundary.length).toBeGreaterThan(0);
    for (const g of afterBoundary) {
      expect(g.shard_roots.map((e) => [e.shard_id, e.status])).toEqual([
        [0, 'ok'],
        [1, 'ok'],
        [2, 'ok'],
      ]);
      expect(g.routing_epoch_hash).toBe(epochTableHash(table1));
    }
    for (const g of all.filter((x) => BigInt(x.interval_end_ns) < boundary1))
      expect(entryOf(g, 2)).toBeUndefined();

    // Records from before the boundary prove and verify under the old epoch.
    for (const receipt of before.filter((_, i) => i % 4 === 0)) {
      const bundle = await prove(receipt);
      const decision = (parseJsonExact(bundle.envelope) as { decision: Decision }).decision;
      expect(routeDecision(decision, bundle.routing.epoch_table)).toMatchObject({
        epoch: 0,
        shard: receipt.shard_id,
      });
      expect(JSON.parse(bundle.envelope).routing.epoch).toBe(0);
    }
    // ... and through the CLI: `agdr prove` then `agdr verify` on one of them.
    const out = path.join(dir, 'pre-0.bundle.json');
    const proved = await runAgdr([
      'prove',
      '--coordinator',
      coordinator.url,
      '--record-id',
      (before[0] as ShardReceipt).record_id,
      '--out',
      out,
      '--wait',
      '10s',
    ]);
    expect(proved.code, proved.stderr).toBe(0);
    const verified = await runAgdr(['verify', out, '--trust', files.trust]);
    expect(verified.code, verified.stdout).toBe(0);
    // Records after the boundary prove too, on every shard, under the new epoch.
    for (const shard of [0, 1, 2]) {
      const receipt = (acked.get(shard) ?? []).find((r) => r.record_id.startsWith('post-'));
      const bundle = await prove(receipt as ShardReceipt);
      expect(JSON.parse(bundle.envelope).routing.epoch).toBe(1);
    }
  }, 30_000);

  it('scales down 3 -> 2: the retired shard is sealed to the end, then no longer fetched', async () => {
    // More records for shard 2 while it is still routed to.
    const more = decisions(60, 'late', boundary1 + 1_000_000n)
      .trim()
      .split('\n');
    await submit(routed(more, table1));
    const size2 = acked.get(2)?.length ?? 0;

    const boundary2 = nowNs() + 3_000_000_000n;
    const table2: EpochTable = {
      epochs: [
        ...table1.epochs,
        { ...epoch0, epoch: 2, shards: 2, effective_from_ns: String(boundary2) },
      ],
    };
    publishRouting(table2);
    await shardsUse(table2, [0, 1, 2]);

    // Decisions stamped with the current time go to shard 2 right up to the boundary; past it
    // (on the shard's clock) it refuses them, even those stamped before the boundary.
    for (let k = 0; nowNs() < boundary2 + 300_000_000n; k++) {
      const lines = decisions(17, `edge-${k}`, nowNs()).trim().split('\n');
      const line = routed(lines, table2).get(2)?.[0];
      if (line !== undefined) {
        const r = await post(2, line);
        if (r.status === 201) {
          acked.get(2)?.push(JSON.parse(r.text) as ShardReceipt);
        } else {
          expect(r.status, r.text).toBe(409);
          expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'shard_retired', epoch: 2 } });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((acked.get(2)?.length ?? 0) - size2).toBeGreaterThan(0);
    // A late decision stamped before the boundary, routed to shard 2 by the old epoch: refused.
    const late = decisions(17, 'late-before', boundary2 - 1_000_000n)
      .trim()
      .split('\n');
    const lateLine = routed(late, table2).get(2)?.[0] as string;
    expect(lateLine).toBeDefined();
    const lateRefused = await post(2, lateLine);
    expect(lateRefused.status).toBe(409);
    expect(JSON.parse(lateRefused.text)).toMatchObject({
      error: { code: 'shard_retired', epoch: 2, retired_from_ns: String(boundary2) },
    });
    expect(JSON.parse(lateRefused.text).error.message).toMatch(/current timestamp/);
    const sizeAtBoundary = acked.get(2)?.length ?? 0;
    expect(
      acked
        .get(2)
        ?.map((r) => r.seq)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: sizeAtBoundary }, (_, i) => i));

    // After the boundary no new record reaches shard 2.
    const next = decisions(30, 'gone', boundary2).trim().split('\n');
    const wouldHaveGone = next.find(
      (l) => routeDecision(parseJsonExact(l) as Decision, table1).shard === 2,
    ) as string;
    expect(wouldHaveGone).toBeDefined();
    const refused = await post(2, wouldHaveGone);
    expect(refused.status).toBe(421);
    await submit(routed(next, table2));
    expect(acked.get(2)).toHaveLength(sizeAtBoundary);

    // Shard 2 stays in the global roots until its final checkpoint is sealed after the boundary.
    const last = await waitFor(
      'a global root without shard 2',
      async () => {
        const all = await roots();
        const i = all.findIndex((g) => BigInt(g.interval_end_ns) > boundary2 && !entryOf(g, 2));
        return i > 0 ? { dropped: all[i] as GlobalRootRecord, before: all.slice(0, i) } : undefined;
      },
      15_000,
    );
    const final = last.before.at(-1) as GlobalRootRecord;
    expect(BigInt(final.interval_end_ns)).toBeGreaterThan(boundary2);
    const finalEntry = entryOf(final, 2);
    expect(finalEntry).toMatchObject({ status: 'ok', tree_size: sizeAtBoundary });
    // ... sealing a checkpoint the shard signed at or after the boundary.
    const signed = parseCheckpoint(parseNote(finalEntry?.checkpoint as string).text);
    expect(signed.timestampNs).toBeGreaterThanOrEqual(boundary2);
    for (const g of last.before.filter((x) => BigInt(x.interval_start_ns) >= boundary1))
      expect(entryOf(g, 2)?.status).toBe('ok');
    expect(last.dropped.shard_roots.map((e) => e.shard_id)).toEqual([0, 1]);
    // GET /v1/shards reports what the operator waits for before removing the shard: the signed
    // time of the sealed checkpoint, past the boundary, and nothing open.
    const listed = (await new CoordinatorClient(coordinator.url).shards()).find(
      (s) => s.shard_id === 2,
    );
    expect(listed).toMatchObject({
      status: 'ok',
      sealed_size: sizeAtBoundary,
      sealed_checkpoint_ns: String(signed.timestampNs),
      open_intervals: 0,
    });

    // Its process can go away: the following global roots do not mark it missing.
    await procs[2]?.kill('SIGTERM');
    const stoppedAt = (await roots()).length;
    const later = await waitFor('two more global roots', async () => {
      const all = await roots();
      return all.length >= stoppedAt + 2 ? all.slice(last.dropped.global_root_id) : undefined;
    });
    for (const g of later) {
      expect(g.shard_roots.map((e) => [e.shard_id, e.status])).toEqual([
        [0, 'ok'],
        [1, 'ok'],
      ]);
      expect(g.routing_epoch_hash).toBe(epochTableHash(table2));
    }
    const missing = await getJson<{ open: { shard_id: number }[] }>(
      `${coordinator.url}/v1/missing`,
    );
    expect(missing.open).toEqual([]);

    // Its pod gone, the listing has no URL for it: proving by record_id names it as not asked,
    // for a record it holds (not found elsewhere) and for one on a served shard (a note).
    publishShards([0, 1]);
    await waitFor('shard 2 listed without a URL', async () =>
      (await coordinator.shards()).find((s) => s.shard_id === 2)?.url === null ? true : undefined,
    );
    const onRetired = (acked.get(2) ?? [])[0] as ShardReceipt;
    const onServed = (acked.get(0) ?? [])[0] as ShardReceipt;
    const opts = { waitMs: 10_000, timeoutMs: 5000 };
    const err = await buildEvidenceBundle(
      coordinator,
      { recordId: onRetired.record_id },
      opts,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EvidenceError);
    expect((err as EvidenceError).code).toBe('not_found');
    expect((err as EvidenceError).message).toMatch(/retired shards not served: 2 .*--shard-url/);
    const notes: string[] = [];
    const onZero = await buildEvidenceBundle(
      coordinator,
      { recordId: onServed.record_id },
      { ...opts, onNote: (t) => notes.push(t) },
    );
    expect(verifyBundle(onZero, { trustedKeys: trusted }).ok).toBe(true);
    expect(notes).toEqual([
      expect.stringMatching(/^record_id .* is on shard 0 seq \d+; retired shards not served: 2 /),
    ]);

    // Every record it ever acknowledged still proves and verifies, served from its archived log
    // (named with --shard-url / shardUrls, as the coordinator no longer lists it).
    await startShard(2);
    const served = await buildEvidenceBundle(
      coordinator,
      { recordId: onRetired.record_id },
      {
        ...opts,
        shardUrls: new Map([[2, shardUrl(2)]]),
      },
    );
    expect(JSON.parse(served.envelope).decision.record_id).toBe(onRetired.record_id);
    publishShards([0, 1, 2]);
    await waitFor('shard 2 listed with its URL again', async () =>
      (await coordinator.shards()).find((s) => s.shard_id === 2)?.url !== null ? true : undefined,
    );
    for (const receipt of acked.get(2) ?? []) await prove(receipt);
    // Serving its archive again does not bring it back into aggregation.
    const now = (await roots()).length;
    const again = await waitFor('one more global root', async () => {
      const all = await roots();
      return all.length > now ? all.at(-1) : undefined;
    });
    expect(entryOf(again as GlobalRootRecord, 2)).toBeUndefined();
  }, 30_000);
});
