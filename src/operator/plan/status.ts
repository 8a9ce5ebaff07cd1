// Pure status planning: from the previous status and what was observed, the status to store and
// the Events an admin should see. `now` is passed in; nothing here reads a clock or a client.
import { epochAt } from '../../core/routing.ts';
import type {
  AgDRClusterStatus,
  AgDRCondition,
  AgDRMissingShardStatus,
  AgDRShardStatus,
} from '../types.ts';
import { findCondition, isTrue, nextCondition } from './conditions.ts';
import type { ConditionType, ConditionValue } from './conditions.ts';
import { KEY_CONDITION_TYPES, keyConditionValues, keyEvents, keysStatus } from './key-status.ts';
import { missingShardEvents, missingShardsOf, shardMissingCondition } from './missing-shards.ts';
import type { MigrationPlan } from './migration.ts';
import type { ClusterObservation, ShardPodObservation } from './observation.ts';

export interface PlannedEvent {
  readonly type: 'Normal' | 'Warning';
  /** CamelCase reason. */
  readonly reason: string;
  /** What happened, for `kubectl describe` / `kubectl events`. */
  readonly note: string;
}

export interface StatusPlan {
  readonly status: AgDRClusterStatus;
  readonly events: PlannedEvent[];
}

function list(ids: readonly number[]): string {
  return ids.join(', ');
}

function shardStatusOf(
  shard: ShardPodObservation,
  obs: ClusterObservation,
  draining: readonly number[],
): AgDRShardStatus {
  const view = obs.coordinator.shards?.get(shard.id);
  const key = obs.shardKeys.get(shard.id);
  return {
    id: shard.id,
    phase: draining.includes(shard.id) ? 'draining' : 'active',
    ready: shard.ready,
    ...(shard.treeSize !== undefined ? { treeSize: shard.treeSize } : {}),
    ...(view?.sealedSize != null ? { lastSealedSize: view.sealedSize } : {}),
    ...(view?.status != null ? { coordinatorStatus: view.status } : {}),
    ...(key !== undefined ? { keyVersion: key.keyVersion, publicKey: key.verifierKey } : {}),
  };
}

interface Health {
  readonly allReady: boolean;
  readonly value: ConditionValue;
}

/** Ready: every shard pod ready, the coordinator ready, every shard sealed `ok` last round. */
function readiness(obs: ClusterObservation): Health {
  if (obs.blocker !== undefined) {
    return {
      allReady: false,
      value: { status: 'False', reason: obs.blocker.reason, message: obs.blocker.message },
    };
  }
  // keys.provider vault: no shard pod starts before its key is in Vault and published.
  const keys = obs.keys !== undefined ? keyConditionValues(obs.keys).KeysReady : undefined;
  if (keys !== undefined && keys.status !== 'True' && obs.runningShards === 0) {
    return {
      allReady: false,
      value: { status: 'False', reason: 'KeysNotReady', message: keys.message },
    };
  }
  const notReady = obs.shards.filter((s) => !s.ready).map((s) => s.id);
  const ready = obs.shards.length - notReady.length;
  if (notReady.length > 0 || obs.shards.length === 0) {
    return {
      allReady: false,
      value: {
        status: 'False',
        reason: 'ShardsNotReady',
        message: `${ready} of ${obs.runningShards} shards ready; not ready: shard ${list(notReady)}`,
      },
    };
  }
  if (!obs.coordinator.ready) {
    return {
      allReady: false,
      value: {
        status: 'False',
        reason: 'CoordinatorNotReady',
        message: obs.coordinator.exists
          ? 'the coordinator pod is not ready'
          : 'the coordinator pod does not exist yet',
      },
    };
  }
  if (obs.coordinator.shards === undefined) {
    return {
      allReady: false,
      value: {
        status: 'False',
        reason: 'CoordinatorUnreachable',
        message: `the coordinator could not be read: ${obs.coordinator.readError ?? 'no address'}`,
      },
    };
  }
  const unsealed = obs.shards
    .filter((s) => obs.coordinator.shards?.get(s.id)?.status !== 'ok')
    .map((s) => {
      const st = obs.coordinator.shards?.get(s.id)?.status;
      return `shard ${s.id} ${st ?? 'not yet sealed'}`;
    });
  if (unsealed.length > 0) {
    return {
      allReady: false,
      value: {
        status: 'False',
        reason: 'ShardsNotSealed',
        message: `the latest global root did not seal every shard: ${unsealed.join(', ')}`,
      },
    };
  }
  return {
    allReady: true,
    value: {
      status: 'True',
      reason: 'AllShardsReady',
      message: `${obs.shards.length} of ${obs.runningShards} shards ready and sealed; coordinator ready`,
    },
  };
}

