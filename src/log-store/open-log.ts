// Opening a log directory: the directory lock (a read-only check restores a lock a killed
// owner left), the stores, and recovery. A failed open releases the lock it took.
import fs from 'node:fs';
import type { Hasher } from '../core/hash.ts';
import { syncDirectory } from './append-file.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import { clearDamage, recheckRecordedDamage, type StoredTree } from './damage.ts';
import { LogStoreError } from './errors.ts';
import { DIR_MODE, SEGMENT_RECORDS, logLayout, type LogLayout } from './layout.ts';
import { acquireLock, acquireReadLock, releaseLock } from './lock.ts';
import { loadMeta } from './meta.ts';
import { recover, type RecoveryReport } from './recovery.ts';
import { SegmentFiles } from './segments.ts';
import { StateMarker } from './state-marker.ts';
import { TreeStore } from './tree-store.ts';
import type { LogOptions } from './merkle-log.ts';

/** The directory lock as `open` took it. */
export interface HeldLock {
  readonly path: string;
  /** Read-only opens: the LOCK content a killed owner left, restored on close. */
  readonly stale: Buffer | undefined;
  /** Whether this open wrote the LOCK file (a read-only check may not be able to). */
  readonly wrote: boolean;
}

/** An open, recovered log directory, before the MerkleLog over it exists. */
export interface OpenedLog {
  layout: LogLayout;
  hasher: Hasher;
  stores: {
    tree: TreeStore;
    segments: SegmentFiles;
    marker: StateMarker;
    checkpoints: CheckpointStore;
  };
  recovery: RecoveryReport;
  lock: HeldLock;
}

/**
 * Takes the directory lock, opens (creating unless read-only) the stores and recovers them.
 * Throws (releasing the lock) rather than open a log that contradicts its durable commitments.
 */
export async function openLogDirectory(opts: LogOptions, hasher: Hasher): Promise<OpenedLog> {
  const readOnly = opts.readOnly ?? false;
  const paths = logLayout(opts.dir, SEGMENT_RECORDS);
  if (readOnly) {
    // A check creates nothing: every file a log has once it was first opened must be there.
    const { meta, index, state, checkpointLog, checkpointIndex } = paths;
    const missing = [meta, index, state, checkpointLog, checkpointIndex].find(
      (p) => !fs.existsSync(p),
    );
    if (missing !== undefined)
      throw new LogStoreError('not_found', `${missing}: missing, not a log directory`);
  } else {
    // Explicit modes: a umask of 000 must not make a log world-writable.
    fs.mkdirSync(opts.dir, { recursive: true, mode: DIR_MODE });
  }
  const lockPath = paths.lock;
  // The lock a killed owner left: a read-only open puts it back as it found it on close.
  const staleLock = readOnly && fs.existsSync(lockPath) ? fs.readFileSync(lockPath) : undefined;
  let wrote = true;
  if (readOnly) wrote = acquireReadLock(lockPath);
  else acquireLock(lockPath);
  const lock: HeldLock = { path: lockPath, stale: staleLock, wrote };
  try {
    const { meta, adopted } = loadMeta(
      opts.dir,
      hasher,
      opts.segmentRecords ?? SEGMENT_RECORDS,
      opts.identity,
      readOnly,
    );
    const layout = logLayout(opts.dir, meta.segment_records);
    if (!readOnly) {
      fs.mkdirSync(layout.records, { recursive: true, mode: DIR_MODE });
      fs.mkdirSync(layout.tiles, { recursive: true, mode: DIR_MODE });
    }
    const tree = TreeStore.open(hasher, layout, readOnly);
    const segments = new SegmentFiles(layout);
    const marker = StateMarker.open(layout.state, readOnly);
    const checkpoints = await CheckpointStore.open(layout, readOnly);
    if (!readOnly) for (const d of [layout.dir, layout.records, layout.tiles]) syncDirectory(d);
    const stores = { tree, segments, marker, checkpoints };
    const report = await recover(
      { layout, hasher, ...stores },
      { fullCheck: opts.fullCheck ?? false, onProgress: opts.onProgress, readOnly },
    );
    // Damage an earlier run found is checked again: still there, the open fails.
    const stored: StoredTree = { layout, hasher, tree, segments };
    const cleared = recheckRecordedDamage(stored, report.size);
    if (cleared !== undefined && !readOnly) clearDamage(layout);
    const full = { ...report, cleared, adoptedIdentity: adopted };
    return { layout, hasher, stores, recovery: full, lock };
  } catch (err) {
    releaseHeldLock(lock);
    throw err;
  }
}

/** Releases the directory lock; a stale lock found by a read-only open is put back. */
export function releaseHeldLock(lock: HeldLock): void {
  releaseLock(lock.path, lock.wrote);
  const staleLock = lock.stale;
  if (staleLock === undefined || !lock.wrote) return;
  try {
    // Exclusive create: an owner that took the lock meanwhile keeps it.
    fs.writeFileSync(lock.path, staleLock, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
