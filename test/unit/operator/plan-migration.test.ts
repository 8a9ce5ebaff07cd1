// Shard migration planning without a server: a small world of plain data (the routing table,
// the StatefulSet's replicas, status.migrations, pods, the coordinator's view) that applies each
// plan the way reconcile does, so every phase, every restart and every blocker is exercised.
import { describe, expect, it } from 'vitest';
import { epochTableHash } from '../../../src/core/routing.ts';
import type { EpochTable } from '../../../src/core/routing.ts';
import {
  LATE_LOAD_SETTLE_MS,
  MIGRATION_HISTORY,
  planMigration,
} from '../../../src/operator/plan/migration.ts';
import type { MigrationInput, MigrationPlan } from '../../../src/operator/plan/migration.ts';
import type {
  CoordinatorShardView,
  ShardPodObservation,
} from '../../../src/operator/plan/observation.ts';
import type { AgDRMigrationStatus } from '../../../src/operator/types.ts';

const T0 = Date.parse('2026-12-06T12:00:00.000Z');
const LEAD_MS = 60_000;
const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

function firstTable(shards: number): EpochTable {
  return {
    epochs: [
      {
        epoch: 0,
        strategy: 'hash-by-entity',
        key_pointers: ['/entity_id'],
        bucket: 'jump',
        shards,
        params: {},
        effective_from_ns: '0',
      },
    ],
  };
}

/** The cluster as plain data; `step()` plans and applies like reconcile (objects, then status). */
class World {
  table: EpochTable;
  replicas: number;
  history: AgDRMigrationStatus[] = [];
  desired: number;
  keysReadyBelow: number;
  now = T0;
  /** Pods that are Ready (ids below replicas). */
  down = new Set<number>();
  /** Processes serving the current table (they load it at once unless held back). */
  stale = new Set<number | 'coordinator'>();
  coordinatorUp = true;
  /** Per shard: signed time (ms) of the checkpoint the coordinator sealed last. */
  sealedAt = new Map<number, number>();
  missing = new Set<number>();
  /** Per shard: tree size of its latest checkpoint, and of the one sealed (10 + id unless set). */
  size = new Map<number, number>();
  sealedSize = new Map<number, number>();
  last: MigrationPlan | undefined;
  /** What each step observed and planned, to check nothing is removed early. */
  trace: { input: MigrationInput; plan: MigrationPlan }[] = [];

  constructor(shards: number) {
    this.table = firstTable(shards);
    this.replicas = shards;
    this.desired = shards;
    this.keysReadyBelow = 1024;
    for (let i = 0; i < shards; i++) this.sealedAt.set(i, T0 - 1000);
  }

  input(): MigrationInput {
    const hash = epochTableHash(this.table);
    const shards: ShardPodObservation[] = Array.from({ length: this.replicas }, (_, id) => ({
      id,
      exists: true,
      ready: !this.down.has(id),
      restarts: 0,
      treeSize: this.size.get(id) ?? 10 + id,
      ...(!this.down.has(id) && !this.stale.has(id) ? { routingHash: hash } : {}),
    }));
    const views = new Map<number, CoordinatorShardView>();
    for (const [id, t] of this.sealedAt) {
      views.set(id, {
        status: this.missing.has(id) ? 'missing' : 'ok',
        reason: this.missing.has(id) ? 'unreachable' : null,
        sealedSize: this.sealedSize.get(id) ?? 10 + id,
        sealedRoot: String(id % 10).repeat(64),
        sealedCheckpointNs: ns(t),
        openIntervals: this.missing.has(id) ? 1 : 0,
      });
    }
    return {
      desiredShards: this.desired,
      table: this.table,
      replicas: this.replicas,
      history: this.history,
      keysReadyBelow: this.keysReadyBelow,
      observed: {
        shards,
        coordinator: this.coordinatorUp
          ? {
              exists: true,
              ready: true,
              shards: views,
              ...(!this.stale.has('coordinator') ? { routingHash: hash } : {}),
            }
          : { exists: true, ready: false },
      },
      leadTimeMs: LEAD_MS,
      now: new Date(this.now),
    };
  }

  /** A copy of the cluster's state, with an empty trace (an operator restarted on it). */
  clone(): World {
    const w = new World(1);
    Object.assign(w, structuredClone({ ...this, trace: [], last: undefined }));
    return w;
  }

