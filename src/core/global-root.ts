// Entries of the global log: Global Root Records (one per aggregation interval) and
// Reconstruction Records (one per shard that comes back after missed intervals).
//
// The Root Merkle Tree is the RFC 9162 tree (BLAKE3) over leaves = canonical JSON of each shard
// entry, in shard-id order. Each record is signed by the coordinator over
//
//   "AgDR global log entry v1\n" || canonical JSON of the record without signature.sig
//
// (the signature's key_name, key_id and key_version are signed too). A global log leaf is the
// canonical JSON of the signed record. See docs/spec/50-global-roots.md.
import { FieldError } from './errors.ts';
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.ts';
import {
  CheckpointError,
  parseCheckpoint,
  parseOrigin,
  verifyCheckpoint,
  type Checkpoint,
} from './checkpoint.ts';
import { compareU64Text } from './decision/timestamp.ts';
import { blake3 } from './hash.ts';
import { canonicalBytes, canonicalJson, CanonicalJsonError } from './jcs.ts';
import { shapeChecks, type ShapeChecks } from './json-shape.ts';
import { merkleRoot, inclusionProof } from './merkle/tree.ts';
import { verifyConsistency, verifyInclusion, MerkleProofError } from './merkle/proof.ts';
import { keyId, NoteError, VerifierSet, type NoteVerifier } from './note.ts';
import { epochAt, epochTableHash, type EpochTable } from './routing.ts';
import type { Signer } from './signer.ts';

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

const SIGNING_CONTEXT = utf8.encode('AgDR global log entry v1\n');
const KEY_ID = /^[0-9a-f]{8}$/;

// ------------------------------------------------------------------ the Root Merkle Tree

/** Leaf hash of a shard entry: BLAKE3(0x00 || canonical JSON of the entry). */
export function shardEntryLeafHash(entry: ShardEntry): Uint8Array {
  return blake3.hashLeaf(canonicalBytes(entry));
}

/** RFC 9162 root over the entries, which must already be in shard-id order. */
export function rootMerkleTreeRoot(entries: readonly ShardEntry[]): Uint8Array {
  return merkleRoot(blake3, entries.map(shardEntryLeafHash));
}

export interface ShardEntryProof {
  shard_id: number;
  leaf_index: number;
  tree_size: number;
  /** Inclusion proof hashes, lowercase hex, leaf sibling first. */
  proof: string[];
}

/** Inclusion proof of one shard's entry in the record's Root Merkle Tree. */
export function shardEntryInclusionProof(
  record: GlobalRootRecord,
  shardId: number,
): ShardEntryProof {
  const index = record.shard_roots.findIndex((e) => e.shard_id === shardId);
  if (index < 0) {
    throw new GlobalRootError('no_such_shard', '$.shard_roots', `no entry for shard ${shardId}`);
  }
  const leaves = record.shard_roots.map(shardEntryLeafHash);
  const proof = inclusionProof(blake3, leaves, index, leaves.length);
  return {
    shard_id: shardId,
    leaf_index: index,
    tree_size: leaves.length,
    proof: proof.map(toHex),
  };
}

/** Checks `proof` leads from `entry` to the record's global_merkle_root (throws otherwise). */
export function verifyShardEntryInclusion(
  record: GlobalRootRecord,
  entry: ShardEntry,
  proof: ShardEntryProof,
): void {
  const hashes = proof.proof.map((h, i) => hexHash(h, `$.proof[${i}]`));
  try {
    verifyInclusion(
      blake3,
      proof.leaf_index,
      proof.tree_size,
      shardEntryLeafHash(entry),
      hashes,
      hexHash(record.global_merkle_root, '$.global_merkle_root'),
    );
  } catch (err) {
    if (err instanceof MerkleProofError) {
      throw new GlobalRootError(
        'tree_mismatch',
        '$.proof',
        `shard entry inclusion: ${err.message}`,
      );
    }
    throw err;
  }
}

// ------------------------------------------------------------------ building

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

// ------------------------------------------------------------------ signing

/** The bytes the coordinator signs: context line || canonical record without signature.sig. */
export function globalRootSigningBytes(
  record: Unsigned<GlobalLogRecord> | GlobalLogRecord,
  signature?: Omit<RecordSignature, 'sig'>,
): Uint8Array {
  const { signature: own, ...rest } = record as Partial<GlobalLogRecord> & {
    signature?: RecordSignature;
  };
  // Without explicit metadata, a signed record's own signature metadata is what was signed.
  const source = signature ?? own;
  if (source === undefined) {
    throw new GlobalRootError('invalid_record', '$.signature', 'signature metadata is required');
  }
  const meta = {
    key_name: source.key_name,
    key_id: source.key_id,
    key_version: source.key_version,
  };
  return concatBytes(SIGNING_CONTEXT, canonicalBytes({ ...rest, signature: meta }));
}

