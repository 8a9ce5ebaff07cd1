// Global log entries as the coordinator writes and replays them: signed global root records
// and reconstruction records (src/core/global-root.ts), stored as their canonical JSON.
import { fromHex } from '../core/bytes.ts';
import { parseCheckpointNote, shardOrigin } from '../core/checkpoint.ts';
import {
  buildGlobalRootRecord,
  buildReconstructionRecord,
  buildShardEntry,
  globalLogEntryBytes,
  parseGlobalLogEntry,
  signGlobalRootRecord,
  signReconstructionRecord,
} from '../core/global-root/index.ts';
import type { MissedInterval } from '../core/global-root/index.ts';
import type { EpochTable } from '../core/routing.ts';
import type { Signer } from '../core/signer.ts';
import type { RoundPlan } from './round-plan.ts';
import type { ShardObservation } from './shard-check.ts';
import type { EntryFacts, SealedState } from './state.ts';

/** One shard in one round: what was observed, and what the coordinator held before. */
export interface ShardRound {
  shard_id: number;
  observation: ShardObservation;
  sealed: SealedState | undefined;
  open: readonly MissedInterval[];
}

export interface GlobalRootRound {
  id: number;
  timestampNs: string;
  intervalStartNs: string;
  intervalEndNs: string;
  /** global_merkle_root (hex) of the previous global root; null for the first. */
  prevGlobalRoot: string | null;
  routing: EpochTable;
  shards: readonly ShardRound[];
}

export interface Origins {
  namespace: string;
  cluster: string;
}

const previousOf = (
  s: SealedState | undefined,
): { treeSize: number; root: Uint8Array } | undefined =>
  s === undefined ? undefined : { treeSize: s.size, root: s.root };

/** The signed global root record of a round, as global log entry bytes. */
export async function buildGlobalRoot(
  round: GlobalRootRound,
  origins: Origins,
  signer: Signer,
): Promise<Uint8Array> {
  const shards = round.shards.map((r) => {
    const origin = shardOrigin(origins.namespace, origins.cluster, r.shard_id);
    const previous = previousOf(r.sealed);
    const o = r.observation;
    return o.status === 'ok'
      ? buildShardEntry({
          shardId: r.shard_id,
          origin,
          status: 'ok',
          checkpoint: o.checkpoint.note,
          ...(previous ? { previous } : {}),
        })
      : buildShardEntry({
          shardId: r.shard_id,
          origin,
          status: o.status,
          reason: o.reason,
          ...(previous ? { previous } : {}),
        });
  });
  const unsigned = buildGlobalRootRecord({
    globalRootId: round.id,
    timestampNs: round.timestampNs,
    intervalStartNs: round.intervalStartNs,
    intervalEndNs: round.intervalEndNs,
    prevGlobalRoot: round.prevGlobalRoot,
    routing: round.routing,
    shards,
  });
  return globalLogEntryBytes(await signGlobalRootRecord(unsigned, signer));
}

/**
 * The signed reconstruction record for a shard that is verified again after missed intervals:
 * it names those intervals and seals the shard's current checkpoint, proven consistent with
 * the last one sealed before the gap.
 */
export async function buildReconstruction(
  r: ShardRound,
  timestampNs: string,
  prevGlobalRoot: string | null,
  origins: Origins,
  signer: Signer,
): Promise<Uint8Array> {
  if (r.observation.status !== 'ok') throw new RangeError(`shard ${r.shard_id} is not verified`);
  const unsigned = buildReconstructionRecord({
    timestampNs,
    shardId: r.shard_id,
    origin: shardOrigin(origins.namespace, origins.cluster, r.shard_id),
    missedIntervals: r.open,
    from: previousOf(r.sealed) ?? null,
    checkpoint: r.observation.checkpoint.note,
    consistencyProof: r.observation.consistency,
    prevGlobalRoot,
  });
  return globalLogEntryBytes(await signReconstructionRecord(unsigned, signer));
}

/** A round's global log entries, signed: its reconstruction records, then its global root. */
export async function signRoundEntries(
  plan: RoundPlan,
  origins: Origins,
  signer: Signer,
): Promise<Uint8Array[]> {
  const entries: Uint8Array[] = [];
  for (const r of plan.reconstructions) {
    entries.push(
      await buildReconstruction(r, plan.intervalEndNs, plan.prevGlobalRoot, origins, signer),
    );
  }
  entries.push(await buildGlobalRoot(plan.globalRoot, origins, signer));
  return entries;
}

/** timestamp_ns of a signed checkpoint note (already checked by the entry parser), if any. */
function checkpointNs(note: string): { checkpoint_ns?: string } {
  const ts = parseCheckpointNote(note).timestampNs;
  return ts === undefined ? {} : { checkpoint_ns: ts.toString() };
}

/** What the coordinator's state needs from one stored entry (parsed strictly). */
export function entryFacts(bytes: Uint8Array): EntryFacts {
  const record = parseGlobalLogEntry(bytes);
  if (record.type === 'reconstruction') {
    return {
      kind: 'reconstruction',
      shard_id: record.shard_id,
      missed: record.missed_intervals.map((m) => m.global_root_id),
      size: record.tree_size,
      root: fromHex(record.root),
      timestamp_ns: record.timestamp_ns,
      ...checkpointNs(record.checkpoint),
    };
  }
  return {
    kind: 'global_root',
    id: record.global_root_id,
    interval_start_ns: record.interval_start_ns,
    interval_end_ns: record.interval_end_ns,
    root: record.global_merkle_root,
    shards: record.shard_roots.map((e) =>
      e.status === 'ok'
        ? {
            shard_id: e.shard_id,
            status: 'ok',
            size: e.tree_size,
            root: fromHex(e.root as string),
            ...checkpointNs(e.checkpoint as string),
          }
        : { shard_id: e.shard_id, status: e.status, reason: e.reason ?? e.status },
    ),
  };
}