  /** One reconcile: plan, apply replicas and table, store status. */
  step(): MigrationPlan {
    const input = this.input();
    const plan = planMigration(input);
    this.trace.push({ input, plan });
    this.replicas = plan.replicas;
    this.table = plan.table;
    this.history = plan.history;
    this.last = plan;
    return plan;
  }

  /** The coordinator seals every running shard with a checkpoint signed now. */
  seal(): void {
    for (let i = 0; i < this.replicas; i++) {
      if (!this.down.has(i) && !this.missing.has(i) && this.coordinatorUp) {
        this.sealedAt.set(i, this.now);
        this.sealedSize.set(i, this.size.get(i) ?? 10 + i);
      }
    }
  }

  get current(): AgDRMigrationStatus | undefined {
    return this.history[this.history.length - 1];
  }

  /** Advances time past the newest epoch's boundary. */
  pastBoundary(): void {
    const last = this.table.epochs[this.table.epochs.length - 1];
    this.now = Number(BigInt(last?.effective_from_ns ?? '0') / 1_000_000n) + 1000;
  }
}

const reasons = (p: MigrationPlan): string[] => p.events.map((e) => e.reason);

describe('planMigration: nothing to do', () => {
  it('a settled cluster stays as it is: no migration, no events', () => {
    const w = new World(3);
    const p = w.step();
    expect(p.replicas).toBe(3);
    expect(p.table).toEqual(firstTable(3));
    expect(p.history).toEqual([]);
    expect(p.events).toEqual([]);
    expect(p.active).toBeUndefined();
    expect(p.healthBelow).toBe(3);
  });
});

describe('planMigration: scale up 3 -> 5', () => {
  it('starts with status only, then keys, replicas, Ready pods, the epoch, and completes', () => {
    const w = new World(3);
    w.desired = 5;
    w.keysReadyBelow = 3;

    // 1. Started: only status changes.
    let p = w.step();
    expect(reasons(p)).toEqual(['MigrationStarted']);
    expect(p.replicas).toBe(3);
    expect(p.table.epochs).toHaveLength(1);
    expect(w.current).toMatchObject({ epoch: 1, from: 3, to: 5, phase: 'Pending' });
    expect(p.progress).toMatchObject({ status: 'True', reason: 'Migrating' });

    // 2. Keys first: replicas are not raised before the new shards' keys exist.
    p = w.step();
    expect(p.keysWanted).toBe(5);
    expect(p.replicas).toBe(3);
    expect(w.current).toMatchObject({ phase: 'ProvisioningShards', reason: 'WaitingForKeys' });
    expect(w.current?.message).toContain('shards 3, 4');

    // 3. Keys ready: replicas raised; the new pods are not Ready yet.
    w.keysReadyBelow = 5;
    p = w.step();
    expect(p.replicas).toBe(5);
    expect(p.table.epochs).toHaveLength(1);
    w.down = new Set([3, 4]);
    p = w.step();
    expect(w.current).toMatchObject({ phase: 'ProvisioningShards', reason: 'WaitingForShards' });
    expect(w.current?.message).toBe('waiting for shard 3, 4 to be Ready');
    expect(p.healthBelow).toBe(3);

    // 4. Ready: the epoch is appended, effective after the lead time.
    w.down.clear();
    w.stale = new Set([0, 'coordinator']);
    p = w.step();
    expect(p.table.epochs).toHaveLength(2);
    expect(p.table.epochs[1]).toEqual({
      ...firstTable(5).epochs[0],
      epoch: 1,
      effective_from_ns: ns(T0 + LEAD_MS),
    });
    expect(w.current).toMatchObject({
      phase: 'EpochScheduled',
      reason: 'WaitingForEpoch',
      effectiveFromNs: ns(T0 + LEAD_MS),
    });
    // Nothing can serve a table in the step that publishes it.
    expect(w.current?.message).toContain('not yet serving it: shard 0, shard 1, shard 2, shard 3');

    // 5. Shard 0 and the coordinator lag behind; then every process serves it, before the
    // boundary.
    w.now += 1000;
    w.step();
    expect(w.current?.message).toContain('not yet serving it: shard 0, the coordinator');
    expect(w.current?.tableLoadedAt).toBeUndefined();
    w.stale.clear();
    p = w.step();
    expect(w.current?.phase).toBe('EpochScheduled');
    expect(w.current?.tableLoadedAt).toBe('2026-12-06T12:00:01Z');
    expect(p.table.epochs).toHaveLength(2);

    // 6. In force, new shards not sealed yet; then sealed: Completed.
    w.pastBoundary();
    w.step();
    expect(w.current).toMatchObject({ phase: 'EpochScheduled', reason: 'WaitingForSeal' });
    w.seal();
    p = w.step();
    expect(w.current).toMatchObject({ phase: 'Completed', reason: 'ScaledUp' });
    expect(w.current?.completedAt).toBeDefined();
    expect(reasons(p)).toEqual(['MigrationCompleted']);
    expect(p.active).toBeUndefined();
    expect(p.healthBelow).toBe(5);

    // 7. Settled afterwards.
    p = w.step();
    expect(p.events).toEqual([]);
    expect(p.replicas).toBe(5);
    expect(p.table.epochs).toHaveLength(2);
  });
});

