// Lays out one group commit: hashes every record (leaf hash, then the compact range, which yields
// the completed tile nodes), and builds the bytes each file receives — record bytes per segment,
// leaf-index entries, tile nodes per tile level. Pure CPU work on the writer; no I/O.
import type { Hasher } from '../core/hash.ts';
import type { CompactRange } from '../core/merkle/compact.ts';
import { HASH_SIZE, INDEX_ENTRY, TILE_HEIGHT } from './layout.ts';

export interface EncodedBatch {
  /** Record bytes for each segment touched (normally one), in order. */
  readonly parts: { readonly segment: number; readonly bytes: Uint8Array }[];
  /** INDEX_ENTRY bytes per record: leaf hash, end offset in its segment (u64 LE). */
  readonly index: Uint8Array;
  /** Completed nodes of tree level 8q, by tile level q >= 1, in index order. */
  readonly tiles: Map<number, Uint8Array[]>;
  /** End offset of the last record in its segment. */
  readonly segmentEnd: number;
}

/**
 * Encodes `records`, which get sequence numbers `range.size`, `range.size + 1`, ...; appends
 * their leaf hashes to `range`. `segmentEnd` is the end offset of the previous record in its
 * segment (0 at a segment start).
 */
export function encodeBatch(
  records: readonly Uint8Array[],
  range: CompactRange,
  hasher: Hasher,
  segmentRecords: number,
  segmentEnd: number,
): EncodedBatch {
  const first = range.size;
  const index = new Uint8Array(records.length * INDEX_ENTRY);
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const tiles = new Map<number, Uint8Array[]>();
  const sink = (level: number, _index: number, hash: Uint8Array): void => {
    if (level === 0 || level % TILE_HEIGHT !== 0) return;
    const q = level / TILE_HEIGHT;
    let nodes = tiles.get(q);
    if (nodes === undefined) tiles.set(q, (nodes = []));
    nodes.push(hash);
  };
  const parts: { segment: number; bytes: Uint8Array }[] = [];
  let segment = Math.floor(first / segmentRecords);
  let boundary = (segment + 1) * segmentRecords;
  let part = partBuffer(records, 0, boundary - first);
  let partOffset = 0;
  let end = segmentEnd;
  for (let r = 0, seq = first; r < records.length; r++, seq++) {
    if (seq === boundary) {
      parts.push({ segment, bytes: part.subarray(0, partOffset) });
      segment++;
      boundary += segmentRecords;
      part = partBuffer(records, r, segmentRecords);
      partOffset = 0;
      end = 0;
    }
    const record = records[r] as Uint8Array;
    const leaf = hasher.hashLeaf(record);
    range.append(leaf, sink);
    part.set(record, partOffset);
    partOffset += record.length;
    end += record.length;
    const at = r * INDEX_ENTRY;
    index.set(leaf, at);
    view.setUint32(at + HASH_SIZE, end >>> 0, true);
    view.setUint32(at + HASH_SIZE + 4, Math.floor(end / 2 ** 32), true);
  }
  parts.push({ segment, bytes: part.subarray(0, partOffset) });
  return { parts, index, tiles, segmentEnd: end };
}

/** A buffer for at most `room` records starting at `from`. */
function partBuffer(records: readonly Uint8Array[], from: number, room: number): Uint8Array {
  let total = 0;
  for (let i = from; i < records.length && i - from < room; i++)
    total += (records[i] as Uint8Array).length;
  return new Uint8Array(total);
}
