// Recovery on open. Decides how many records are durable and makes every file agree with it:
//
// 1. The durable floor M = max(state marker size, latest checkpoint size). Everything below M
//    was synced before it was acknowledged or signed, so any contradiction there is corruption
//    and the log refuses to open. Everything at or above M may be a torn tail of a crash.
// 2. Records: the leaf index decides the candidate size n; records in [M - overlap, n) (all of
//    them with fullCheck) are re-read and re-hashed against their index entry. Below M a bad
//    record is corruption. At or above M (the marker trails the acknowledgements by up to its
//    interval) a bad record ends the log there only if it shows what an incomplete write leaves:
//    storage that was never written reads as zeros, so a torn record has a zero-filled index
//    word, data past the end of its file, or a run of zeros in its bytes. A record whose index
//    entry and bytes were written in full and no longer match was acknowledged and then damaged:
//    corruption, never a cut (see `tornEvidence`).
// 3. Tiles: tile nodes are derived from the index; nodes past the marker are recomputed and
//    rewritten where they differ, nodes below it are spot-checked (all checked with fullCheck).
// 4. Roots: the marker's root and the latest checkpoint's root (every checkpoint's with
//    fullCheck) must equal the root recomputed from stored nodes.
//
// Read-only (a check such as `agdr verify --log`): every check above runs and refuses the same
// corruption, but nothing is repaired. The torn tail stays on disk and is not served (the size
// is the recovered size); stale or missing tile nodes past the marker are recomputed into the
// tree store's in-memory overlay, so roots and proofs are the ones a writable open would give.
import type { Hasher } from '../core/hash.ts';
import { bytesEqual } from '../core/bytes.ts';
import { CheckpointError, parseCheckpointNote } from '../core/checkpoint.ts';
import { NoteError } from '../core/note.ts';
import { LogCorruptionError, LogStoreError } from './errors.ts';
import {
  HASH_SIZE,
  INDEX_ENTRY,
  TILE_HEIGHT,
  TILE_WIDTH,
  segmentOf,
  storedNodeCount,
  tileLevelPath,
  type LogLayout,
} from './layout.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import type { DamageNote } from './damage.ts';
import type { SegmentFiles } from './segments.ts';
import type { StateMarker } from './state-marker.ts';
import { foldRow, readIndexEntry, type TreeStore } from './tree-store.ts';

/** Records below the durable floor that the cheap check still re-hashes. */
const CHEAP_OVERLAP = 256;
/** Records (or tile nodes) processed per read while checking. */
const CHUNK = 4096;

export type RecoveryPhase = 'records' | 'tiles' | 'checkpoints';

export interface RecoveryOptions {
  readonly fullCheck: boolean;
  /** Check only: truncate, rewrite and sync nothing (the tree store must be read-only too). */
  readonly readOnly?: boolean | undefined;
  readonly onProgress?: ((phase: RecoveryPhase, done: number, total: number) => void) | undefined;
}

export interface RecoveryReport {
  /** Durable records after recovery. */
  readonly size: number;
  /** The floor below which nothing may be lost (marker or checkpoint). */
  readonly durableFloor: number;
  /**
   * Records of a torn tail (never acknowledged) past `size`: dropped from the files, or with
   * `readOnly` left in place and not served (a writable open would drop them).
   */
  readonly truncatedRecords: number;
  /** Records re-read and re-hashed. */
  readonly checkedRecords: number;
  /**
   * Tile nodes past the durable marker that were missing or stale and were recomputed: rewritten
   * in the tile files, or with `readOnly` served from memory only (a writable open would
   * rewrite them).
   */
  readonly repairedTileNodes: number;
  /** Checkpoints whose root was compared with the stored tree. */
  readonly checkedCheckpoints: number;
  readonly fullCheck: boolean;
  /** Nothing was written: the counts above say what a writable open would have repaired. */
  readonly readOnly: boolean;
  /** Damage an earlier run recorded that checked intact again (restored), and was cleared. */
  readonly cleared?: DamageNote | undefined;
  /** The log had no identity in meta.json and took the one it was opened with. */
  readonly adoptedIdentity?: boolean;
}

