// Status planning: conditions per the API conventions, per-shard state, and the Events of what
// changed. No server: observations are plain data and `now` is passed in.
import { describe, expect, it } from 'vitest';
import { planMigration } from '../../../src/operator/plan/migration.ts';
import { planStatus } from '../../../src/operator/plan/status.ts';
import type { AgDRClusterStatus } from '../../../src/operator/types.ts';
import { healthy } from './fixtures.ts';

const T0 = new Date('2026-12-06T12:00:00.000Z');
const T1 = new Date('2026-12-06T12:01:00.000Z');
const T2 = new Date('2026-12-06T12:02:00.000Z');

const cond = (s: AgDRClusterStatus, type: string) => s.conditions?.find((c) => c.type === type);
const reasons = (events: { reason: string }[]) => events.map((e) => e.reason);

describe('planStatus', () => {
  it('reports a healthy cluster Ready with per-shard state and the latest global root', () => {
    const { status, events } = planStatus(undefined, healthy(3).build(), T0);
    expect(status.observedGeneration).toBe(1);
    expect(status.readyShards).toBe(3);
    expect(status.selector).toBe('sel');
    expect(status.routingEpoch).toBe(0);
    expect(status.globalRoot).toEqual({
      id: 7,
      root: 'ab'.repeat(32),
      timestampNs: '1767225600000000000',
    });
    expect(status.shardStatus?.[1]).toEqual({
      id: 1,
      phase: 'active',
      ready: true,
      treeSize: 101,
      lastSealedSize: 91,
      coordinatorStatus: 'ok',
    });
    expect(cond(status, 'Ready')).toEqual({
      type: 'Ready',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: '2026-12-06T12:00:00Z',
      reason: 'AllShardsReady',
      message: '3 of 3 shards ready and sealed; coordinator ready',
    });
    expect(cond(status, 'Progressing')?.status).toBe('False');
    expect(cond(status, 'Degraded')?.status).toBe('False');
    expect(status.missingShards).toEqual([]);
    expect(reasons(events)).toEqual(['Created', 'Ready']);
  });

  it('is stable: the same observation later changes nothing, not even transition times', () => {
    const first = planStatus(undefined, healthy().build(), T0).status;
    const again = planStatus(first, healthy().build(), T1);
    expect(again.status).toEqual(first);
    expect(again.events).toEqual([]);
  });

  it('while coming up is Progressing, not Degraded', () => {
    const { status, events } = planStatus(undefined, healthy().shardDown(2, 0).build(), T0);
    expect(cond(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ShardsNotReady' });
    expect(cond(status, 'Ready')?.message).toBe('2 of 3 shards ready; not ready: shard 2');
    expect(cond(status, 'Progressing')).toMatchObject({ status: 'True', reason: 'Provisioning' });
    expect(cond(status, 'Degraded')?.status).toBe('False');
    expect(status.readyShards).toBe(2);
    expect(reasons(events)).toEqual(['Created']);
  });

  it('a shard lost and back: ShardNotReady + Degraded, then ShardReady + Recovered', () => {
    const ready = planStatus(undefined, healthy().build(), T0).status;
    const down = planStatus(ready, healthy().shardDown(1, 2).build(), T1);
    expect(cond(down.status, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ShardsNotReady',
      lastTransitionTime: '2026-12-06T12:01:00Z',
    });
    expect(cond(down.status, 'Ready')?.lastTransitionTime).toBe('2026-12-06T12:01:00Z');
    expect(cond(down.status, 'Progressing')?.status).toBe('False');
    expect(down.status.shardStatus?.[1]).toEqual({
      id: 1,
      phase: 'active',
      ready: false,
      lastSealedSize: 91,
      coordinatorStatus: 'ok',
    });
    expect(down.events).toEqual([
      { type: 'Warning', reason: 'ShardNotReady', note: 'shard 1 is not ready (restarts: 2)' },
      { type: 'Warning', reason: 'Degraded', note: '2 of 3 shards ready; not ready: shard 1' },
    ]);
    // Back, but the coordinator has not sealed it again yet: still degraded.
    const unsealed = planStatus(down.status, healthy().sealed(1, 'unverified').build(), T2);
    expect(cond(unsealed.status, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ShardsNotSealed',
    });
    expect(reasons(unsealed.events)).toEqual(['ShardReady']);
    expect(unsealed.status.missingShards).toEqual([]);
    const back = planStatus(unsealed.status, healthy().build(), T2);
    expect(cond(back.status, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(cond(back.status, 'Ready')?.status).toBe('True');
    expect(reasons(back.events)).toEqual(['Recovered']);
    expect(back.status.missingShards).toEqual([]);
  });

  it('a shard missing for intervals: missingShards, Degraded ShardMissing and ShardMissing, then ShardReconstructed when the coordinator records it', () => {
    const ready = planStatus(undefined, healthy().build(), T0).status;
    // The coordinator missed shard 2 in global roots 8 and 9 (its pod still looks ready).
    const missing = planStatus(
      ready,
      healthy().missed(2, 8, 2, 'no answer within 800 ms').build(),
      T1,
    );
    const entry = {
      id: 2,
      since: '2027-01-15T08:00:00Z',
      missedIntervals: 2,
      firstMissedGlobalRootId: 8,
      reason: 'no answer within 800 ms',
    };
    expect(missing.status.missingShards).toEqual([entry]);
    expect(cond(missing.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ShardsNotSealed',
    });
    expect(cond(missing.status, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ShardMissing',
      lastTransitionTime: '2026-12-06T12:01:00Z',
    });
    expect(cond(missing.status, 'Degraded')?.message).toBe(
      'shard 2 missed 2 intervals since 2027-01-15T08:00:00Z (from global root 8): no answer within 800 ms; ' +
        'records since the last seal are not in a global root until the coordinator reconstructs the shard; ' +
        'the latest global root did not seal every shard: shard 2 missing',
    );
    expect(missing.events).toEqual([
      {
        type: 'Warning',
        reason: 'ShardMissing',
        note: 'shard 2 missed 2 intervals since 2027-01-15T08:00:00Z (from global root 8): no answer within 800 ms',
      },
      { type: 'Warning', reason: 'Degraded', note: cond(missing.status, 'Degraded')?.message },
    ]);

    // Another interval missed: the count grows, since and the transition time stay, no new Event.
    const longer = planStatus(
      missing.status,
      healthy().missed(2, 8, 3, 'no answer within 800 ms').build(),
      T2,
    );
    expect(longer.status.missingShards).toEqual([{ ...entry, missedIntervals: 3 }]);
    expect(cond(longer.status, 'Degraded')?.lastTransitionTime).toBe('2026-12-06T12:01:00Z');
    expect(longer.events).toEqual([]);

    // The coordinator could not be read: not knowing is not a reconstruction.
    const unknown = healthy().missed(2, 8, 3).build();
    const blind = planStatus(
      longer.status,
      { ...unknown, coordinator: { exists: true, ready: true, readError: 'timeout' } },
      T2,
    );
    expect(blind.status.missingShards).toEqual(longer.status.missingShards);
    expect(reasons(blind.events)).not.toContain('ShardReconstructed');

    // The coordinator appended reconstruction record 23 sealing shard 2 at size 150.
    const back = planStatus(
      longer.status,
      healthy().missed(2, 8, 3).reconstructed(2, 23, 150).build(),
      T2,
    );
    expect(back.status.missingShards).toEqual([]);
    expect(cond(back.status, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(back.events).toEqual([
      {
        type: 'Normal',
        reason: 'ShardReconstructed',
        note: 'shard 2 reconstructed: global log entry 23 seals it at size 150, covering 3 missed intervals (global roots 8..10)',
      },
      { type: 'Normal', reason: 'Recovered', note: cond(back.status, 'Ready')?.message },
    ]);
  });

  it('a shard missing while its pod is down: ShardMissing names the condition, with the pod problem in the message', () => {
    const ready = planStatus(undefined, healthy().build(), T0).status;
    const s = planStatus(ready, healthy().shardDown(1).missed(1, 4, 1).build(), T1).status;
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'ShardMissing' });
    expect(cond(s, 'Degraded')?.message).toMatch(
      /^shard 1 missed 1 interval since .*; 2 of 3 shards ready; not ready: shard 1$/,
    );
  });

  it('a second episode of the same shard is a new ShardMissing; only a listed reconstruction clears with an Event', () => {
    const ready = planStatus(undefined, healthy().build(), T0).status;
    const first = planStatus(ready, healthy().missed(0, 3, 1).build(), T1).status;
    const second = planStatus(first, healthy().missed(0, 9, 1).build(), T2);
    // Episode 3 left the open list without a reconstruction the coordinator lists: no Event for it.
    expect(reasons(second.events)).toEqual(['ShardMissing']);
    expect(second.status.missingShards?.[0]?.firstMissedGlobalRootId).toBe(9);
  });

  it('while a cluster comes up, missing shards are in status but raise no Event and no Degraded', () => {
    const s = planStatus(undefined, healthy().missed(0, 0, 2).build(), T0);
    expect(s.status.missingShards?.map((m) => m.id)).toEqual([0]);
    expect(cond(s.status, 'Degraded')?.status).toBe('False');
    expect(reasons(s.events)).toEqual(['Created']);
  });

  it('names a coordinator that is down', () => {
    const ready = planStatus(undefined, healthy().build(), T0).status;
    const { status } = planStatus(ready, healthy().coordinatorDown().build(), T1);
    expect(cond(status, 'Ready')).toMatchObject({ status: 'False', reason: 'CoordinatorNotReady' });
    expect(cond(status, 'Degraded')?.status).toBe('True');
    // The last known global root stays in status.
    expect(status.globalRoot?.id).toBe(7);
  });

  it('a migration: its history, Progressing and Events; joining shards do not degrade Ready', () => {
    const ready = planStatus(undefined, healthy(3).build(), T0).status;
    const input = {
      desiredShards: 5,
      table: healthy(3).build().routing!,
      replicas: 3,
      history: [],
      keysReadyBelow: 5,
      observed: healthy(3).build(),
      leadTimeMs: 60_000,
      now: T1,
    };
    const started = planMigration(input);
    const { status, events } = planStatus(ready, healthy(3).desired(5).build(), T1, started);
    expect(status.migrations).toEqual([
      {
        epoch: 1,
        from: 3,
        to: 5,
        phase: 'Pending',
        startedAt: '2026-12-06T12:01:00Z',
        reason: 'Started',
        message: 'spec.shards changed',
      },
    ]);
    expect(cond(status, 'Progressing')).toMatchObject({ status: 'True', reason: 'Migrating' });
    expect(cond(status, 'Ready')?.status).toBe('True');
    expect(reasons(events)).toEqual(['MigrationStarted']);

    // Replicas raised: shards 3 and 4 exist but are neither Ready nor sealed.
    const raised = planMigration({ ...input, history: status.migrations ?? [], now: T2 });
    expect(raised.replicas).toBe(5);
    const five = healthy(5).desired(5).shardDown(3, 0).shardDown(4, 0).sealed(3, null);
    const next = planStatus(status, five.build(), T2, raised);
    expect(cond(next.status, 'Ready')?.status).toBe('True');
    expect(cond(next.status, 'Degraded')?.status).toBe('False');
    expect(next.status.shardStatus?.map((x) => [x.id, x.phase, x.ready])).toEqual([
      [0, 'active', true],
      [1, 'active', true],
      [2, 'active', true],
      [3, 'active', false],
      [4, 'active', false],
    ]);
    expect(next.events).toEqual([]);
  });

  it('a scale-down: draining shards, then retired ones with their final checkpoint, kept', () => {
    const obs = healthy(4).desired(2).build();
    const draining = {
      replicas: 4,
      table: obs.routing!,
      history: [],
      events: [],
      keysWanted: 4,
      retired: [],
      healthBelow: 2,
      draining: [2, 3],
    };
    const ready = planStatus(undefined, healthy(4).build(), T0).status;
    const during = planStatus(ready, obs, T1, draining).status;
    expect(during.shardStatus?.map((x) => [x.id, x.phase])).toEqual([
      [0, 'active'],
      [1, 'active'],
      [2, 'draining'],
      [3, 'draining'],
    ]);
    const retired = [2, 3].map((id) => ({
      id,
      phase: 'retired' as const,
      retiredFromNs: '1767225660000000000',
      finalSize: 40 + id,
      finalRoot: String(id).repeat(64),
    }));
    const done = planStatus(during, obs, T2, {
      ...draining,
      replicas: 2,
      draining: [],
      retired,
    });
    // The pods of shards 2 and 3 still terminate: they count neither as shards nor as Ready.
    expect(done.status.readyShards).toBe(2);
    expect(cond(done.status, 'Ready')?.status).toBe('True');
    expect(done.status.shardStatus?.slice(2)).toEqual(retired);
    const later = planStatus(done.status, healthy(2).build(), T2, {
      ...draining,
      replicas: 2,
      draining: [],
    });
    expect(later.status.shardStatus?.map((x) => [x.id, x.phase])).toEqual([
      [0, 'active'],
      [1, 'active'],
      [2, 'retired'],
      [3, 'retired'],
    ]);
    expect(later.events).toEqual([]);
  });

  it('reports a blocker (vault keys) on Ready and Progressing, with one Warning', () => {
    const obs = healthy(0)
      .blocked('KeyProviderUnavailable', 'keys.provider vault is not available yet')
      .build();
    const { status, events } = planStatus(undefined, obs, T0);
    expect(cond(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'KeyProviderUnavailable',
    });
    expect(cond(status, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'KeyProviderUnavailable',
    });
    expect(cond(status, 'Degraded')?.status).toBe('False');
    expect(reasons(events)).toEqual(['KeyProviderUnavailable']);
    expect(planStatus(status, obs, T1).events).toEqual([]);
  });

  it('records observedGeneration on the status and every condition', () => {
    const obs = { ...healthy().build(), generation: 4 };
    const { status } = planStatus(undefined, obs, T0);
    expect(status.observedGeneration).toBe(4);
    expect(status.conditions?.map((c) => c.observedGeneration)).toEqual([4, 4, 4]);
  });
});