/**
 * A world with 5 shards, the migration to 2 started, its epoch published and (unless `stale`
 * names a process holding it back) every process seen serving it before the boundary.
 */
function scalingDown(stale: (number | 'coordinator')[] = []): World {
  const w = new World(5);
  w.desired = 2;
  w.stale = new Set(stale);
  w.step(); // started
  w.step(); // epoch published
  w.now += 1000;
  w.step(); // served
  return w;
}

describe('planMigration: scale down 5 -> 2', () => {
  it('publishes the epoch first, drains, and lowers replicas only once sealed past the boundary', () => {
    const w = new World(5);
    w.desired = 2;
    let p = w.step();
    expect(reasons(p)).toEqual(['MigrationStarted']);
    expect(p.table.epochs).toHaveLength(1);

    p = w.step();
    expect(p.table.epochs[1]).toMatchObject({
      epoch: 1,
      shards: 2,
      effective_from_ns: ns(T0 + LEAD_MS),
    });
    expect(p.replicas).toBe(5);
    expect(w.current).toMatchObject({ phase: 'EpochScheduled', reason: 'WaitingForBoundary' });
    expect(p.draining).toEqual([2, 3, 4]);
    expect(p.healthBelow).toBe(2);
    w.now += 1000;
    w.step();
    expect(w.current?.tableLoadedAt).toBe('2026-12-06T12:00:01Z');

    // Past the boundary, sealed only through checkpoints signed before it.
    w.pastBoundary();
    p = w.step();
    expect(w.current).toMatchObject({ phase: 'Draining', reason: 'WaitingForSeal' });
    expect(p.replicas).toBe(5);

    // Shards 2 and 3 sealed past it; 4 not yet.
    w.sealedAt.set(2, w.now);
    w.sealedAt.set(3, w.now);
    p = w.step();
    expect(p.replicas).toBe(5);
    expect(w.current?.message).toContain('shard 4 through a checkpoint');

    w.seal();
    p = w.step();
    expect(p.replicas).toBe(2);
    expect(w.current).toMatchObject({ phase: 'Completed', reason: 'ScaledDown' });
    expect(reasons(p)).toEqual(['MigrationCompleted']);
    expect(p.retired).toEqual(
      [2, 3, 4].map((id) => ({
        id,
        phase: 'retired',
        retiredFromNs: ns(T0 + LEAD_MS),
        finalSize: 10 + id,
        finalRoot: String(id).repeat(64),
      })),
    );
    expect(p.draining).toEqual([]);

    p = w.step();
    expect(p.events).toEqual([]);
    expect(p.replicas).toBe(2);
  });

  it('a seal at exactly the boundary counts; a checkpoint signed just before does not', () => {
    const w = scalingDown();
    w.pastBoundary();
    const boundaryMs = T0 + LEAD_MS;
    for (const id of [2, 3, 4]) w.sealedAt.set(id, boundaryMs - 1);
    expect(w.step().replicas).toBe(5);
    for (const id of [2, 3, 4]) w.sealedAt.set(id, boundaryMs);
    expect(w.step().replicas).toBe(2);
  });

  it('a shard that served the table only after the boundary: its whole log sealed, then it goes', () => {
    const w = scalingDown([3]);
    expect(w.current?.tableLoadedAt).toBeUndefined();
    w.pastBoundary();
    let p = w.step();
    expect(w.current).toMatchObject({ phase: 'Draining', reason: 'Blocked' });
    expect(w.current?.message).toContain('not serving the routing table of epoch 1: shard 3');
    expect(reasons(p)).toEqual(['MigrationBlocked']);
    // Sealed past the boundary, but shard 3 kept appending by the old table until it loaded
    // the new one; it signs no checkpoint after that once it has none to sign.
    w.size.set(3, 20);
    w.seal();
    w.size.set(3, 25);
    w.stale.clear();
    w.now += 1000;
    p = w.step();
    expect(w.current?.tableLoadedAt).toBeDefined();
    expect(p.replicas).toBe(5);
    expect(w.current?.message).toContain('covering every record (the table was served late)');
    // Its final size sealed, but not yet LATE_LOAD_SETTLE_MS after it served the table.
    w.seal();
    expect(w.step().replicas).toBe(5);
    w.now += LATE_LOAD_SETTLE_MS + 1000;
    p = w.step();
    expect(p.replicas).toBe(2);
    expect(p.retired.find((x) => x.id === 3)?.finalSize).toBe(25);
  });
});

