// Shard migrations (scaling) as pure planning: from spec.shards, the published routing table,
// the StatefulSet's replicas, the migration history in status and what the processes report,
// the next safe step. Everything a step depends on is in the cluster (status, the routing
// ConfigMap, the StatefulSet), so an operator restarted at any point plans the same step again.
//
// Scale up   Pending -> ProvisioningShards (keys, replicas raised, new pods Ready)
//            -> EpochScheduled (epoch appended, effective after the lead time) -> Completed
//            (in force, every process serves the table, every shard sealed).
// Scale down Pending -> EpochScheduled (epoch appended, retiring the highest ids at the
//            boundary) -> Draining (each retiring shard sealed through a checkpoint it signed at
//            or after the boundary) -> replicas lowered -> Completed.
//
// Status is written before any side effect of a step, and each step is re-derived from the
// objects themselves, so a status that lags the objects by one step plans the same outcome.
import { epochTableHash } from '../../core/routing.ts';
import type { EpochTable, RoutingParams } from '../../core/routing.ts';
import { compareU64Text } from '../../core/decision/timestamp.ts';
import type { AgDRMigrationStatus, AgDRShardStatus, MigrationPhase } from '../types.ts';
import { rfc3339 } from './conditions.ts';
import type { ConditionValue } from './conditions.ts';
import { appendEpoch, epochNumbered, lastEpoch, nsOf } from './epoch-table.ts';
import type { ClusterObservation, CoordinatorShardView } from './observation.ts';
import type { PlannedEvent } from './status.ts';

/**
 * After a shard that loaded a scale-down's table only past the boundary is seen serving it, how
 * long its appends in flight get to be checkpointed (several shard checkpoint intervals).
 */
export const LATE_LOAD_SETTLE_MS = 5_000;

/** Migrations kept in status.migrations, newest last. */
export const MIGRATION_HISTORY = 10;

const TERMINAL: ReadonlySet<MigrationPhase> = new Set(['Completed', 'Failed']);

export interface MigrationInput {
  /** spec.shards. */
  readonly desiredShards: number;
  /** The published routing table (or the first one about to be published). */
  readonly table: EpochTable;
  /** spec.replicas of the shard StatefulSet as it stands. */
  readonly replicas: number;
  /** status.migrations as last written. */
  readonly history: readonly AgDRMigrationStatus[];
  /**
   * Signing keys are ready for every shard id below this (file keys: the Secrets exist; Vault:
   * the transit keys and policies are provisioned). New shards start only once it covers them.
   */
  readonly keysReadyBelow: number;
  /** Pods (ids below `replicas`) and the coordinator, with the routing hash each serves. */
  readonly observed: Pick<ClusterObservation, 'shards' | 'coordinator'>;
  /** Params of a new epoch (from the spec); the last epoch's when absent. */
  readonly params?: RoutingParams;
  /** spec.scaling.epochLeadTime in milliseconds. */
  readonly leadTimeMs: number;
  readonly now: Date;
}

export interface MigrationPlan {
  /** The shard StatefulSet's replicas to apply. */
  readonly replicas: number;
  /** The routing table to publish (the input table, or it with one more epoch). */
  readonly table: EpochTable;
  /** status.migrations to store. */
  readonly history: AgDRMigrationStatus[];
  readonly events: PlannedEvent[];
  /** Signing keys are wanted for every shard id below this. */
  readonly keysWanted: number;
  /** The migration in progress after this step, if any. */
  readonly active?: AgDRMigrationStatus;
  /** Shards that retired in this step, with their final sealed checkpoint. */
  readonly retired: AgDRShardStatus[];
  /** Shard ids whose health counts for Ready / Degraded (the rest are joining or leaving). */
  readonly healthBelow: number;
  /** Shard ids the retiring phase covers (draining), while a scale-down is under way. */
  readonly draining: readonly number[];
  /** The Progressing condition while a migration is under way. */
  readonly progress?: ConditionValue;
}

