// Damage found in stored data after the log was opened: a record whose bytes no longer hash to
// its leaf-index entry (a read, a proof or the scrub found it), or a tile node that no longer
// folds from the nodes below it. The finding is kept in `DAMAGE` beside the log, so that it
// outlives the restart it causes: every later open checks the named record or node again and
// refuses to open while it is still damaged (a restored file clears it).
import fs from 'node:fs';
import type { Hasher } from '../core/hash.ts';
import { bytesEqual } from '../core/bytes.ts';
import { inclusionPlan, proofFromNodes } from '../core/merkle/nodes.ts';
import { rootFromInclusionProof } from '../core/merkle/proof.ts';
import { syncDirectory } from './append-file.ts';
import { LogCorruptionError } from './errors.ts';
import { TILE_HEIGHT, TILE_WIDTH, segmentOf, segmentPath, type LogLayout } from './layout.ts';
import type { SegmentFiles } from './segments.ts';
import { foldRow, readIndexEntry, type TreeStore } from './tree-store.ts';

/** What `DAMAGE` holds: the damaged record (`seq`) or tile node (`tile`), and the finding. */
export interface DamageNote {
  readonly seq?: number;
  readonly tile?: { readonly level: number; readonly node: number };
  /** An inclusion proof built from stored nodes that did not lead to the root. */
  readonly proof?: { readonly index: number; readonly size: number };
  /** The file in which the damage was found. */
  readonly file: string;
  readonly message: string;
  readonly found_at: string;
}

export interface StoredTree {
  readonly layout: LogLayout;
  readonly hasher: Hasher;
  readonly tree: TreeStore;
  readonly segments: SegmentFiles;
}

/**
 * Reads record `seq` and checks it against its leaf-index entry. Returns its bytes, or a
 * LogCorruptionError (not thrown: the caller records it) when they no longer match.
 */
export function readStoredRecord(
  s: StoredTree,
  seq: number,
): { bytes: Uint8Array } | { damage: LogCorruptionError; note: DamageNote } {
  const first = seq % s.layout.segmentRecords === 0;
  const buf = first ? s.tree.readIndex(seq, 1) : s.tree.readIndex(seq - 1, 2);
  const start = first ? 0 : readIndexEntry(buf, 0).end;
  const entry = readIndexEntry(buf, first ? 0 : 1);
  const segment = segmentOf(s.layout, seq);
  const data = s.segments.read(segment, start, entry.end - start);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytesEqual(s.hasher.hashLeaf(bytes), entry.leafHash)) return { bytes };
  const file = segmentPath(s.layout, segment);
  const message = `record ${seq} (bytes ${start}..${entry.end}) does not match its leaf hash in leaves.idx`;
  return damageOf(file, message, { seq });
}

/** Checks stored node `node` of tile level q >= 1 against the 256 nodes it folds. */
export function checkTileNode(
  s: StoredTree,
  q: number,
  node: number,
): { damage: LogCorruptionError; note: DamageNote } | undefined {
  const below = s.tree.readTileNodes(q - 1, node * TILE_WIDTH, TILE_WIDTH);
  const stored = s.tree.storedNode(q, node);
  if (stored !== undefined && bytesEqual(foldRow(s.hasher, below, TILE_HEIGHT), stored)) {
    return undefined;
  }
  const file = `${s.layout.tiles}/level-${q}.hashes`;
  const message = `tile node ${node} does not match the nodes below it`;
  return damageOf(file, message, { tile: { level: q, node } });
}

/**
 * Checks stored records from `from` (at most `count`, never past the end of `from`'s segment)
 * against their leaf-index entries, and every tile node completed by those records against the
 * nodes below it: two reads for the records, one fold per tile node. Returns how many records
 * were checked and the first damage found.
 */