function progressing(
  obs: ClusterObservation,
  allReady: boolean,
  everReady: boolean,
  migration: MigrationPlan | undefined,
): ConditionValue {
  if (obs.blocker !== undefined) {
    return { status: 'False', reason: obs.blocker.reason, message: obs.blocker.message };
  }
  if (migration?.progress !== undefined) return migration.progress;
  if (!obs.rolledOut) {
    return { status: 'True', reason: 'RollingOut', message: 'shard pods are being updated' };
  }
  if (!allReady && !everReady) {
    return {
      status: 'True',
      reason: 'Provisioning',
      message: 'waiting for the shards and the coordinator to become ready and sealed',
    };
  }
  return { status: 'False', reason: 'Settled', message: 'the cluster matches its spec' };
}

function degraded(
  health: Health,
  everReady: boolean,
  missing: readonly AgDRMissingShardStatus[],
): ConditionValue {
  // A missing shard is the fault that costs evidence (its records are in no global root yet):
  // it names the condition while it lasts, whatever else is wrong.
  const shardMissing = everReady ? shardMissingCondition(missing) : undefined;
  if (shardMissing !== undefined) {
    return health.allReady
      ? shardMissing
      : { ...shardMissing, message: `${shardMissing.message}; ${health.value.message}` };
  }
  if (!health.allReady && everReady) {
    return { status: 'True', reason: health.value.reason, message: health.value.message };
  }
  return { status: 'False', reason: 'AsExpected', message: 'no shard or coordinator problem' };
}

/** Retired shards: those of `previous` still retired, plus those retired now, by id. */
function retiredShards(
  previous: readonly AgDRShardStatus[] | undefined,
  migration: MigrationPlan | undefined,
  running: number,
): AgDRShardStatus[] {
  const byId = new Map<number, AgDRShardStatus>();
  for (const s of previous ?? []) if (s.phase === 'retired') byId.set(s.id, s);
  for (const s of migration?.retired ?? []) byId.set(s.id, s);
  // An id a later scale-up brought back runs again (its log continues on the same volume).
  return [...byId.values()].filter((s) => s.id >= running).sort((a, b) => a.id - b.id);
}

/**
 * The status to store for `obs`, given the stored `previous` status and the step of shard
 * migration planned (plan/migration.ts), and the Events of what changed: Created, Ready,
 * Degraded, Recovered, ShardNotReady / ShardReady, the blockers and the migration's own.
 * Shards a migration is adding or retiring count for Ready and Degraded only once they are in
 * (the migration reports on them instead).
 */
