// Missing shards as the coordinator records them, turned into status, a condition value and
// Events. Pure: `GET /v1/missing` in, plain values out. A shard is missing from the first
// interval a global root could not seal it (no answer, or a checkpoint that did not verify)
// until the coordinator appends a reconstruction record sealing it again over every interval it
// missed: that record, not the pod coming back, is what clears it, so status follows the log.
import type { MissingReport, ReconstructionListing } from '../../clients/coordinator-api.ts';
import type { AgDRMissingShardStatus } from '../types.ts';
import { rfc3339 } from './conditions.ts';
import type { ConditionValue } from './conditions.ts';
import type { PlannedEvent } from './status.ts';

/** A decimal ns-since-epoch string as a Date (ms precision is all RFC 3339 status keeps). */
function dateOfNs(ns: string): Date {
  return new Date(Number(BigInt(ns) / 1_000_000n));
}

/**
 * `status.missingShards` from the coordinator's report: one entry per shard with open missed
 * intervals, `since` the start of the first. Without a report (the coordinator could not be
 * read) the previous list stands: not knowing is not a reconstruction.
 */
export function missingShardsOf(
  report: MissingReport | undefined,
  previous: readonly AgDRMissingShardStatus[] | undefined,
): AgDRMissingShardStatus[] {
  if (report === undefined) return (previous ?? []).map((m) => ({ ...m }));
  const out: AgDRMissingShardStatus[] = [];
  for (const s of [...report.open].sort((a, b) => a.shard_id - b.shard_id)) {
    const first = s.intervals[0];
    const last = s.intervals[s.intervals.length - 1];
    if (first === undefined || last === undefined) continue;
    out.push({
      id: s.shard_id,
      since: rfc3339(dateOfNs(first.interval_start_ns)),
      missedIntervals: s.intervals.length,
      firstMissedGlobalRootId: first.global_root_id,
      reason: s.reason ?? last.reason,
    });
  }
  return out;
}

function describe(m: AgDRMissingShardStatus): string {
  const n = m.missedIntervals ?? 0;
  return (
    `shard ${m.id} missed ${n} interval${n === 1 ? '' : 's'} since ${m.since ?? 'unknown'}` +
    (m.firstMissedGlobalRootId !== undefined
      ? ` (from global root ${m.firstMissedGlobalRootId})`
      : '') +
    `: ${m.reason ?? 'no reason recorded'}`
  );
}

/**
 * `Degraded` while any shard is missing: its records since its last seal are in no global root
 * until it is reconstructed. Undefined when none is.
 */
export function shardMissingCondition(
  missing: readonly AgDRMissingShardStatus[],
): ConditionValue | undefined {
  if (missing.length === 0) return undefined;
  return {
    status: 'True',
    reason: 'ShardMissing',
    message:
      `${missing.map(describe).join('; ')}; ` +
      'records since the last seal are not in a global root until the coordinator reconstructs the shard',
  };
}

/** The reconstruction that closed the episode `m` described, if the coordinator lists it. */
function reconstructionOf(
  m: AgDRMissingShardStatus,
  reconstructed: readonly ReconstructionListing[],
): ReconstructionListing | undefined {
  const mine = reconstructed.filter((r) => r.shard_id === m.id);
  if (m.firstMissedGlobalRootId === undefined) return mine[mine.length - 1];
  const first = m.firstMissedGlobalRootId;
  return mine.find((r) => r.missed.some((i) => i.global_root_id === first));
}

/**
 * Events for missing shards between the stored list and the next: `ShardMissing` for each
 * shard (or new episode of one) that appears, `ShardReconstructed` for each that the
 * coordinator's reconstruction record cleared (with the record's global log index and size).
 * A shard that leaves the list without a listed reconstruction gets no Event: nothing was
 * recorded that could be named.
 */
export function missingShardEvents(
  previous: readonly AgDRMissingShardStatus[] | undefined,
  next: readonly AgDRMissingShardStatus[],
  report: MissingReport | undefined,
): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const key = (m: AgDRMissingShardStatus): string => `${m.id}/${m.firstMissedGlobalRootId ?? ''}`;
  const before = new Set((previous ?? []).map(key));
  const after = new Set(next.map(key));
  for (const m of previous ?? []) {
    if (after.has(key(m)) || report === undefined) continue;
    const r = reconstructionOf(m, report.reconstructed);
    if (r === undefined) continue;
    const ids = r.missed.map((i) => i.global_root_id);
    events.push({
      type: 'Normal',
      reason: 'ShardReconstructed',
      note:
        `shard ${m.id} reconstructed: global log entry ${r.index} seals it at size ${r.size}, ` +
        `covering ${ids.length} missed interval${ids.length === 1 ? '' : 's'} ` +
        `(global roots ${ids[0]}..${ids[ids.length - 1]})`,
    });
  }
  for (const m of next) {
    if (before.has(key(m))) continue;
    events.push({ type: 'Warning', reason: 'ShardMissing', note: describe(m) });
  }
  return events;
}