export function checkStoredRange(
  s: StoredTree,
  from: number,
  count: number,
): { checked: number; found?: { damage: LogCorruptionError; note: DamageNote } } {
  const per = s.layout.segmentRecords;
  const segment = segmentOf(s.layout, from);
  const n = Math.min(count, (segment + 1) * per - from);
  if (n <= 0) return { checked: 0 };
  const first = from % per === 0;
  const idx = first ? s.tree.readIndex(from, n) : s.tree.readIndex(from - 1, n + 1);
  const base = first ? 0 : 1;
  const start = first ? 0 : readIndexEntry(idx, 0).end;
  const end = readIndexEntry(idx, base + n - 1).end;
  const data = s.segments.read(segment, start, end - start);
  let pos = start;
  for (let i = 0; i < n; i++) {
    const entry = readIndexEntry(idx, base + i);
    const bytes = data.subarray(pos - start, entry.end - start);
    if (!bytesEqual(s.hasher.hashLeaf(bytes), entry.leafHash)) {
      const message = `record ${from + i} (bytes ${pos}..${entry.end}) does not match its leaf hash in leaves.idx`;
      return {
        checked: i,
        found: damageOf(segmentPath(s.layout, segment), message, { seq: from + i }),
      };
    }
    pos = entry.end;
  }
  for (let q = 1, width = TILE_WIDTH; width <= from + n; q++, width *= TILE_WIDTH) {
    const last = Math.floor((from + n) / width) - 1;
    for (let node = Math.floor(from / width); node <= last; node++) {
      const found = checkTileNode(s, q, node);
      if (found !== undefined) return { checked: n, found };
    }
  }
  return { checked: n };
}

/**
 * Checks that the inclusion proof of leaf `index` at `size`, built from stored nodes, leads from
 * the leaf's index entry to `root` (the log's own root at `size`): the leaf index and the tile
 * files agree along the path.
 */
export function checkInclusion(
  s: StoredTree,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): { damage: LogCorruptionError; note: DamageNote } | undefined {
  const leaf = s.tree.indexEntry(index).leafHash;
  if (bytesEqual(rootFromInclusionProof(s.hasher, index, size, leaf, proof), root))
    return undefined;
  const message = `the inclusion proof of leaf ${index} at size ${size} does not lead to the root: leaves.idx and the tile files disagree`;
  return damageOf(s.layout.index, message, { proof: { index, size } });
}

function damageOf(
  file: string,
  message: string,
  where: Pick<DamageNote, 'seq' | 'tile' | 'proof'>,
): { damage: LogCorruptionError; note: DamageNote } {
  const note: DamageNote = { ...where, file, message, found_at: new Date().toISOString() };
  return { damage: new LogCorruptionError(file, `${message} (found after open)`), note };
}

/** Keeps a finding in `DAMAGE` (temporary file, fsync, rename, directory fsync). */
export function recordDamage(layout: LogLayout, note: DamageNote): void {
  const tmp = `${layout.damage}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(note) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, layout.damage);
  syncDirectory(layout.dir);
}

/**
 * On open: the damage an earlier run recorded, checked again. Throws LogCorruptionError while
 * it is still there; returns the note when the data is intact again (restored), else undefined.
 */
export function recheckRecordedDamage(s: StoredTree, size: number): DamageNote | undefined {
  let text: string;
  try {
    text = fs.readFileSync(s.layout.damage, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let note: DamageNote;
  try {
    note = JSON.parse(text) as DamageNote;
  } catch {
    throw new LogCorruptionError(s.layout.damage, 'is unreadable; inspect the log, then remove it');
  }
  const again =
    note.seq !== undefined
      ? note.seq < size
        ? readStoredRecord(s, note.seq)
        : undefined
      : note.tile !== undefined
        ? checkTileNode(s, note.tile.level, note.tile.node)
        : note.proof !== undefined && note.proof.size <= size
          ? recheckInclusion(s, note.proof.index, note.proof.size)
          : undefined;
  if (again !== undefined && 'damage' in again) {
    throw new LogCorruptionError(
      note.file,
      `${note.message} (found ${note.found_at}, recorded in ${s.layout.damage}; still damaged: restore the file from a replica or backup)`,
    );
  }
  return note;
}

function recheckInclusion(
  s: StoredTree,
  index: number,
  size: number,
): { damage: LogCorruptionError; note: DamageNote } | undefined {
  const plan = inclusionPlan(index, size);
  const proof = proofFromNodes(s.hasher, plan, s.tree.nodes(plan.nodes));
  return checkInclusion(s, index, size, proof, s.tree.rootAt(size));
}

/** Removes the finding once the data checks again. */
export function clearDamage(layout: LogLayout): void {
  fs.rmSync(layout.damage, { force: true });
  syncDirectory(layout.dir);
}