export function planStatus(
  previous: AgDRClusterStatus | undefined,
  obs: ClusterObservation,
  now: Date,
  migration?: MigrationPlan,
): StatusPlan {
  const prevConds = previous?.conditions;
  const running = migration?.replicas ?? obs.runningShards;
  const shards = obs.shards.filter((s) => s.id < running);
  const counted = migration?.healthBelow ?? running;
  const health = readiness({
    ...obs,
    shards: shards.filter((s) => s.id < counted),
    runningShards: Math.min(counted, running),
  });
  // Once Ready, a later fault is a degradation, not provisioning.
  const everReady = isTrue(prevConds, 'Ready') || isTrue(prevConds, 'Degraded');
  const missingShards = missingShardsOf(obs.coordinator.missing, previous?.missingShards);
  const values: Partial<Record<ConditionType, ConditionValue>> = {
    Ready: health.value,
    Progressing: progressing(obs, health.allReady, everReady, migration),
    Degraded: degraded(health, everReady, missingShards),
    ...(obs.keys !== undefined ? keyConditionValues(obs.keys) : {}),
  };
  const types: ConditionType[] = [
    'Ready',
    'Progressing',
    'Degraded',
    ...(obs.keys !== undefined ? KEY_CONDITION_TYPES : []),
  ];
  const conditions: AgDRCondition[] = types.map((t) =>
    nextCondition(findCondition(prevConds, t), t, values[t] as ConditionValue, obs.generation, now),
  );
  const shardStatus = [
    ...shards.map((s) => shardStatusOf(s, obs, migration?.draining ?? [])),
    ...retiredShards(previous?.shardStatus, migration, running),
  ];
  const migrations = migration?.history ?? previous?.migrations;
  const status: AgDRClusterStatus = {
    observedGeneration: obs.generation,
    conditions,
    readyShards: shards.filter((s) => s.ready).length,
    selector: obs.selector,
    ...(obs.routing !== undefined && obs.routing.epochs.length > 0
      ? { routingEpoch: epochAt(obs.routing, BigInt(now.getTime()) * 1_000_000n).epoch }
      : {}),
    ...(obs.coordinator.latest !== undefined
      ? {
          globalRoot: {
            id: obs.coordinator.latest.id,
            root: obs.coordinator.latest.root,
            timestampNs: obs.coordinator.latest.timestampNs,
          },
        }
      : previous?.globalRoot !== undefined
        ? { globalRoot: previous.globalRoot }
        : {}),
    shardStatus,
    ...(migrations !== undefined && migrations.length > 0 ? { migrations } : {}),
    missingShards,
    ...(obs.keys !== undefined ? { keys: keysStatus(obs.keys) } : {}),
  };
  const events = [
    // Before the cluster was first Ready, shards still starting are not news.
    ...(everReady
      ? missingShardEvents(previous?.missingShards, missingShards, obs.coordinator.missing)
      : []),
    ...plannedEvents(previous, status, obs),
    ...(migration?.events ?? []),
  ];
  if (obs.keys !== undefined) events.push(...keyEvents(prevConds, conditions, obs.keys));
  return { status, events };
}

function transitioned(
  previous: AgDRClusterStatus | undefined,
  next: AgDRClusterStatus,
  type: ConditionType,
): { from: string | undefined; to: AgDRCondition } {
  const to = findCondition(next.conditions, type) as AgDRCondition;
  return { from: findCondition(previous?.conditions, type)?.status, to };
}

function plannedEvents(
  previous: AgDRClusterStatus | undefined,
  next: AgDRClusterStatus,
  obs: ClusterObservation,
): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const first = previous?.conditions === undefined || previous.conditions.length === 0;
  if (first && obs.blocker === undefined) {
    events.push({
      type: 'Normal',
      reason: 'Created',
      note: `created ${obs.runningShards || obs.desiredShards} shards and a coordinator`,
    });
  }
  const ready = transitioned(previous, next, 'Ready');
  const deg = transitioned(previous, next, 'Degraded');
  if (
    obs.blocker !== undefined &&
    findCondition(previous?.conditions, 'Ready')?.reason !== obs.blocker.reason
  ) {
    events.push({ type: 'Warning', reason: obs.blocker.reason, note: obs.blocker.message });
  }
  // Per-shard transitions of a cluster that was running: a shard going away and coming back.
  const prevShards = new Map((previous?.shardStatus ?? []).map((s) => [s.id, s]));
  for (const s of next.shardStatus ?? []) {
    const before = prevShards.get(s.id)?.ready;
    if (before === true && s.ready === false) {
      const pod = obs.shards.find((p) => p.id === s.id);
      events.push({
        type: 'Warning',
        reason: 'ShardNotReady',
        note: `shard ${s.id} is not ready${pod && pod.restarts > 0 ? ` (restarts: ${pod.restarts})` : ''}`,
      });
    } else if (before === false && s.ready === true && deg.from === 'True') {
      events.push({ type: 'Normal', reason: 'ShardReady', note: `shard ${s.id} is ready again` });
    }
  }
  if (deg.to.status === 'True' && deg.from !== 'True') {
    events.push({ type: 'Warning', reason: 'Degraded', note: deg.to.message });
  }
  if (deg.to.status === 'False' && deg.from === 'True') {
    events.push({ type: 'Normal', reason: 'Recovered', note: ready.to.message });
  } else if (ready.to.status === 'True' && ready.from !== 'True') {
    events.push({ type: 'Normal', reason: 'Ready', note: ready.to.message });
  }
  return events;
}
