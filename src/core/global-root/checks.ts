// Structure checks: a parsed value as a well-formed record, field by field, with the path of
// the first problem.
import { toHex } from '../bytes.ts';
import { compareU64Text } from '../decision/timestamp.ts';
import { blake3 } from '../hash.ts';
import { canonicalJson, CanonicalJsonError } from '../jcs.ts';
import { verifyConsistency, MerkleProofError } from '../merkle/proof.ts';
import {
  type GlobalLogRecord,
  GlobalRootError,
  type GlobalRootRecord,
  KEY_ID,
  type MissedInterval,
  type ReconstructionRecord,
  SHARD_STATUSES,
  type ShardEntry,
  type Unsigned,
} from './types.ts';
import {
  checkpointOfNote,
  hex32,
  hexHash,
  index,
  invalid,
  members,
  obj,
  safeOrigin,
  strictBase64,
  text,
  u64,
} from './fields.ts';

const RECORD_MEMBERS: Record<GlobalLogRecord['type'], readonly string[]> = {
  global_root: [
    'type',
    'global_root_id',
    'timestamp_ns',
    'interval_start_ns',
    'interval_end_ns',
    'prev_global_root',
    'routing_epoch',
    'routing_epoch_hash',
    'shard_roots',
    'global_merkle_root',
    'total_records_in_interval',
    'signature',
  ],
  reconstruction: [
    'type',
    'timestamp_ns',
    'shard_id',
    'origin',
    'missed_intervals',
    'from',
    'checkpoint',
    'tree_size',
    'root',
    'consistency_proof',
    'prev_global_root',
    'signature',
  ],
};
const ENTRY_MEMBERS = [
  'shard_id',
  'origin',
  'status',
  'reason',
  'root',
  'tree_size',
  'record_count',
  'checkpoint',
];
const SIGNATURE_MEMBERS = ['key_name', 'key_id', 'key_version', 'sig'];
const MISSED_MEMBERS = [
  'global_root_id',
  'interval_start_ns',
  'interval_end_ns',
  'status',
  'reason',
];

/** `value` as a signed global log record, checked field by field; throws GlobalRootError. */
export function checkGlobalLogRecord(value: unknown): GlobalLogRecord {
  const o = obj(value, '$');
  const type = o.type;
  if (type !== 'global_root' && type !== 'reconstruction') {
    throw invalid('$.type', 'must be "global_root" or "reconstruction"');
  }
  members(o, RECORD_MEMBERS[type], '$');
  checkSignature(o.signature);
  if (type === 'global_root') checkGlobalRootRecord(o as unknown as Unsigned<GlobalRootRecord>);
  else checkReconstructionRecord(o as unknown as Unsigned<ReconstructionRecord>);
  try {
    canonicalJson(o);
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw invalid(err.path, err.detail);
    throw err;
  }
  return o as unknown as GlobalLogRecord;
}

export function checkGlobalRootRecord(r: Unsigned<GlobalRootRecord>): void {
  index(r.global_root_id, '$.global_root_id');
  u64(r.timestamp_ns, '$.timestamp_ns');
  u64(r.interval_start_ns, '$.interval_start_ns');
  u64(r.interval_end_ns, '$.interval_end_ns');
  if (compareU64Text(r.interval_start_ns, r.interval_end_ns) > 0) {
    throw invalid('$.interval_end_ns', 'must not be before interval_start_ns');
  }
  if (r.prev_global_root !== null) hex32(r.prev_global_root, '$.prev_global_root');
  index(r.routing_epoch, '$.routing_epoch');
  hex32(r.routing_epoch_hash, '$.routing_epoch_hash');
  if (!Array.isArray(r.shard_roots)) throw invalid('$.shard_roots', 'must be an array');
  let prevId = -1;
  r.shard_roots.forEach((e: unknown, i: number) => {
    const path = `$.shard_roots[${i}]`;
    const entry = checkShardEntry(e, path);
    if (entry.shard_id <= prevId) {
      throw invalid(`${path}.shard_id`, 'entries must be in strictly increasing shard_id order');
    }
    prevId = entry.shard_id;
  });
  hex32(r.global_merkle_root, '$.global_merkle_root');
  index(r.total_records_in_interval, '$.total_records_in_interval');
}