describe('planMigration: blocked drains', () => {
  it('coordinator unavailable: Blocked once, nothing removed, resumes by itself', () => {
    const w = scalingDown();
    w.pastBoundary();
    w.coordinatorUp = false;
    let p = w.step();
    expect(w.current).toMatchObject({ phase: 'Draining', reason: 'Blocked' });
    expect(w.current?.message).toContain('the coordinator is not ready');
    expect(w.current?.message).toContain('no shard is removed');
    expect(p.progress).toMatchObject({ status: 'False', reason: 'MigrationBlocked' });
    expect(reasons(p)).toEqual(['MigrationBlocked']);
    expect(p.replicas).toBe(5);
    p = w.step();
    expect(p.events).toEqual([]);
    w.coordinatorUp = true;
    w.now += 1000;
    w.seal();
    p = w.step();
    expect(p.replicas).toBe(2);
    expect(reasons(p)).toEqual(['MigrationCompleted']);
  });

  it('a retiring shard down or recorded missing: Blocked naming it, nothing removed', () => {
    const w = scalingDown();
    w.pastBoundary();
    w.down = new Set([3]);
    w.missing = new Set([4]);
    w.seal();
    const p = w.step();
    expect(p.replicas).toBe(5);
    expect(w.current?.message).toContain('shard 3 is not ready');
    expect(w.current?.message).toContain('the coordinator records shard 4 missing (unreachable)');
    expect(w.current?.message).toContain('cannot finish draining shard 3, 4');
    w.down.clear();
    w.missing.clear();
    w.now += 1000;
    w.seal();
    expect(w.step().replicas).toBe(2);
  });

  it('a retiring shard already sealed past the boundary may be down', () => {
    const w = scalingDown();
    w.pastBoundary();
    w.seal();
    w.down = new Set([4]);
    expect(w.step().replicas).toBe(2);
  });
});

describe('planMigration: one at a time', () => {
  it('a change of spec.shards during a migration waits, and status says so', () => {
    const w = new World(3);
    w.desired = 5;
    w.step();
    w.desired = 4;
    let p = w.step();
    expect(w.current?.to).toBe(5);
    expect(p.progress?.message).toContain(
      'spec.shards is now 4: that migration starts once this one completes',
    );
    w.step();
    w.pastBoundary();
    w.seal();
    w.step();
    expect(w.current?.phase).toBe('Completed');
    p = w.step();
    expect(reasons(p)).toEqual(['MigrationStarted']);
    expect(w.current).toMatchObject({ epoch: 2, from: 5, to: 4, phase: 'Pending' });
  });

  it('keeps a bounded history, newest last', () => {
    const w = new World(2);
    for (let i = 0; i < MIGRATION_HISTORY + 2; i++) {
      w.desired = w.desired === 2 ? 3 : 2;
      w.step();
      expect(w.current?.phase).toBe('Pending');
      for (let k = 0; k < 8 && w.current?.phase !== 'Completed'; k++) {
        w.step();
        w.now += 1000;
        w.step();
        w.pastBoundary();
        w.seal();
      }
      expect(w.current?.phase).toBe('Completed');
    }
    expect(w.history).toHaveLength(MIGRATION_HISTORY);
    expect(w.history.map((m) => m.epoch)).toEqual(
      Array.from({ length: MIGRATION_HISTORY }, (_, i) => i + 3),
    );
  });

  it('an epoch the table cannot take fails once and is not retried until spec.shards changes', () => {
    const w = new World(3);
    w.desired = 2;
    const input = { ...w.input(), params: { map: { eu: 2 }, default: 0 } };
    w.table.epochs[0] = {
      ...w.table.epochs[0]!,
      strategy: 'domain-partitioned',
      key_pointers: ['/domain'],
      params: { map: { eu: 2 }, default: 0 },
    };
    w.step();
    const p = planMigration({ ...input, table: w.table, history: w.history });
    expect(p.history.at(-1)).toMatchObject({ phase: 'Failed', reason: 'InvalidEpoch' });
    expect(reasons(p)).toEqual(['MigrationFailed']);
    expect(p.replicas).toBe(3);
    const again = planMigration({ ...input, table: w.table, history: p.history });
    expect(again.events).toEqual([]);
    expect(again.history).toEqual(p.history);
  });
});

