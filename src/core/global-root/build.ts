// Building unsigned records from a round's facts (the coordinator signs them next).
import { toHex } from '../bytes.ts';
import { compareU64Text } from '../decision/timestamp.ts';
import { epochAt, epochTableHash, type EpochTable } from '../routing.ts';
import {
  GlobalRootError,
  type GlobalRootRecord,
  type MissedInterval,
  type ReconstructionRecord,
  type ShardEntry,
  type ShardStatus,
  type Unsigned,
} from './types.ts';
import { rootMerkleTreeRoot } from './root-tree.ts';
import { checkGlobalRootRecord, checkReconstructionRecord } from './checks.ts';
import { checkpointOfNote } from './fields.ts';

export interface GlobalRootInput {
  globalRootId: number;
  timestampNs: string;
  intervalStartNs: string;
  intervalEndNs: string;
  /** global_merkle_root (hex) of the previous global root record; null for the first. */
  prevGlobalRoot: string | null;
  /** The routing epoch table the coordinator holds; the epoch at intervalEndNs is recorded. */
  routing: EpochTable;
  /** In any order; sorted by shard_id here. */
  shards: readonly ShardEntry[];
}

/** An unsigned global root record: entries sorted, tree and totals computed, all checked. */
export function buildGlobalRootRecord(input: GlobalRootInput): Unsigned<GlobalRootRecord> {
  const shardRoots = [...input.shards].sort((a, b) => a.shard_id - b.shard_id);
  const record: Unsigned<GlobalRootRecord> = {
    type: 'global_root',
    global_root_id: input.globalRootId,
    timestamp_ns: input.timestampNs,
    interval_start_ns: input.intervalStartNs,
    interval_end_ns: input.intervalEndNs,
    prev_global_root: input.prevGlobalRoot,
    routing_epoch: epochInForce(input.routing, input.intervalEndNs),
    routing_epoch_hash: epochTableHash(input.routing),
    shard_roots: shardRoots,
    global_merkle_root: toHex(rootMerkleTreeRoot(shardRoots)),
    total_records_in_interval: shardRoots.reduce((n, e) => n + e.record_count, 0),
  };
  checkGlobalRootRecord(record);
  return record;
}

/** The epoch in force at `ns`; before the first epoch takes effect, the first epoch. */
function epochInForce(table: EpochTable, ns: string): number {
  const first = table.epochs[0];
  if (first === undefined) {
    throw new GlobalRootError('invalid_record', '$.routing_epoch', 'the epoch table is empty');
  }
  return compareU64Text(ns, first.effective_from_ns) < 0 ? first.epoch : epochAt(table, ns).epoch;
}

export interface ShardEntryInput {
  shardId: number;
  origin: string;
  status: ShardStatus;
  reason?: string;
  /** The checkpoint sealed now (status ok): the signed note. */
  checkpoint?: string;
  /** The last state sealed before this interval, if any. */
  previous?: { treeSize: number; root: Uint8Array };
}

/** A shard entry from what the coordinator observed this interval. */
export function buildShardEntry(input: ShardEntryInput): ShardEntry {
  const prev = input.previous;
  if (input.status === 'ok') {
    if (input.checkpoint === undefined) {
      throw new GlobalRootError(
        'invalid_record',
        '$.checkpoint',
        'an ok shard entry needs its checkpoint',
      );
    }
    const cp = checkpointOfNote(input.checkpoint, '$.checkpoint');
    return {
      shard_id: input.shardId,
      origin: input.origin,
      status: 'ok',
      reason: null,
      root: toHex(cp.rootHash),
      tree_size: cp.size,
      record_count: cp.size - (prev?.treeSize ?? 0),
      checkpoint: input.checkpoint,
    };
  }
  return {
    shard_id: input.shardId,
    origin: input.origin,
    status: input.status,
    reason: input.reason ?? input.status,
    root: prev === undefined ? null : toHex(prev.root),
    tree_size: prev?.treeSize ?? 0,
    record_count: 0,
    checkpoint: null,
  };
}

export interface ReconstructionInput {
  timestampNs: string;
  shardId: number;
  origin: string;
  missedIntervals: readonly MissedInterval[];
  from: { treeSize: number; root: Uint8Array } | null;
  checkpoint: string;
  consistencyProof: readonly Uint8Array[];
  prevGlobalRoot: string | null;
}

/** An unsigned reconstruction record; the consistency proof is verified here. */
export function buildReconstructionRecord(
  input: ReconstructionInput,
): Unsigned<ReconstructionRecord> {
  const cp = checkpointOfNote(input.checkpoint, '$.checkpoint');
  const record: Unsigned<ReconstructionRecord> = {
    type: 'reconstruction',
    timestamp_ns: input.timestampNs,
    shard_id: input.shardId,
    origin: input.origin,
    missed_intervals: [...input.missedIntervals],
    from:
      input.from === null ? null : { tree_size: input.from.treeSize, root: toHex(input.from.root) },
    checkpoint: input.checkpoint,
    tree_size: cp.size,
    root: toHex(cp.rootHash),
    consistency_proof: input.consistencyProof.map(toHex),
    prev_global_root: input.prevGlobalRoot,
  };
  checkReconstructionRecord(record);
  return record;
}