function ids(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function list(xs: readonly number[]): string {
  return xs.join(', ');
}

/** Whether the epoch in force at the end of `table` retires shards (it has fewer than before). */
function lastEpochRetires(table: EpochTable): boolean {
  const n = table.epochs.length;
  return n > 1 && lastEpoch(table).shards < (table.epochs[n - 2]?.shards ?? 0);
}

/**
 * The migration the history leaves unfinished, or (`resumed`) one the objects show although
 * status does not: replicas beyond the table's last epoch are a scale-down whose epoch is
 * published and whose replicas are not lowered yet, or a scale-up whose epoch is not yet.
 */
function unfinished(
  input: MigrationInput,
): { m: AgDRMigrationStatus; resumed: boolean } | undefined {
  const last = input.history[input.history.length - 1];
  if (last !== undefined && !TERMINAL.has(last.phase)) return { m: { ...last }, resumed: false };
  const epoch = lastEpoch(input.table);
  if (input.replicas <= epoch.shards) return undefined;
  const down = lastEpochRetires(input.table) && last?.epoch !== epoch.epoch;
  return {
    resumed: true,
    m: {
      epoch: down ? epoch.epoch : epoch.epoch + 1,
      from: down ? input.replicas : epoch.shards,
      to: down ? epoch.shards : input.replicas,
      phase: down ? 'EpochScheduled' : 'ProvisioningShards',
      startedAt: rfc3339(input.now),
      reason: 'Resumed',
      message: 'resumed from the routing table and the StatefulSet',
    },
  };
}

interface Step {
  m: AgDRMigrationStatus;
  replicas: number;
  table: EpochTable;
  keysWanted: number;
  retired: AgDRShardStatus[];
  healthBelow: number;
  draining: number[];
}

/** Every process that must serve the new table: shards below `upTo` and the coordinator. */
function notServing(input: MigrationInput, table: EpochTable, upTo: number): string[] {
  const hash = epochTableHash(table);
  const out: string[] = [];
  for (const id of ids(0, upTo)) {
    const s = input.observed.shards.find((x) => x.id === id);
    if (s?.routingHash !== hash) out.push(`shard ${id}`);
  }
  if (input.observed.coordinator.routingHash !== hash) out.push('the coordinator');
  return out;
}

/** Records when every process was first seen serving the table. */
function noteLoaded(m: AgDRMigrationStatus, missing: readonly string[], now: Date): void {
  if (missing.length === 0 && m.tableLoadedAt === undefined) m.tableLoadedAt = rfc3339(now);
}

function publish(
  input: MigrationInput,
  m: AgDRMigrationStatus,
  table: EpochTable,
): EpochTable | string {
  const from = nsOf(input.now) + BigInt(input.leadTimeMs) * 1_000_000n;
  try {
    const next = appendEpoch(table, m.to, from, input.params);
    m.effectiveFromNs = from.toString(10);
    return next;
  } catch (err) {
    return (err as Error).message;
  }
}

function set(m: AgDRMigrationStatus, phase: MigrationPhase, reason: string, message: string): void {
  m.phase = phase;
  m.reason = reason;
  m.message = message;
}

function at(ns: string): string {
  return rfc3339(new Date(Number(BigInt(ns) / 1_000_000n)));
}

function scaleUp(input: MigrationInput, s: Step): void {
  const { m } = s;
  s.keysWanted = m.to;
  s.healthBelow = m.from;
  let epoch = epochNumbered(s.table, m.epoch);
  if (epoch === undefined) {
    if (input.keysReadyBelow < m.to) {
      set(
        m,
        'ProvisioningShards',
        'WaitingForKeys',
        `signing keys for shards ${list(ids(input.keysReadyBelow, m.to))} are being provisioned`,
      );
      return;
    }
    s.replicas = Math.max(s.replicas, m.to);
    const notReady = ids(0, m.to).filter(
      (id) => input.observed.shards.find((x) => x.id === id)?.ready !== true,
    );
    if (notReady.length > 0) {
      set(
        m,
        'ProvisioningShards',
        'WaitingForShards',
        `waiting for shard ${list(notReady)} to be Ready`,
      );
      return;
    }
    const next = publish(input, m, s.table);
    if (typeof next === 'string') {
      set(m, 'Failed', 'InvalidEpoch', next);
      return;
    }
    s.table = next;
    epoch = lastEpoch(next);
  }
  s.replicas = Math.max(s.replicas, m.to);
  m.effectiveFromNs = epoch.effective_from_ns;
  const missing = notServing(input, s.table, m.to);
  noteLoaded(m, missing, input.now);
  const inForce = compareU64Text(epoch.effective_from_ns, nsOf(input.now).toString(10)) <= 0;
  if (!inForce || missing.length > 0) {
    set(
      m,
      'EpochScheduled',
      'WaitingForEpoch',
      `epoch ${m.epoch} (${m.to} shards) takes effect at ${at(epoch.effective_from_ns)}` +
        (missing.length > 0
          ? `; not yet serving it: ${missing.join(', ')}`
          : '; every process serves it'),
    );
    return;
  }
  const views = input.observed.coordinator.shards;
  const unsealed = ids(0, m.to).filter((id) => views?.get(id)?.status !== 'ok');
  if (unsealed.length > 0) {
    set(
      m,
      'EpochScheduled',
      'WaitingForSeal',
      `epoch ${m.epoch} is in force; waiting for a global root that seals shard ${list(unsealed)}`,
    );
    return;
  }
  s.healthBelow = m.to;
  set(
    m,
    'Completed',
    'ScaledUp',
    `${m.from} -> ${m.to} shards; epoch ${m.epoch} in force since ${at(epoch.effective_from_ns)}`,
  );
}

/** A retiring shard is drained once sealed `ok` through a checkpoint signed at or after `sinceNs`. */
function drained(view: CoordinatorShardView | undefined, sinceNs: string): boolean {
  return (
    view !== undefined &&
    view.status === 'ok' &&
    (view.openIntervals ?? 0) === 0 &&
    view.sealedCheckpointNs != null &&
    compareU64Text(view.sealedCheckpointNs, sinceNs) >= 0
  );
}

function scaleDown(input: MigrationInput, s: Step): void {
  const { m } = s;
  const retiring = ids(m.to, m.from);
  s.keysWanted = Math.max(s.keysWanted, m.from);
  s.healthBelow = m.to;
  s.draining = retiring;
  let epoch = epochNumbered(s.table, m.epoch);
  if (epoch !== undefined && s.replicas <= m.to) {
    // Replicas are lowered only after every retiring shard was seen drained: the step that
    // lowered them ran and its status was not stored.
    s.draining = [];
    set(
      m,
      'Completed',
      'ScaledDown',
      `${m.from} -> ${m.to} shards; shard ${list(retiring)} retired`,
    );
    s.retired = retiredShards(input, retiring, epoch.effective_from_ns);
    return;
  }
  s.replicas = Math.max(s.replicas, m.from);
  if (epoch === undefined) {
    const next = publish(input, m, s.table);
    if (typeof next === 'string') {
      s.draining = [];
      set(m, 'Failed', 'InvalidEpoch', next);
      return;
    }
    s.table = next;
    epoch = lastEpoch(next);
  }
  m.effectiveFromNs = epoch.effective_from_ns;
  const boundary = epoch.effective_from_ns;
  const missing = notServing(input, s.table, m.from);
  noteLoaded(m, missing, input.now);
  const nowNs = nsOf(input.now).toString(10);
  if (compareU64Text(boundary, nowNs) > 0) {
    set(
      m,
      'EpochScheduled',
      'WaitingForBoundary',
      `epoch ${m.epoch} retires shard ${list(retiring)} at ${at(boundary)}` +
        (missing.length > 0
          ? `; not yet serving it: ${missing.join(', ')}`
          : '; every process serves it'),
    );
    return;
  }
  // Past the boundary. A shard that loaded the table late may have appended after the boundary
  // until it did, and signs no further checkpoint once retired: its drain is shown instead by
  // a seal at least as large as its latest checkpoint, read after it has served the table long
  // enough for appends in flight to be checkpointed.
  const blockers: string[] = [];
  if (m.tableLoadedAt === undefined) {
    blockers.push(`not serving the routing table of epoch ${m.epoch}: ${missing.join(', ')}`);
  }
  const loadedNs = m.tableLoadedAt !== undefined ? nsOf(new Date(m.tableLoadedAt)) : undefined;
  // tableLoadedAt has second precision: the next whole second bounds when it was seen.
  const lateLoad = loadedNs !== undefined && loadedNs + 1_000_000_000n > BigInt(boundary);
  const settled =
    loadedNs !== undefined &&
    nsOf(input.now) >= loadedNs + BigInt(LATE_LOAD_SETTLE_MS + 1000) * 1_000_000n;
  const hash = epochTableHash(s.table);
  const co = input.observed.coordinator;
  if (!co.ready || co.shards === undefined) {
    blockers.push(
      !co.ready
        ? 'the coordinator is not ready'
        : `the coordinator could not be read: ${co.readError ?? 'no address'}`,
    );
  }
  const waiting: number[] = [];
  for (const id of retiring) {
    const view = co.shards?.get(id);
    const pod = input.observed.shards.find((x) => x.id === id);
    const sealedPast = co.shards !== undefined && drained(view, boundary);
    const covered =
      !lateLoad ||
      (settled &&
        pod?.routingHash === hash &&
        pod.treeSize !== undefined &&
        (view?.sealedSize ?? -1) >= pod.treeSize);
    if (sealedPast && covered) continue;
    waiting.push(id);
    if (pod?.ready !== true) blockers.push(`shard ${id} is not ready`);
    else if (view?.status === 'missing' || view?.status === 'unverified')
      blockers.push(
        `the coordinator records shard ${id} ${view.status}${view.reason ? ` (${view.reason})` : ''}`,
      );
  }
  if (waiting.length === 0 && m.tableLoadedAt !== undefined) {
    s.replicas = m.to;
    s.draining = [];
    s.retired = retiredShards(input, retiring, boundary);
    set(
      m,
      'Completed',
      'ScaledDown',
      `${m.from} -> ${m.to} shards; shard ${list(retiring)} sealed past the boundary and retired`,
    );
    return;
  }
  if (blockers.length > 0) {
    set(
      m,
      'Draining',
      'Blocked',
      `cannot finish draining shard ${list(waiting.length > 0 ? waiting : retiring)}: ${blockers.join('; ')}; ` +
        'no shard is removed, and the migration resumes by itself once they are sealed',
    );
    return;
  }
  set(
    m,
    'Draining',
    'WaitingForSeal',
    `waiting for the coordinator to seal shard ${list(waiting)} through a checkpoint signed at or after ${at(boundary)}` +
      (lateLoad ? ', covering every record (the table was served late)' : ''),
  );
}

function retiredShards(
  input: MigrationInput,
  retiring: readonly number[],
  boundary: string,
): AgDRShardStatus[] {
  return retiring.map((id) => {
    const view = input.observed.coordinator.shards?.get(id);
    return {
      id,
      phase: 'retired',
      retiredFromNs: boundary,
      ...(view?.sealedSize != null ? { finalSize: view.sealedSize } : {}),
      ...(view?.sealedRoot != null ? { finalRoot: view.sealedRoot } : {}),
    };
  });
}

function progressOf(m: AgDRMigrationStatus, desired: number): ConditionValue {
  const queued =
    desired !== m.to
      ? `; spec.shards is now ${desired}: that migration starts once this one completes`
      : '';
  const head = `migration ${m.from} -> ${m.to} shards (epoch ${m.epoch}) ${m.phase}`;
  return m.reason === 'Blocked'
    ? {
        status: 'False',
        reason: 'MigrationBlocked',
        message: `${head}: ${m.message ?? ''}${queued}`,
      }
    : { status: 'True', reason: 'Migrating', message: `${head}: ${m.message ?? ''}${queued}` };
}

function bounded(history: AgDRMigrationStatus[]): AgDRMigrationStatus[] {
  return history.slice(Math.max(0, history.length - MIGRATION_HISTORY));
}

/**
 * The next step of shard migration for a cluster. Requires `input.table` valid. Starts a
 * migration (status only: nothing else changes in that step) when spec.shards differs from the
 * table's last epoch and none is under way; otherwise advances the one under way as far as
 * the observations allow. Never plans replicas below a shard that is not sealed past its
 * retirement boundary.
 */
export function planMigration(input: MigrationInput): MigrationPlan {
  const now = rfc3339(input.now);
  const history = input.history.map((m) => ({ ...m }));
  const events: PlannedEvent[] = [];
  const epoch = lastEpoch(input.table);
  const found = unfinished(input);
  if (found === undefined) {
    const last = history[history.length - 1];
    const failedBefore = last?.phase === 'Failed' && last.to === input.desiredShards;
    const base = {
      replicas: Math.max(input.replicas, epoch.shards),
      table: input.table,
      keysWanted: Math.max(input.replicas, epoch.shards),
      retired: [],
      healthBelow: Math.max(input.replicas, epoch.shards),
      draining: [],
    };
    if (input.desiredShards === epoch.shards || failedBefore) {
      return { ...base, history: bounded(history), events };
    }
    const started: AgDRMigrationStatus = {
      epoch: epoch.epoch + 1,
      from: epoch.shards,
      to: input.desiredShards,
      phase: 'Pending',
      startedAt: now,
      reason: 'Started',
      message: 'spec.shards changed',
    };
    events.push({
      type: 'Normal',
      reason: 'MigrationStarted',
      note: `scaling ${started.from} -> ${started.to} shards: routing epoch ${started.epoch}`,
    });
    const next = bounded([...history, started]);
    return {
      ...base,
      history: next,
      events,
      active: started,
      healthBelow: Math.min(started.from, started.to),
      progress: progressOf(started, input.desiredShards),
    };
  }
  let m = found.m;
  if (found.resumed) {
    history.push(m);
    events.push({
      type: 'Normal',
      reason: 'MigrationStarted',
      note: `scaling ${m.from} -> ${m.to} shards: routing epoch ${m.epoch} (resumed from the cluster's objects)`,
    });
  }
  const before = { phase: m.phase, reason: m.reason };
  const step: Step = {
    m,
    replicas: input.replicas,
    table: input.table,
    keysWanted: Math.max(input.replicas, epoch.shards),
    retired: [],
    healthBelow: Math.min(m.from, m.to),
    draining: [],
  };
  if (m.to > m.from) scaleUp(input, step);
  else scaleDown(input, step);
  m = step.m;
  if (TERMINAL.has(m.phase)) m.completedAt = now;
  history[history.length - 1] = m;
  if (m.reason === 'Blocked' && before.reason !== 'Blocked') {
    events.push({ type: 'Warning', reason: 'MigrationBlocked', note: m.message ?? '' });
  }
  if (m.phase === 'Completed') {
    events.push({ type: 'Normal', reason: 'MigrationCompleted', note: m.message ?? '' });
  } else if (m.phase === 'Failed') {
    events.push({ type: 'Warning', reason: 'MigrationFailed', note: m.message ?? '' });
  }
  const active = TERMINAL.has(m.phase) ? undefined : m;
  return {
    replicas: step.replicas,
    table: step.table,
    history: bounded(history),
    events,
    keysWanted: step.keysWanted,
    retired: step.retired,
    healthBelow: step.healthBelow,
    draining: step.draining,
    ...(active !== undefined ? { active, progress: progressOf(active, input.desiredShards) } : {}),
  };
}