describe('planMigration: an operator restarted at any phase', () => {
  /** Runs a scale-down with one drain stall, recording (objects, status) before each step. */
  function run(): { snapshots: { world: World; history: AgDRMigrationStatus[] }[] } {
    const w = new World(5);
    w.desired = 2;
    const snapshots: { world: World; history: AgDRMigrationStatus[] }[] = [];
    for (let k = 0; k < 12 && w.current?.phase !== 'Completed'; k++) {
      snapshots.push({ world: w.clone(), history: structuredClone(w.history) });
      w.step();
      if (k === 2) w.pastBoundary();
      if (k === 4) w.seal();
    }
    expect(w.current?.phase).toBe('Completed');
    snapshots.push({ world: w.clone(), history: structuredClone(w.history) });
    return { snapshots };
  }

  it('from each phase, with status as stored, lagging one step, or lost, it completes and never removes early', () => {
    const { snapshots } = run();
    const phases = new Set(snapshots.map((s) => s.history.at(-1)?.phase ?? 'none'));
    expect([...phases].sort()).toEqual([
      'Completed',
      'Draining',
      'EpochScheduled',
      'Pending',
      'none',
    ]);
    for (const [k, snap] of snapshots.entries()) {
      for (const lag of ['stored', 'one step behind', 'lost'] as const) {
        const world = snap.world.clone();
        if (lag === 'one step behind')
          world.history = structuredClone(snapshots[k - 1]?.history ?? []);
        if (lag === 'lost') world.history = [];
        for (let i = 0; i < 10 && (i < 2 || world.replicas !== 2); i++) {
          world.step();
          world.pastBoundary();
          world.now += i * (LATE_LOAD_SETTLE_MS + 1000);
          world.seal();
        }
        expect(world.replicas, `restart at step ${k}, status ${lag}`).toBe(2);
        // Replicas went below 5 only in a step whose observation showed every retiring shard
        // sealed through a checkpoint signed at or after the boundary.
        const boundary = world.table.epochs[1]?.effective_from_ns ?? '';
        const lowered = world.trace.filter((t) => t.input.replicas === 5 && t.plan.replicas < 5);
        expect(lowered).toHaveLength(snap.world.replicas === 5 ? 1 : 0);
        for (const { input } of lowered) {
          for (const id of [2, 3, 4]) {
            const signed = input.observed.coordinator.shards?.get(id)?.sealedCheckpointNs;
            expect(BigInt(signed ?? '0') >= BigInt(boundary)).toBe(true);
          }
        }
        expect(world.table.epochs).toHaveLength(2);
        // A status lost after the migration completed leaves nothing to do and no record of it.
        const settledWithoutStatus = lag === 'lost' && snap.world.replicas === 2;
        expect(world.current?.phase ?? 'none').toBe(settledWithoutStatus ? 'none' : 'Completed');
      }
    }
  });

  it('status lost after the epoch was published resumes the scale-down with MigrationStarted', () => {
    const w = scalingDown();
    w.history = [];
    const p = w.step();
    expect(reasons(p)).toEqual(['MigrationStarted']);
    expect(w.current).toMatchObject({
      epoch: 1,
      from: 5,
      to: 2,
      phase: 'EpochScheduled',
      reason: 'WaitingForBoundary',
    });
    expect(p.replicas).toBe(5);
    expect(p.table.epochs).toHaveLength(2);
  });

  it('status lost after replicas were raised resumes the scale-up without a second epoch', () => {
    const w = new World(3);
    w.desired = 5;
    w.step();
    w.step();
    expect(w.replicas).toBe(5);
    w.history = [];
    w.step();
    expect(w.current).toMatchObject({ epoch: 1, from: 3, to: 5 });
    w.pastBoundary();
    w.seal();
    w.step();
    expect(w.current?.phase).toBe('Completed');
    expect(w.table.epochs.map((e) => [e.epoch, e.shards])).toEqual([
      [0, 3],
      [1, 5],
    ]);
  });
});
