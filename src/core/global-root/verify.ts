// Verifying signed records: the coordinator's signature and every claim a record makes.
import { toHex } from '../bytes.ts';
import { CheckpointError, verifyCheckpoint } from '../checkpoint.ts';
import { NoteError, VerifierSet, type NoteVerifier } from '../note.ts';
import { type GlobalLogRecord, GlobalRootError } from './types.ts';
import { rootMerkleTreeRoot } from './root-tree.ts';
import { globalRootSigningBytes } from './sign.ts';
import { checkGlobalLogRecord } from './checks.ts';
import { strictBase64 } from './fields.ts';

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
