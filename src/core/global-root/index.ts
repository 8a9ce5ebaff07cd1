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
//
// One module per concern, in this folder; this file is their public surface.
export {
  type ShardStatus,
  SHARD_STATUSES,
  type ShardEntry,
  type RecordSignature,
  type GlobalRootRecord,
  type MissedInterval,
  type ReconstructionRecord,
  type GlobalLogRecord,
  type Unsigned,
  type GlobalRootErrorCode,
  GlobalRootError,
} from './types.ts';
export {
  shardEntryLeafHash,
  rootMerkleTreeRoot,
  type ShardEntryProof,
  shardEntryInclusionProof,
  verifyShardEntryInclusion,
} from './root-tree.ts';
export {
  type GlobalRootInput,
  buildGlobalRootRecord,
  type ShardEntryInput,
  buildShardEntry,
  type ReconstructionInput,
  buildReconstructionRecord,
} from './build.ts';
export {
  globalRootSigningBytes,
  signGlobalLogRecord,
  signGlobalRootRecord,
  signReconstructionRecord,
} from './sign.ts';
export { globalLogEntryBytes, parseGlobalLogEntry } from './entries.ts';
export {
  type RecordVerification,
  verifyGlobalRootRecord,
  verifyReconstructionRecord,
  verifyGlobalLogRecord,
} from './verify.ts';
export { checkGlobalLogRecord, checkMissedInterval, checkShardEntry } from './checks.ts';
export { strictBase64 } from './fields.ts';