export interface RecoveryStores {
  readonly layout: LogLayout;
  readonly hasher: Hasher;
  readonly tree: TreeStore;
  readonly segments: SegmentFiles;
  readonly marker: StateMarker;
  readonly checkpoints: CheckpointStore;
}

export async function recover(
  stores: RecoveryStores,
  opts: RecoveryOptions,
): Promise<RecoveryReport> {
  const { tree, marker, checkpoints, layout } = stores;
  const readOnly = opts.readOnly ?? false;
  if (readOnly !== tree.readOnly) {
    throw new LogStoreError('bad_argument', 'a read-only recovery needs a read-only tree store');
  }
  const floor = Math.max(marker.mark?.size ?? 0, checkpoints.latest?.size ?? 0);
  const indexed = tree.indexCount;
  if (indexed < floor) {
    throw new LogCorruptionError(
      layout.index,
      `holds ${indexed} records but ${floor} were durably committed (state marker or checkpoint)`,
    );
  }
  const from = opts.fullCheck ? 0 : Math.max(0, floor - CHEAP_OVERLAP);
  checkSegmentSizes(stores, floor);
  const size = checkRecords(stores, from, indexed, floor, opts);
  if (!readOnly) await cutTail(stores, size);

  const repaired = await repairTiles(stores, size, opts);
  const checkedCheckpoints = checkRoots(stores, size, opts);
  return {
    size,
    durableFloor: floor,
    truncatedRecords: indexed - size,
    checkedRecords: indexed - from,
    repairedTileNodes: repaired,
    checkedCheckpoints,
    fullCheck: opts.fullCheck,
    readOnly,
  };
}

/** Every full segment below the floor must exist with exactly the bytes its index says. */
function checkSegmentSizes({ tree, segments, layout }: RecoveryStores, floor: number): void {
  const per = layout.segmentRecords;
  for (let seg = 0; (seg + 1) * per <= floor; seg++) {
    const last = (seg + 1) * per - 1;
    const want = tree.indexEntry(last).end;
    const have = segments.sizeOnDisk(seg);
    if (have < want) {
      throw new LogCorruptionError(
        segments.path(seg),
        `is ${have} bytes, its records need ${want}`,
      );
    }
  }
}

/**
 * Re-hashes records [from, to) against the index. Returns the size of the valid prefix; a bad
 * record below `floor` throws.
 */
function checkRecords(
  { hasher, tree, segments, layout }: RecoveryStores,
  from: number,
  to: number,
  floor: number,
  opts: RecoveryOptions,
): number {
  const per = layout.segmentRecords;
  const segmentOf = (seq: number): number => Math.floor(seq / per);
  let prevEnd = from % per === 0 ? 0 : tree.indexEntry(from - 1).end;
  /** Where the log ends for a bad record: there if it is a torn tail, else corruption. */
  const bad = (seq: number, why: string, torn: string | undefined): number => {
    if (seq < floor) {
      throw new LogCorruptionError(segments.path(segmentOf(seq)), `record ${seq} ${why}`);
    }
    if (torn === undefined) {
      throw new LogCorruptionError(
        segments.path(segmentOf(seq)),
        `record ${seq} ${why}; its index entry and bytes were written in full, so it was ` +
          `acknowledged and has since been damaged (not a torn write; the durable marker is at ${floor})`,
      );
    }
    return seq;
  };
  for (let start = from; start < to;) {
    // One chunk never spans a segment boundary, so its data is one contiguous read.
    const segEnd = (segmentOf(start) + 1) * per;
    const count = Math.min(CHUNK, to - start, segEnd - start);
    const idx = tree.readIndex(start, count);
    const seg = segmentOf(start);
    const entries = Array.from({ length: count }, (_, i) => readIndexEntry(idx, i));
    // The valid run of end offsets: monotonic and within the segment file.
    const fileSize = segments.sizeOnDisk(seg);
    let valid = 0;
    let end = prevEnd;
    while (valid < count) {
      const e = (entries[valid] as { end: number }).end;
      if (e < end || e > fileSize) break;
      end = e;
      valid++;
    }
    const data = end > prevEnd ? segments.read(seg, prevEnd, end - prevEnd) : Buffer.alloc(0);
    let pos = prevEnd;
    for (let i = 0; i < valid; i++) {
      const entry = entries[i] as { end: number; leafHash: Uint8Array };
      const record = data.subarray(pos - prevEnd, entry.end - prevEnd);
      if (!bytesEqual(hasher.hashLeaf(record), entry.leafHash)) {
        const torn = tornEvidence(idx, i) ?? zeroRunEvidence(record);
        const why = `does not match its leaf hash in leaves.idx (bytes ${pos}..${entry.end})`;
        return bad(start + i, why, torn);
      }
      pos = entry.end;
    }
    if (valid < count) {
      const e = (entries[valid] as { end: number }).end;
      const torn =
        tornEvidence(idx, valid) ??
        (e > fileSize ? `its data ends past the file (${fileSize} bytes)` : undefined);
      return bad(start + valid, `has an end offset ${e} outside its segment`, torn);
    }
    prevEnd = segmentOf(start + count) === seg ? end : 0;
    start += count;
    opts.onProgress?.('records', start - from, to - from);
  }
  return to;
}

