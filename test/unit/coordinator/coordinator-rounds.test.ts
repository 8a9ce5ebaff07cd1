// The aggregation loop over simulated shards (real trees, real signed checkpoints, in-memory
// readers) and a real global log on disk: statuses, reconstruction, fork detection, restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../../src/coordinator/coordinator.ts';
import type { CoordinatorConfig } from '../../../src/coordinator/coordinator.ts';
import type { ShardReader } from '../../../src/coordinator/shard-check.ts';
import { trustedKey } from '../../../src/clients/trust.ts';
import type { TrustBundle } from '../../../src/clients/trust.ts';
import { initialEpochTable } from '../../../src/cli/client/local-cluster.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { fromBase64, utf8 } from '../../../src/core/bytes.ts';
import { consistencyProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { verifyConsistency } from '../../../src/core/merkle/proof.ts';
import {
  coordinatorOrigin,
  parseCheckpoint,
  shardOrigin,
  signCheckpoint,
  verifyCheckpoint,
} from '../../../src/core/checkpoint.ts';
import { parseNote, verifierKeyString } from '../../../src/core/note.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import {
  verifyGlobalRootRecord,
  verifyReconstructionRecord,
} from '../../../src/core/global-root/index.ts';
import type {
  GlobalRootRecord,
  ReconstructionRecord,
} from '../../../src/core/global-root/index.ts';

const NS = 'test';
const CLUSTER = 'c1';