/** Checks one shard entry, including that an ok entry's checkpoint note matches its fields. */
export function checkShardEntry(value: unknown, path = '$'): ShardEntry {
  const e = obj(value, path);
  members(e, ENTRY_MEMBERS, path);
  index(e.shard_id, `${path}.shard_id`);
  text(e.origin, `${path}.origin`);
  const origin = safeOrigin(e.origin as string, `${path}.origin`);
  if (origin.kind !== 'shard' || origin.shard !== e.shard_id) {
    throw invalid(`${path}.origin`, `is not the origin of shard ${String(e.shard_id)}`);
  }
  if (!(SHARD_STATUSES as readonly unknown[]).includes(e.status)) {
    throw invalid(`${path}.status`, `must be one of ${SHARD_STATUSES.join(', ')}`);
  }
  index(e.tree_size, `${path}.tree_size`);
  index(e.record_count, `${path}.record_count`);
  if (e.record_count > e.tree_size) {
    throw invalid(`${path}.record_count`, 'cannot exceed tree_size');
  }
  if (e.root === null) {
    if (e.tree_size !== 0) throw invalid(`${path}.root`, 'is null only when nothing was sealed');
  } else {
    hex32(e.root, `${path}.root`);
  }
  if (e.status === 'ok') {
    if (e.reason !== null) throw invalid(`${path}.reason`, 'must be null when status is ok');
    if (typeof e.checkpoint !== 'string') {
      throw invalid(`${path}.checkpoint`, 'an ok entry carries the sealed checkpoint');
    }
    const cp = checkpointOfNote(e.checkpoint, `${path}.checkpoint`);
    if (cp.origin !== e.origin || cp.size !== e.tree_size || toHex(cp.rootHash) !== e.root) {
      throw new GlobalRootError(
        'checkpoint_mismatch',
        `${path}.checkpoint`,
        'origin, size and root must equal the entry origin, tree_size and root',
      );
    }
  } else {
    text(e.reason, `${path}.reason`);
    if (e.checkpoint !== null) throw invalid(`${path}.checkpoint`, 'is null unless status is ok');
    if (e.record_count !== 0) throw invalid(`${path}.record_count`, 'is 0 unless status is ok');
  }
  return e as unknown as ShardEntry;
}

/** Checks one missed interval (of a reconstruction record, or as the coordinator lists it). */
export function checkMissedInterval(m: unknown, p: string): MissedInterval {
  const o = obj(m, p);
  members(o, MISSED_MEMBERS, p);
  index(o.global_root_id, `${p}.global_root_id`);
  u64(o.interval_start_ns, `${p}.interval_start_ns`);
  u64(o.interval_end_ns, `${p}.interval_end_ns`);
  if (o.status !== 'missing' && o.status !== 'unverified') {
    throw invalid(`${p}.status`, 'must be "missing" or "unverified"');
  }
  text(o.reason, `${p}.reason`);
  return o as unknown as MissedInterval;
}

export function checkReconstructionRecord(r: Unsigned<ReconstructionRecord>): void {
  u64(r.timestamp_ns, '$.timestamp_ns');
  index(r.shard_id, '$.shard_id');
  text(r.origin, '$.origin');
  const origin = safeOrigin(r.origin, '$.origin');
  if (origin.kind !== 'shard' || origin.shard !== r.shard_id) {
    throw invalid('$.origin', `is not the origin of shard ${r.shard_id}`);
  }
  if (!Array.isArray(r.missed_intervals) || r.missed_intervals.length === 0) {
    throw invalid('$.missed_intervals', 'must be a non-empty array');
  }
  r.missed_intervals.forEach((m: unknown, i: number) =>
    checkMissedInterval(m, `$.missed_intervals[${i}]`),
  );
  const cp = checkpointOfNote(r.checkpoint, '$.checkpoint');
  index(r.tree_size, '$.tree_size');
  hex32(r.root, '$.root');
  if (cp.origin !== r.origin || cp.size !== r.tree_size || toHex(cp.rootHash) !== r.root) {
    throw new GlobalRootError(
      'checkpoint_mismatch',
      '$.checkpoint',
      'origin, size and root must equal the record origin, tree_size and root',
    );
  }
  if (!Array.isArray(r.consistency_proof)) throw invalid('$.consistency_proof', 'must be an array');
  const proof = r.consistency_proof.map((h: unknown, i: number) =>
    hexHash(h, `$.consistency_proof[${i}]`),
  );
  if (r.from === null) {
    if (proof.length !== 0) throw invalid('$.consistency_proof', 'must be empty when from is null');
  } else {
    const from = obj(r.from, '$.from');
    members(from, ['tree_size', 'root'], '$.from');
    index(from.tree_size, '$.from.tree_size');
    const fromRoot = hexHash(from.root, '$.from.root');
    try {
      if (from.tree_size === 0) {
        if (proof.length !== 0) throw invalid('$.consistency_proof', 'must be empty from size 0');
      } else {
        verifyConsistency(blake3, from.tree_size, cp.size, proof, fromRoot, cp.rootHash);
      }
    } catch (err) {
      if (err instanceof MerkleProofError) {
        throw new GlobalRootError('consistency', '$.consistency_proof', err.message);
      }
      throw err;
    }
  }
  if (r.prev_global_root !== null) hex32(r.prev_global_root, '$.prev_global_root');
}

function checkSignature(value: unknown): void {
  const s = obj(value, '$.signature');
  members(s, SIGNATURE_MEMBERS, '$.signature');
  text(s.key_name, '$.signature.key_name');
  if (typeof s.key_id !== 'string' || !KEY_ID.test(s.key_id)) {
    throw invalid('$.signature.key_id', 'must be 8 lowercase hex digits');
  }
  index(s.key_version, '$.signature.key_version');
  if (typeof s.sig !== 'string') throw invalid('$.signature.sig', 'must be a base64 string');
  if (strictBase64(s.sig, '$.signature.sig').length !== 64) {
    throw invalid('$.signature.sig', 'must be a 64-byte Ed25519 signature');
  }
}
