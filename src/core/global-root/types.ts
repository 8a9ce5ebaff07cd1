// The global log's record types: Global Root Records, shard entries, Reconstruction Records,
// and the error every function here throws.
import { FieldError } from '../errors.ts';
import { utf8 } from '../bytes.ts';

export type ShardStatus = 'ok' | 'missing' | 'unverified';
export const SHARD_STATUSES: readonly ShardStatus[] = ['ok', 'missing', 'unverified'];

/** One shard in one global root: a leaf of the Root Merkle Tree. */
export interface ShardEntry {
  shard_id: number;
  /** The shard log's origin (its checkpoint origin line and key name). */
  origin: string;
  status: ShardStatus;
  /** Why the shard was not sealed this interval; null when status is ok. */
  reason: string | null;
  /** The shard's sealed root, lowercase hex: this interval's (ok) or the last one sealed. */
  root: string | null;
  /** Tree size of `root` (0 with a null root: nothing sealed yet). */
  tree_size: number;
  /** Records sealed in this interval: tree_size minus the previously sealed size (0 unless ok). */
  record_count: number;
  /** The shard's signed checkpoint (C2SP signed note) sealed this interval; null unless ok. */
  checkpoint: string | null;
}

export interface RecordSignature {
  /** The coordinator's key name (its global log origin). */
  key_name: string;
  /** C2SP signed-note key ID of the signing key, 8 lowercase hex digits. */
  key_id: string;
  key_version: number;
  /** Ed25519 signature, standard base64. */
  sig: string;
}

export interface GlobalRootRecord {
  type: 'global_root';
  /** Sequence number of global roots in the global log: 0, 1, 2, ... */
  global_root_id: number;
  /** When the coordinator sealed the record (ns since the Unix epoch, decimal). */
  timestamp_ns: string;
  interval_start_ns: string;
  interval_end_ns: string;
  /** global_merkle_root of the previous global root record; null for the first. */
  prev_global_root: string | null;
  /** Routing epoch in force at interval_end_ns. */
  routing_epoch: number;
  /** epochTableHash of the epoch table the coordinator held (every epoch, hex). */
  routing_epoch_hash: string;
  /** In shard-id order (strictly increasing). */
  shard_roots: ShardEntry[];
  /** Root of the Root Merkle Tree over shard_roots, lowercase hex. */
  global_merkle_root: string;
  /** Sum of shard_roots[].record_count. */
  total_records_in_interval: number;
  signature: RecordSignature;
}

export interface MissedInterval {
  global_root_id: number;
  interval_start_ns: string;
  interval_end_ns: string;
  status: 'missing' | 'unverified';
  reason: string;
}

export interface ReconstructionRecord {
  type: 'reconstruction';
  timestamp_ns: string;
  shard_id: number;
  origin: string;
  /** The intervals whose global roots could not seal this shard. */
  missed_intervals: MissedInterval[];
  /** The last sealed state before the gap; null if the shard was never sealed. */
  from: { tree_size: number; root: string } | null;
  /** The shard checkpoint that now seals the shard (signed note). */
  checkpoint: string;
  tree_size: number;
  root: string;
  /** RFC 9162 consistency proof from `from` to this checkpoint (hex); empty when from is null. */
  consistency_proof: string[];
  /** global_merkle_root of the latest global root record before this record; null if none. */
  prev_global_root: string | null;
  signature: RecordSignature;
}

export type GlobalLogRecord = GlobalRootRecord | ReconstructionRecord;
export type Unsigned<T extends GlobalLogRecord> = Omit<T, 'signature'>;

export type GlobalRootErrorCode =
  | 'invalid_record'
  | 'tree_mismatch'
  | 'totals_mismatch'
  | 'checkpoint_mismatch'
  | 'consistency'
  | 'unknown_key'
  | 'bad_signature'
  | 'no_such_shard';

export class GlobalRootError extends FieldError<GlobalRootErrorCode> {
  override name = 'GlobalRootError';
}

export const SIGNING_CONTEXT = utf8.encode('AgDR global log entry v1\n');
export const KEY_ID = /^[0-9a-f]{8}$/;