class SimShard implements ShardReader {
  leaves: Uint8Array[] = [];
  down = false;
  readonly signer;
  constructor(id: number) {
    this.signer = ed25519SignerFromSeed(
      shardOrigin(NS, CLUSTER, id),
      new Uint8Array(32).fill(id + 1),
    );
  }
  grow(n: number, tag = 'r'): void {
    const start = this.leaves.length;
    for (let i = 0; i < n; i++)
      this.leaves.push(blake3.hashLeaf(utf8.encode(`${tag}-${start + i}`)));
  }
  hang = false;
  latestCheckpoint(): Promise<string> {
    if (this.hang) return new Promise(() => undefined);
    if (this.down) return Promise.reject(new Error('ECONNREFUSED'));
    const size = this.leaves.length;
    return signCheckpoint(
      { origin: this.signer.name, size, rootHash: merkleRoot(blake3, this.leaves) },
      this.signer,
    );
  }
  consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    if (this.down) return Promise.reject(new Error('ECONNREFUSED'));
    return Promise.resolve(consistencyProof(blake3, this.leaves, from, to));
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(shardCount: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-coord-'));
  dirs.push(dir);
  const shards = Array.from({ length: shardCount }, (_, i) => new SimShard(i));
  const coordinatorSigner = ed25519SignerFromSeed(
    coordinatorOrigin(NS, CLUSTER),
    new Uint8Array(32).fill(99),
  );
  const trust: TrustBundle = {
    version: 1,
    keys: shards.map((s, i) => trustedKey('shard', s.signer, i)),
  };
  fs.writeFileSync(path.join(dir, 'trust.json'), JSON.stringify(trust));
  fs.writeFileSync(path.join(dir, 'routing.json'), JSON.stringify(initialEpochTable(shardCount)));
  let clock = 1_000_000_000_000n;
  const config: CoordinatorConfig = {
    namespace: NS,
    cluster: CLUSTER,
    dataDir: path.join(dir, 'global'),
    shards: { kind: 'template', template: 'http://sim/{i}' },
    intervalMs: 1000,
    trustFile: path.join(dir, 'trust.json'),
    routingFile: path.join(dir, 'routing.json'),
    signer: coordinatorSigner,
    host: '127.0.0.1',
    port: 0,
    concurrency: 8,
    shardTimeoutMs: 1000,
    logger: pino({ level: 'silent' }),
    clockNs: () => (clock += 1_000_000_000n),
    readerFor: (id) => shards[id] as SimShard,
  };
  const coordinatorKey = verifierKeyString(coordinatorSigner.name, coordinatorSigner.publicKey);
  return { shards, config, coordinatorKey, shardKeys: trust.keys.map((k) => k.verifier_key) };
}

async function record<T>(c: Coordinator, index: number): Promise<T> {
  const e = await c.view.entry(index);
  return e?.record as T;
}

async function latestRecord(c: Coordinator): Promise<GlobalRootRecord> {
  const e = await c.view.latestGlobalRoot();
  if (e === undefined) throw new Error('no global root sealed yet');
  return e.record;
}

describe('Coordinator rounds', () => {
  it('seals, marks missing, reconstructs, catches a fork, and resumes after a restart', async () => {
    const { shards, config, coordinatorKey, shardKeys } = setup(3);
    const [s0, s1, s2] = shards as [SimShard, SimShard, SimShard];
    s0.grow(5);
    s1.grow(3);
    let c = await Coordinator.open(config);

    // Round 0: everything verifies.
    let r = await c.aggregate();
    expect(r).toMatchObject({
      globalRootId: 0,
      statuses: { 0: 'ok', 1: 'ok', 2: 'ok' },
      reconstructions: [],
    });
    const g0 = await record<GlobalRootRecord>(c, 0);
    expect(verifyGlobalRootRecord(g0, [coordinatorKey], { shardKeys })).toBeTruthy();
    expect(g0.total_records_in_interval).toBe(8);
    expect(g0.prev_global_root).toBeNull();

    // Round 1: shard 1 is down; the others keep being sealed.
    s0.grow(2);
    s1.grow(4);
    s1.down = true;
    r = await c.aggregate();
    expect(r.statuses).toEqual({ 0: 'ok', 1: 'missing', 2: 'ok' });
    const g1 = await record<GlobalRootRecord>(c, 1);
    expect(g1.prev_global_root).toBe(g0.global_merkle_root);
    expect(g1.shard_roots[1]).toMatchObject({
      status: 'missing',
      tree_size: 3,
      record_count: 0,
      checkpoint: null,
    });
    expect(g1.total_records_in_interval).toBe(2);
    expect(c.state.missingReport().open).toMatchObject([
      { shard_id: 1, intervals: [{ global_root_id: 1 }] },
    ]);

    // Round 2: shard 1 is back: a reconstruction record, then the global root.
    s1.down = false;
    r = await c.aggregate();
    expect(r).toMatchObject({ globalRootId: 2, reconstructions: [1], statuses: { 1: 'ok' } });
    const rec = await record<ReconstructionRecord>(c, 2);
    expect(rec.type).toBe('reconstruction');
    expect(verifyReconstructionRecord(rec, [coordinatorKey], { shardKeys })).toBeTruthy();
    expect(rec).toMatchObject({
      shard_id: 1,
      from: { tree_size: 3 },
      tree_size: 7,
      missed_intervals: [{ global_root_id: 1 }],
    });
    const g2 = await record<GlobalRootRecord>(c, 3);
    expect(g2.global_root_id).toBe(2);
    expect(c.state.missingReport()).toMatchObject({
      open: [],
      reconstructed: [{ shard_id: 1, size: 7 }],
    });

    // Round 3: shard 2's log is rewritten behind the coordinator's back: unverified, not sealed.
    s2.grow(4, 'first');
    r = await c.aggregate();
    expect(r.statuses[2]).toBe('ok');
    s2.leaves = [];
    s2.grow(6, 'forked');
    r = await c.aggregate();
    expect(r.statuses[2]).toBe('unverified');
    const g4 = await latestRecord(c);
    expect(g4.shard_roots[2]).toMatchObject({
      status: 'unverified',
      tree_size: 4,
      checkpoint: null,
    });
    expect(c.state.shard(2).sealed?.size).toBe(4);

    // Seal lookups for evidence bundles: the first global root that sealed each size, never a
    // reconstruction record, never the forged log.
    expect((await c.view.sealing(1, 3))?.record.global_root_id).toBe(0);
    expect((await c.view.sealing(1, 5))?.record.global_root_id).toBe(2);
    expect((await c.view.sealing(2, 4))?.record.global_root_id).toBe(3);
    expect(await c.view.sealing(2, 5)).toBeUndefined();

    const checkpointBefore = (await c.view.latestCheckpoint()) as string;
    const before = parseCheckpoint(parseNote(checkpointBefore).text);
    await c.close();

    // Restart: the same log continues (no fork, no duplicate id), state rebuilt from the log.
    c = await Coordinator.open(config);
    expect(c.state.nextId).toBe(5);
    expect(c.state.shard(2).open).toHaveLength(1);
    r = await c.aggregate();
    expect(r.globalRootId).toBe(5);
    expect(r.statuses[2]).toBe('unverified');
    const after = verifyCheckpoint(
      (await c.view.latestCheckpoint()) as string,
      [coordinatorKey],
      coordinatorOrigin(NS, CLUSTER),
    );
    expect(after.size).toBe(before.size + 1);
    verifyConsistency(
      blake3,
      before.size,
      after.size,
      await c.view.consistencyProof(before.size, after.size),
      before.rootHash,
      after.rootHash,
    );
    const g5 = await latestRecord(c);
    expect(g5.prev_global_root).toBe(g4.global_merkle_root);
    expect(fromBase64(checkpointBefore.split('\n')[2] as string)).toEqual(before.rootHash);
    await c.close();
  });

  it('finds the global root that sealed a given shard size', async () => {
    const { shards, config } = setup(1);
    const s0 = shards[0] as SimShard;
    const c = await Coordinator.open(config);
    s0.grow(3);
    await c.aggregate();
    s0.grow(3);
    await c.aggregate();
    expect((await c.view.sealing(0, 2))?.index).toBe(0);
    expect((await c.view.sealing(0, 4))?.index).toBe(1);
    expect(await c.view.sealing(0, 7)).toBeUndefined();
    await c.close();
  });

  it('restarts from a state snapshot, or replays the whole log when the snapshot does not match', async () => {
    const { shards, config } = setup(2);
    const [s0, s1] = shards as [SimShard, SimShard];
    let c = await Coordinator.open(config);
    for (let k = 0; k < 5; k++) {
      s0.grow(2);
      s1.grow(1);
      s1.down = k === 2;
      await c.aggregate();
    }
    s1.down = true;
    await c.aggregate();
    const summary = (co: Coordinator) => ({
      size: co.state.size,
      nextId: co.state.nextId,
      roots: [0, 1, 2, 3, 4, 5, 6].map((id) => co.state.rootIndex.at(id)),
      shards: [0, 1].map((id) => co.state.describeShard(id)),
      open: co.state.missingReport(),
      presence: [...co.state.presence.entries()],
    });
    const live = summary(c);
    expect(live.open.open).toHaveLength(1);
    expect(live.open.reconstructed).toHaveLength(1);
    await c.close();
    const snapshotFile = path.join(config.dataDir, 'state.json');
    expect(fs.existsSync(snapshotFile)).toBe(true);

    // From the snapshot.
    c = await Coordinator.open(config);
    expect(c.replayedFrom).toBe(live.size);
    expect(summary(c)).toEqual(live);
    await c.close();

    // A snapshot whose digest does not check is ignored: full replay, same state.
    const snap = JSON.parse(fs.readFileSync(snapshotFile, 'utf8')) as { size: number };
    snap.size -= 1;
    fs.writeFileSync(snapshotFile, JSON.stringify(snap));
    c = await Coordinator.open(config);
    expect(c.replayedFrom).toBe(0);
    expect(summary(c)).toEqual(live);
    await c.close();

    // A snapshot of another history (a different root at its size) is ignored as well.
    const other = setup(2);
    other.shards[0]?.grow(1);
    const o = await Coordinator.open(other.config);
    await o.aggregate();
    await o.close();
    fs.copyFileSync(path.join(other.config.dataDir, 'state.json'), snapshotFile);
    c = await Coordinator.open(config);
    expect(c.replayedFrom).toBe(0);
    expect(summary(c)).toEqual(live);
    // And the log continues from there.
    s1.down = false;
    const r = await c.aggregate();
    expect(r).toMatchObject({ globalRootId: 6, reconstructions: [1] });
    await c.close();
  });

  it('does not let a shard that never answers hold the round past its deadline', async () => {
    const { shards, config } = setup(3);
    for (const s of shards) s.grow(2);
    (shards[1] as SimShard).hang = true;
    const c = await Coordinator.open({ ...config, intervalMs: 1000, shardTimeoutMs: 60_000 });
    const t0 = Date.now();
    const r = await c.aggregate();
    // Deadline: 0.8 of the 1 s interval for the fetches, then build, sign and append.
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r.statuses).toEqual({ 0: 'ok', 1: 'missing', 2: 'ok' });
    const g = await latestRecord(c);
    expect(g.shard_roots[1]?.reason).toMatch(/no answer within \d+ ms/);
    await c.close();
  });

  it('measures lag from the latest sealed root, also after a restart', async () => {
    const { shards, config } = setup(1);
    let now = 5_000_000_000_000n;
    const clocked = { ...config, clockNs: () => now };
    shards[0]?.grow(1);
    let c = await Coordinator.open(clocked);
    await c.aggregate();
    await c.close();
    // Down for an hour: the restarted coordinator is an hour behind, not up to date.
    now += 3_600_000_000_000n;
    c = await Coordinator.open(clocked);
    const lag = (await c.metrics.lagSeconds.get()).values[0]?.value;
    expect(lag).toBe(3600);
    // Every labelled series is there from the start, at 0 until something happens.
    const text = await c.metrics.registry.metrics();
    for (const series of [
      'agdr_coordinator_rounds_total{result="failed"} 0',
      'agdr_coordinator_trust_reloads_total{result="error"} 0',
      'agdr_coordinator_shards{status="unverified"} 0',
    ])
      expect(text).toContain(series);
    await c.close();
  });

  it('abandons a round in flight on close instead of waiting for silent shards, sealing nothing', async () => {
    const { shards, config } = setup(2);
    for (const s of shards) s.grow(1);
    (shards[1] as SimShard).hang = true;
    const c = await Coordinator.open({ ...config, intervalMs: 60_000, shardTimeoutMs: 60_000 });
    const round = c.aggregate();
    const outcome = round.then(
      () => 'sealed',
      (err: unknown) => (err as { code?: string }).code,
    );
    const t0 = Date.now();
    await c.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await outcome).toBe('stopped');
    expect(c.state.nextId).toBe(0);
  }, 10_000);