/** Signs a record with the coordinator's signer. */
export async function signGlobalLogRecord<T extends GlobalLogRecord>(
  unsigned: Unsigned<T>,
  signer: Signer,
): Promise<T> {
  const meta = {
    key_name: signer.name,
    key_id: keyId(signer.name, signer.publicKey).toString(16).padStart(8, '0'),
    key_version: signer.keyVersion,
  };
  const sig = await signer.sign(globalRootSigningBytes(unsigned, meta));
  if (sig.length !== 64) {
    throw new GlobalRootError(
      'bad_signature',
      '$.signature',
      'signer returned a non-Ed25519 signature',
    );
  }
  return { ...unsigned, signature: { ...meta, sig: toBase64(sig) } } as T;
}

export const signGlobalRootRecord = (
  unsigned: Unsigned<GlobalRootRecord>,
  signer: Signer,
): Promise<GlobalRootRecord> => signGlobalLogRecord<GlobalRootRecord>(unsigned, signer);

export const signReconstructionRecord = (
  unsigned: Unsigned<ReconstructionRecord>,
  signer: Signer,
): Promise<ReconstructionRecord> => signGlobalLogRecord<ReconstructionRecord>(unsigned, signer);

// ------------------------------------------------------------------ global log entries

/** The global log leaf data of a signed record: its canonical JSON. */
export function globalLogEntryBytes(record: GlobalLogRecord): Uint8Array {
  return canonicalBytes(record);
}

/** Parses a global log entry strictly: canonical JSON of a well-formed record. */
export function parseGlobalLogEntry(bytes: Uint8Array): GlobalLogRecord {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    if (!(err instanceof TypeError) && !(err instanceof SyntaxError)) throw err;
    throw new GlobalRootError('invalid_record', '$', `not UTF-8 JSON: ${err.message}`);
  }
  const record = checkGlobalLogRecord(value);
  if (!bytesEqual(canonicalBytes(record), bytes)) {
    throw new GlobalRootError('invalid_record', '$', 'entry bytes are not canonical JSON');
  }
  return record;
}

// ------------------------------------------------------------------ verification

export interface RecordVerification {
  /** The verifier key (name+id) that signed. */
  key: string;
}

/**
 * Verifies a global root record: well-formed, every ok entry's checkpoint matches its fields,
 * the Root Merkle Tree recomputes to global_merkle_root, the totals add up, and the signature
 * verifies under one of `verifierKeys` (C2SP verifier key strings or verifiers).
 * Throws GlobalRootError.
 */
export function verifyGlobalRootRecord(
  record: unknown,
  verifierKeys: VerifierSet | Iterable<NoteVerifier | string>,
  opts: { shardKeys?: VerifierSet | Iterable<NoteVerifier | string> } = {},
): RecordVerification {
  const r = checkGlobalLogRecord(record);
  if (r.type !== 'global_root') {
    throw new GlobalRootError('invalid_record', '$.type', 'not a global root record');
  }
  if (opts.shardKeys !== undefined) {
    const keys = toVerifierSet(opts.shardKeys);
    r.shard_roots.forEach((e, i) => {
      if (e.checkpoint !== null)
        verifyShardNote(e.checkpoint, e.origin, keys, `$.shard_roots[${i}].checkpoint`);
    });
  }
  const root = toHex(rootMerkleTreeRoot(r.shard_roots));
  if (root !== r.global_merkle_root) {
    throw new GlobalRootError(
      'tree_mismatch',
      '$.global_merkle_root',
      `the Root Merkle Tree over shard_roots is ${root}`,
    );
  }
  const total = r.shard_roots.reduce((n, e) => n + e.record_count, 0);
  if (total !== r.total_records_in_interval) {
    throw new GlobalRootError(
      'totals_mismatch',
      '$.total_records_in_interval',
      `shard record counts add up to ${total}`,
    );
  }
  return verifyRecordSignature(r, verifierKeys);
}

/**
 * Verifies a reconstruction record: well-formed, checkpoint matches, the consistency proof from
 * `from` to the checkpoint verifies, and the coordinator signature. Throws GlobalRootError.
 */
export function verifyReconstructionRecord(
  record: unknown,
  verifierKeys: VerifierSet | Iterable<NoteVerifier | string>,
  opts: { shardKeys?: VerifierSet | Iterable<NoteVerifier | string> } = {},
): RecordVerification {
  const r = checkGlobalLogRecord(record);
  if (r.type !== 'reconstruction') {
    throw new GlobalRootError('invalid_record', '$.type', 'not a reconstruction record');
  }
  if (opts.shardKeys !== undefined) {
    verifyShardNote(r.checkpoint, r.origin, toVerifierSet(opts.shardKeys), '$.checkpoint');
  }
  return verifyRecordSignature(r, verifierKeys);
}

