// Lays out one group commit. Entries are written back to back into one reusable batch buffer
// (no per-record allocation); then every record is hashed where it lies (leaf hash, then the
// compact range, which yields the completed tile nodes), and the bytes each file receives are
// laid out: record bytes per segment (views of the batch buffer), leaf-index entries, tile
// nodes per tile level. Pure CPU work on the writer; no I/O.
import { withRoom } from '../core/bytes.ts';
import type { Hasher } from '../core/hash.ts';
import type { CompactRange } from '../core/merkle/compact.ts';
import { HASH_SIZE, INDEX_ENTRY, TILE_HEIGHT } from './layout.ts';

/**
 * Record bytes of one batch: `bytes[1..length)`, record r ending at `ends[r]`. Byte 0 is never
 * stored: it is the 0x00 leaf prefix of the first record (see `encodeBatch`).
 */
export class BatchBuffer {
  bytes: Uint8Array;
  ends: Float64Array;
  length = 1;
  count = 0;

  constructor(capacity = 1 << 20, entries = 1024) {
    this.bytes = new Uint8Array(capacity);
    this.ends = new Float64Array(entries);
  }

  reset(): void {
    this.length = 1;
    this.count = 0;
  }

  /** Makes room for `bytes` more record bytes and one more record. */
  reserve(bytes: number): void {
    this.bytes = withRoom(this.bytes, this.length, this.length + bytes);
    if (this.count === this.ends.length) {
      const grown = new Float64Array(2 * this.ends.length);
      grown.set(this.ends);
      this.ends = grown;
    }
  }

  /** Records the record just written at `length` as `size` bytes long. */
  push(size: number): void {
    this.length += size;
    this.ends[this.count++] = this.length;
  }

  /** Drops the records after the first `count` (a call whose entries could not all be built). */
  truncate(count: number): void {
    this.count = count;
    this.length = count === 0 ? 1 : (this.ends[count - 1] as number);
  }
}

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
 * Encodes the records of `batch`, which get sequence numbers `range.size`, `range.size + 1`,
 * ...; appends their leaf hashes to `range`. `segmentEnd` is the end offset of the previous
 * record in its segment (0 at a segment start).
 */
export function encodeBatch(
  batch: BatchBuffer,
  range: CompactRange,
  hasher: Hasher,
  segmentRecords: number,
  segmentEnd: number,
): EncodedBatch {
  const first = range.size;
  const { bytes, ends, count } = batch;
  const index = new Uint8Array(count * INDEX_ENTRY);
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
  let partStart = 1;
  // Segment offset of the batch buffer's position 0 in the current part.
  let base = segmentEnd - 1;
  let start = 1;
  for (let r = 0, seq = first; r < count; r++, seq++) {
    if (seq === boundary) {
      parts.push({ segment, bytes: bytes.subarray(partStart, start) });
      segment++;
      boundary += segmentRecords;
      partStart = start;
      base = -start;
    }
    const end = ends[r] as number;
    // H(0x00 || record) in one call over contiguous bytes: the byte before the record (the
    // previous record's last byte, or the unused byte 0) is the prefix for the duration.
    const saved = bytes[start - 1] as number;
    bytes[start - 1] = 0x00;
    const leaf = hasher.digest(bytes.subarray(start - 1, end));
    bytes[start - 1] = saved;
    range.append(leaf, sink);
    const at = r * INDEX_ENTRY;
    const offset = base + end;
    index.set(leaf, at);
    view.setUint32(at + HASH_SIZE, offset >>> 0, true);
    view.setUint32(at + HASH_SIZE + 4, Math.floor(offset / 2 ** 32), true);
    start = end;
  }
  parts.push({ segment, bytes: bytes.subarray(partStart, start) });
  return { parts, index, tiles, segmentEnd: base + start };
}