  it('recovers from a crash between appending a global root and signing its checkpoint', async () => {
    const { shards, config, coordinatorKey } = setup(1);
    shards[0]?.grow(2);
    let c = await Coordinator.open(config);
    await c.aggregate();
    // The disk fails right after the append: the entry is durable, its checkpoint is not.
    c.log.saveCheckpoint = () => Promise.reject(new Error('disk full'));
    await expect(c.aggregate()).rejects.toMatchObject({ code: 'global_log_failed' });
    expect(c.ready()).toBe(false);
    expect(c.log.size).toBe(2);
    expect(c.log.latestCheckpointSize()).toBe(1);
    await expect(c.aggregate()).rejects.toMatchObject({ code: 'global_log_failed' });
    await c.close();

    c = await Coordinator.open(config);
    // The restart signs the checkpoint the crash missed and continues the same chain.
    const note = (await c.view.latestCheckpoint()) as string;
    expect(verifyCheckpoint(note, [coordinatorKey], coordinatorOrigin(NS, CLUSTER)).size).toBe(2);
    shards[0]?.grow(1);
    const r = await c.aggregate();
    expect(r.globalRootId).toBe(2);
    const [g1, g2] = await Promise.all([
      record<GlobalRootRecord>(c, 1),
      record<GlobalRootRecord>(c, 2),
    ]);
    expect(g2.prev_global_root).toBe(g1.global_merkle_root);
    await c.close();
  });

