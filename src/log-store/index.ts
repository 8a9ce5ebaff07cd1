// The durable Merkle log library shared by the shard and the coordinator's global log.
export { MerkleLog, type LogOptions } from './merkle-log.ts';
export {
  DEFAULT_BATCH_BYTES,
  type AppendedEntry,
  type AppendedRange,
  type EntryWriter,
  type BatchStats,
  type EntryBuilder,
} from './group-commit.ts';
export type { StoredCheckpoint } from './checkpoint-store.ts';
export { DIR_MODE } from './layout.ts';
export type { LogIdentity } from './meta.ts';
export { Scrubber, type ScrubOptions } from './scrub.ts';
export type { RecoveryPhase, RecoveryReport } from './recovery.ts';
export { LogCorruptionError, LogStoreError, type LogStoreErrorCode } from './errors.ts';