/** A zero run this long in a record is storage that was never written, not a flipped bit. */
const UNWRITTEN_RUN = 8;

/**
 * Why leaf-index entry `i` of `idx` looks never written, or undefined. Unwritten file space reads
 * as zeros, and writes tear at sector or page boundaries, which fall on 8-byte boundaries of the
 * 40-byte entries (4096 and 512 are multiples of 8): a torn entry has an all-zero 8-byte word. A
 * leaf hash has one with probability 2^-62; an end offset is zero only before a segment's first byte.
 */
function tornEvidence(idx: Uint8Array, i: number): string | undefined {
  const base = i * INDEX_ENTRY;
  for (let w = 0; w < INDEX_ENTRY; w += 8) {
    let zero = true;
    for (let b = base + w; b < base + w + 8; b++) if (idx[b] !== 0) zero = false;
    if (zero) return `its index entry has zero-filled bytes ${w}..${w + 8} (never written)`;
  }
  return undefined;
}

/**
 * Why a record's bytes look partly never written, or undefined: a run of UNWRITTEN_RUN zero
 * bytes, or zeros up to its end (a write cut short). Records the log's users store are JSON,
 * which holds no zero byte at all.
 */
function zeroRunEvidence(record: Uint8Array): string | undefined {
  let run = 0;
  for (let k = 0; k < record.length; k++) {
    run = record[k] === 0 ? run + 1 : 0;
    if (run >= UNWRITTEN_RUN) return `its bytes hold a zero-filled run (never written)`;
  }
  return run > 0 ? 'its bytes end in zeros (a write cut short)' : undefined;
}

/** Makes the index and segments end exactly at `size`. */
async function cutTail({ tree, segments, layout }: RecoveryStores, size: number): Promise<void> {
  if (tree.index.length !== size * INDEX_ENTRY) await tree.index.truncate(size * INDEX_ENTRY);
  const lastSeg = size === 0 ? -1 : segmentOf(layout, size - 1);
  for (const seg of segments.listOnDisk()) if (seg > lastSeg) await segments.remove(seg);
  if (lastSeg >= 0) {
    const end = tree.indexEntry(size - 1).end;
    if (segments.sizeOnDisk(lastSeg) !== end) await segments.truncate(lastSeg, end);
  }
  await tree.index.datasync();
}

/**
 * Recomputes tile nodes past the marker (all with fullCheck); returns how many were missing or
 * stale. Those are rewritten, or on a read-only store kept in its overlay; nodes a torn tail left
 * past the recovered size are cut, or read-only never read.
 */
