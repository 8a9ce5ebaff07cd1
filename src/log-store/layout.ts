// Where everything lives in a log directory, and the arithmetic that maps a sequence number to
// a segment and a node to its tile file. docs/spec/70-shard-storage.md is the prose version.
import path from 'node:path';

/** Format name written to meta.json; a directory with another format is refused. */
export const FORMAT = 'agdr-log/1';
/** Default records per segment file (fixed per log in meta.json when it is created). */
export const SEGMENT_RECORDS = 2 ** 20;
/** Bytes per leaf-index entry: the 32-byte leaf hash, then the record's end offset (u64 LE). */
export const INDEX_ENTRY = 40;
/** Tree levels per tile (C2SP tlog-tiles height): tile level q stores tree level 8q. */
export const TILE_HEIGHT = 8;
/** Tree nodes per full tile (2^TILE_HEIGHT). */
export const TILE_WIDTH = 2 ** TILE_HEIGHT;
export const HASH_SIZE = 32;
/** Mode of every directory a log creates (files are 0644): never wider, whatever the umask. */
export const DIR_MODE = 0o755;

export interface LogLayout {
  readonly dir: string;
  /** Records per segment: segment k holds sequence numbers [k * segmentRecords, ...). */
  readonly segmentRecords: number;
  readonly meta: string;
  readonly lock: string;
  readonly state: string;
  readonly index: string;
  readonly records: string;
  readonly tiles: string;
  readonly checkpointLog: string;
  readonly checkpointIndex: string;
  /** Damage found after open (damage.ts); present only while some is recorded. */
  readonly damage: string;
}

export function logLayout(dir: string, segmentRecords: number): LogLayout {
  return {
    dir,
    segmentRecords,
    meta: path.join(dir, 'meta.json'),
    lock: path.join(dir, 'LOCK'),
    state: path.join(dir, 'state'),
    index: path.join(dir, 'leaves.idx'),
    records: path.join(dir, 'records'),
    tiles: path.join(dir, 'tiles'),
    checkpointLog: path.join(dir, 'checkpoints.log'),
    checkpointIndex: path.join(dir, 'checkpoints.idx'),
    damage: path.join(dir, 'DAMAGE'),
  };
}

export function segmentOf(layout: LogLayout, seq: number): number {
  return Math.floor(seq / layout.segmentRecords);
}

/** Segment files are named by their first sequence number. */
export function segmentPath(layout: LogLayout, segment: number): string {
  return path.join(
    layout.records,
    `${String(segment * layout.segmentRecords).padStart(16, '0')}.seg`,
  );
}

/** The file holding tree level `TILE_HEIGHT * tileLevel` (tile level >= 1; level 0 is the index). */
export function tileLevelPath(layout: LogLayout, tileLevel: number): string {
  return path.join(layout.tiles, `level-${tileLevel}.hashes`);
}

/** How many nodes of tile level q exist in a tree of `size` leaves. */
export function storedNodeCount(size: number, tileLevel: number): number {
  return Math.floor(size / TILE_WIDTH ** tileLevel);
}

/** The highest tile level that holds at least one node at `size` (0 when size < 256). */
export function topTileLevel(size: number): number {
  let q = 0;
  while (storedNodeCount(size, q + 1) > 0) q++;
  return q;
}