  it('a key service outage stops its own signing too: the shards missed meanwhile are sealed as missing once it signs again, then reconstructed', async () => {
    const { shards, config, coordinatorKey, shardKeys } = setup(2);
    const [s0, s1] = shards as [SimShard, SimShard];
    let signerDown = false;
    const signer = config.signer;
    config.signer = {
      name: signer.name,
      publicKey: signer.publicKey,
      keyVersion: signer.keyVersion,
      sign: (m) => (signerDown ? Promise.reject(new Error('vault unreachable')) : signer.sign(m)),
    };
    s0.grow(2);
    s1.grow(2);
    const c = await Coordinator.open(config);
    await c.aggregate();
    // Both down: shard 1 cannot sign its checkpoint (it answers 503), the coordinator cannot
    // sign its global roots; two rounds fail.
    signerDown = true;
    s1.down = true;
    s0.grow(1);
    await expect(c.aggregate()).rejects.toThrow(/vault unreachable/);
    await expect(c.aggregate()).rejects.toThrow(/vault unreachable/);
    expect(c.state.nextId).toBe(1);
    // The key service is back: the coordinator signs first, the shard answers again.
    signerDown = false;
    s1.down = false;
    s1.grow(3);
    const r = await c.aggregate();
    // The gap's global root (shard 1 missing), the reconstruction, this round's global root.
    expect(r.globalRootId).toBe(2);
    const gap = await record<GlobalRootRecord>(c, 1);
    verifyGlobalRootRecord(gap, [coordinatorKey], { shardKeys });
    expect(gap.shard_roots.map((e) => [e.status, e.reason])).toEqual([
      ['ok', null],
      [
        'missing',
        'checkpoint fetch failed: ECONNREFUSED (while the coordinator could not sign a global root)',
      ],
    ]);
    const rec = await record<ReconstructionRecord>(c, 2);
    expect(rec.type).toBe('reconstruction');
    verifyReconstructionRecord(rec, [coordinatorKey], { shardKeys });
    expect(rec.missed_intervals.map((m) => m.global_root_id)).toEqual([1]);
    expect([rec.from?.tree_size, rec.tree_size]).toEqual([2, 5]);
    const now = await record<GlobalRootRecord>(c, 3);
    expect(now.shard_roots.map((e) => [e.status, e.record_count])).toEqual([
      ['ok', 0],
      ['ok', 3],
    ]);
    expect(now.prev_global_root).toBe(gap.global_merkle_root);
    // No outage, no extra root.
    s0.grow(1);
    expect((await c.aggregate()).globalRootId).toBe(3);
    await c.close();
  });
});