/** Verifies either kind of global log record. */
export function verifyGlobalLogRecord(
  record: unknown,
  verifierKeys: VerifierSet | Iterable<NoteVerifier | string>,
  opts: { shardKeys?: VerifierSet | Iterable<NoteVerifier | string> } = {},
): RecordVerification {
  const r = checkGlobalLogRecord(record);
  return r.type === 'global_root'
    ? verifyGlobalRootRecord(r, verifierKeys, opts)
    : verifyReconstructionRecord(r, verifierKeys, opts);
}

function toVerifierSet(keys: VerifierSet | Iterable<NoteVerifier | string>): VerifierSet {
  try {
    return keys instanceof VerifierSet ? keys : new VerifierSet(keys);
  } catch (err) {
    if (err instanceof NoteError) throw new GlobalRootError('unknown_key', '$', err.message);
    throw err;
  }
}

function verifyShardNote(note: string, origin: string, keys: VerifierSet, path: string): void {
  try {
    verifyCheckpoint(note, keys, origin);
  } catch (err) {
    if (err instanceof NoteError || err instanceof CheckpointError) {
      throw new GlobalRootError('bad_signature', path, `shard checkpoint: ${err.message}`);
    }
    throw err;
  }
}

function verifyRecordSignature(
  r: GlobalLogRecord,
  verifierKeys: VerifierSet | Iterable<NoteVerifier | string>,
): RecordVerification {
  const set = toVerifierSet(verifierKeys);
  const { sig, ...meta } = r.signature;
  const verifier = set.get(meta.key_name, parseInt(meta.key_id, 16));
  if (verifier === undefined) {
    throw new GlobalRootError(
      'unknown_key',
      '$.signature',
      `no verifier key ${meta.key_name}+${meta.key_id}`,
    );
  }
  const bytes = globalRootSigningBytes(r, meta);
  if (!verifier.verify(bytes, strictBase64(sig, '$.signature.sig'))) {
    throw new GlobalRootError('bad_signature', '$.signature.sig', 'signature does not verify');
  }
  return { key: `${meta.key_name}+${meta.key_id}` };
}

// ------------------------------------------------------------------ structure checks

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

function checkGlobalRootRecord(r: Unsigned<GlobalRootRecord>): void {
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

function checkReconstructionRecord(r: Unsigned<ReconstructionRecord>): void {
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
  r.missed_intervals.forEach((m: unknown, i: number) => {
    const p = `$.missed_intervals[${i}]`;
    const o = obj(m, p);
    members(o, MISSED_MEMBERS, p);
    index(o.global_root_id, `${p}.global_root_id`);
    u64(o.interval_start_ns, `${p}.interval_start_ns`);
    u64(o.interval_end_ns, `${p}.interval_end_ns`);
    if (o.status !== 'missing' && o.status !== 'unverified') {
      throw invalid(`${p}.status`, 'must be "missing" or "unverified"');
    }
    text(o.reason, `${p}.reason`);
  });
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

// ------------------------------------------------------------------ small helpers

function invalid(path: string, message: string): GlobalRootError {
  return new GlobalRootError('invalid_record', path, message);
}

const shape = shapeChecks(invalid);
const obj = shape.object;
const members = shape.members;
const index: ShapeChecks['index'] = shape.index;
const u64: ShapeChecks['u64'] = shape.u64;
const text: ShapeChecks['text'] = shape.text;
const hexHash = shape.hash;
function hex32(v: unknown, path: string): void {
  shape.hash(v, path);
}

/** Canonical standard base64 (see fromBase64), as a record error carrying the field path. */
export function strictBase64(text: string, path: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch (err) {
    throw invalid(path, `is not canonical base64: ${(err as Error).message}`);
  }
}

function checkpointOfNote(note: unknown, path: string): Checkpoint {
  if (typeof note !== 'string') throw invalid(path, 'must be a signed note (string)');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw invalid(path, 'is not a signed note');
  try {
    return parseCheckpoint(note.slice(0, split + 1));
  } catch (err) {
    throw invalid(path, `not a checkpoint: ${(err as Error).message}`);
  }
}

function safeOrigin(origin: string, path: string): ReturnType<typeof parseOrigin> {
  try {
    return parseOrigin(origin);
  } catch (err) {
    throw invalid(path, (err as Error).message);
  }
}