async function repairTiles(
  stores: RecoveryStores,
  size: number,
  opts: RecoveryOptions,
): Promise<number> {
  const { tree, marker, hasher, layout } = stores;
  const markSize = Math.min(marker.mark?.size ?? 0, size);
  let repaired = 0;
  for (let q = 1; storedNodeCount(size, q) > 0 || tree.storedCount(q) > 0; q++) {
    const want = storedNodeCount(size, q);
    const file = tree.readOnly ? undefined : tree.tileFile(q);
    if (file !== undefined && (tree.storedCount(q) > want || file.length % HASH_SIZE !== 0)) {
      await file.truncate(Math.min(tree.storedCount(q), want) * HASH_SIZE);
    }
    const sure = storedNodeCount(markSize, q);
    // Re-check one node below the marker cheaply; everything with fullCheck.
    const from = opts.fullCheck ? 0 : Math.max(0, sure - 1);
    for (let start = from; start < want;) {
      const count = Math.min(CHUNK / TILE_WIDTH, want - start);
      const below = tree.readTileNodes(q - 1, start * TILE_WIDTH, count * TILE_WIDTH);
      for (let i = 0; i < count; i++) {
        const node = start + i;
        const computed = foldRow(
          hasher,
          below.slice(i * TILE_WIDTH, (i + 1) * TILE_WIDTH),
          TILE_HEIGHT,
        );
        const have = tree.storedNode(q, node);
        if (have !== undefined && bytesEqual(have, computed)) continue;
        if (node < sure) {
          throw new LogCorruptionError(
            tileLevelPath(layout, q),
            `tile node ${node} does not match the nodes below it`,
          );
        }
        if (file === undefined) tree.keepRecomputed(q, node, computed);
        else await file.writeAt(computed, node * HASH_SIZE);
        repaired++;
      }
      start += count;
      opts.onProgress?.('tiles', start - from, want - from);
    }
  }
  if (repaired > 0 && !tree.readOnly) await tree.syncTiles();
  return repaired;
}

/** Compares the marker's and checkpoints' roots with the stored tree; returns checkpoints checked. */
function checkRoots(
  { tree, marker, checkpoints, layout }: RecoveryStores,
  size: number,
  opts: RecoveryOptions,
): number {
  const mark = marker.mark;
  if (mark !== undefined && mark.size <= size && !bytesEqual(tree.rootAt(mark.size), mark.root)) {
    throw new LogCorruptionError(
      layout.state,
      `root at size ${mark.size} differs from the stored tree`,
    );
  }
  const total = checkpoints.count;
  const first = opts.fullCheck ? 0 : Math.max(0, total - 1);
  let checked = 0;
  for (let i = first; i < total; i++) {
    const cp = checkpoints.nth(i);
    let head: { size: number; root: Uint8Array };
    try {
      head = treeHeadOfNote(cp.note, `checkpoint filed at size ${cp.size}`);
    } catch (err) {
      // Only signed checkpoint notes are ever stored: one that no longer reads as one is damage.
      if (!(err instanceof LogStoreError)) throw err;
      throw new LogCorruptionError(layout.checkpointLog, err.message);
    }
    if (head.size !== cp.size) {
      throw new LogCorruptionError(
        layout.checkpointLog,
        `checkpoint filed at size ${cp.size} is for size ${head.size}`,
      );
    }
    if (!bytesEqual(tree.rootAt(cp.size), head.root)) {
      throw new LogCorruptionError(
        layout.checkpointLog,
        `signed root at size ${cp.size} differs from the stored tree`,
      );
    }
    checked++;
    opts.onProgress?.('checkpoints', i - first + 1, total - first);
  }
  return checked;
}

/**
 * Size and root of a signed checkpoint note, by core's parser (the one reading of the format);
 * a LogStoreError('bad_argument') naming `what` when the note is not one.
 */
export function treeHeadOfNote(note: string, what: string): { size: number; root: Uint8Array } {
  try {
    const cp = parseCheckpointNote(note);
    return { size: cp.size, root: cp.rootHash };
  } catch (err) {
    if (!(err instanceof NoteError) && !(err instanceof CheckpointError)) throw err;
    throw new LogStoreError(
      'bad_argument',
      `${what} is not a signed checkpoint note: ${err.message}`,
    );
  }
}
