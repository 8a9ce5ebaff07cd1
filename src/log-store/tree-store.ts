// The stored Merkle tree: the leaf index (tree level 0, one entry per record: leaf hash + end
// offset of the record in its segment) and one file per tile level q >= 1 holding every
// completed node of tree level 8q, 32 bytes each, in index order. Any perfect-subtree node is
// read directly (level a multiple of 8) or folded from at most 128 stored nodes of the tile
// level below it, so proofs at any past size need no tree in memory.
//
// A store opened read-only (a check of a log directory) writes nothing: the tile nodes past the
// durable marker that recovery would rewrite are kept in a small in-memory overlay instead, and
// every node read sees the overlay first, so roots and proofs use the recomputed values.
import fs from 'node:fs';
import type { Hasher } from '../core/hash.ts';
import { rangeNodes, type NodeId } from '../core/merkle/node-id.ts';
import { AppendFile, syncDirectory } from './append-file.ts';
import { HASH_SIZE, INDEX_ENTRY, TILE_HEIGHT, tileLevelPath, type LogLayout } from './layout.ts';
import { LogStoreError } from './errors.ts';

export interface IndexEntry {
  readonly leafHash: Uint8Array;
  /** Offset just past the record in its segment file. */
  readonly end: number;
}

/** Encodes leaf-index entries into `out` at entry position `at`. */
export function writeIndexEntry(
  out: Uint8Array,
  at: number,
  leafHash: Uint8Array,
  end: number,
): void {
  const base = at * INDEX_ENTRY;
  out.set(leafHash, base);
  const view = new DataView(out.buffer, out.byteOffset + base + HASH_SIZE, 8);
  view.setUint32(0, end % 2 ** 32, true);
  view.setUint32(4, Math.floor(end / 2 ** 32), true);
}

export function readIndexEntry(buf: Uint8Array, at: number): IndexEntry {
  const base = at * INDEX_ENTRY;
  const view = new DataView(buf.buffer, buf.byteOffset + base + HASH_SIZE, 8);
  return {
    leafHash: buf.slice(base, base + HASH_SIZE),
    end: view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32,
  };
}

export class TreeStore {
  readonly hasher: Hasher;
  readonly index: AppendFile;
  readonly #layout: LogLayout;
  /** levels[q - 1] holds tile level q. */
  readonly #levels: AppendFile[];
  #created = false;
  readonly readOnly: boolean;
  /**
   * Read-only stores only: recomputed tile nodes that differ from (or are missing in) the tile
   * files, by tile level, then node index. Only nodes past the durable marker land here (below
   * it a mismatch is corruption), and the marker trails the appends by at most its interval (1 s
   * by default), so this holds a few thousand nodes at most for a log that was marked at all.
   */
  readonly #recomputed = new Map<number, Map<number, Uint8Array>>();

  private constructor(
    hasher: Hasher,
    layout: LogLayout,
    index: AppendFile,
    levels: AppendFile[],
    readOnly: boolean,
  ) {
    this.hasher = hasher;
    this.#layout = layout;
    this.index = index;
    this.#levels = levels;
    this.readOnly = readOnly;
  }

  /** Opens the stored tree; read-only, the leaf index must exist and no file is ever created. */
  static open(hasher: Hasher, layout: LogLayout, readOnly = false): TreeStore {
    const index = AppendFile.open(layout.index, readOnly ? 'read' : 'create');
    const levels: AppendFile[] = [];
    for (let q = 1; fs.existsSync(tileLevelPath(layout, q)); q++) {
      levels.push(AppendFile.open(tileLevelPath(layout, q), readOnly ? 'read' : 'write'));
    }
    return new TreeStore(hasher, layout, index, levels, readOnly);
  }

  /** Entries in the leaf index (whole entries only). */
  get indexCount(): number {
    return Math.floor(this.index.length / INDEX_ENTRY);
  }

  /** Tile levels that have a file (1-based: tile level q is levels()[q - 1]). */
  get tileLevels(): number {
    return this.#levels.length;
  }

  /** The file of tile level q, created when first needed. */
  tileFile(q: number): AppendFile {
    if (this.readOnly) throw new LogStoreError('read_only', 'tree store is open read-only');
    while (this.#levels.length < q) {
      this.#created = true;
      this.#levels.push(
        AppendFile.open(tileLevelPath(this.#layout, this.#levels.length + 1), 'create'),
      );
    }
    return this.#levels[q - 1] as AppendFile;
  }

  /** Syncs every tile-level file (they are synced at durable marks, not per batch). */
  async syncTiles(): Promise<void> {
    await Promise.all(this.#levels.map((f) => f.datasync()));
    if (this.#created) {
      this.#created = false;
      syncDirectory(this.#layout.tiles);
    }
  }

  /** Stored nodes in tile level q (q = 0: leaf-index entries). */
  storedCount(q: number): number {
    if (q === 0) return this.indexCount;
    const file = this.#levels[q - 1];
    return file === undefined ? 0 : Math.floor(file.length / HASH_SIZE);
  }

  /** Node `node` of tile level q >= 1 as stored in its file (no overlay); undefined if missing. */
  storedNode(q: number, node: number): Uint8Array | undefined {
    if (node >= this.storedCount(q)) return undefined;
    return (this.#levels[q - 1] as AppendFile).read(node * HASH_SIZE, HASH_SIZE);
  }

  /** Read-only stores: serve `hash` for node `node` of tile level q instead of the stored one. */
  keepRecomputed(q: number, node: number, hash: Uint8Array): void {
    if (!this.readOnly) throw new LogStoreError('bad_argument', 'overlay on a writable store');
    let level = this.#recomputed.get(q);
    if (level === undefined) this.#recomputed.set(q, (level = new Map()));
    level.set(node, hash);
  }

  readIndex(from: number, count: number): Buffer {
    return this.index.read(from * INDEX_ENTRY, count * INDEX_ENTRY);
  }

  indexEntry(seq: number): IndexEntry {
    return readIndexEntry(this.readIndex(seq, 1), 0);
  }

  /** `count` consecutive nodes of tile level q starting at `from`. */
  readTileNodes(q: number, from: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = new Array<Uint8Array>(count);
    if (q === 0) {
      const buf = this.readIndex(from, count);
      for (let i = 0; i < count; i++)
        out[i] = buf.subarray(i * INDEX_ENTRY, i * INDEX_ENTRY + HASH_SIZE);
      return out;
    }
    const recomputed = this.#recomputed.get(q);
    if (recomputed !== undefined) return this.#readOverlaid(q, from, count, recomputed, out);
    const file = this.#levels[q - 1];
    if (file === undefined)
      throw new LogStoreError('out_of_range', `no stored nodes at tile level ${q}`);
    const buf = file.read(from * HASH_SIZE, count * HASH_SIZE);
    for (let i = 0; i < count; i++) out[i] = buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    return out;
  }

  /** readTileNodes for a level with recomputed nodes: those win, the rest come from the file. */
  #readOverlaid(
    q: number,
    from: number,
    count: number,
    recomputed: ReadonlyMap<number, Uint8Array>,
    out: Uint8Array[],
  ): Uint8Array[] {
    const file = this.#levels[q - 1];
    const stored = Math.max(0, Math.min(count, this.storedCount(q) - from));
    const buf = stored > 0 ? (file as AppendFile).read(from * HASH_SIZE, stored * HASH_SIZE) : null;
    for (let i = 0; i < count; i++) {
      const node = recomputed.get(from + i);
      if (node !== undefined) out[i] = node;
      else if (buf !== null && i < stored)
        out[i] = buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
      else throw new LogStoreError('out_of_range', `tile level ${q} has no node ${from + i}`);
    }
    return out;
  }

  /** The hash of perfect subtree node (level, index); the caller checks it is complete. */
  node(level: number, index: number): Uint8Array {
    const q = Math.floor(level / TILE_HEIGHT);
    const r = level - q * TILE_HEIGHT;
    const width = 2 ** r;
    const row = this.readTileNodes(q, index * width, width);
    return r === 0 ? (row[0] as Uint8Array).slice() : foldRow(this.hasher, row, r);
  }

  nodes(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((n) => this.node(n.level, n.index));
  }

  /** RFC 9162 root of the first `size` leaves, from stored nodes. */
  rootAt(size: number): Uint8Array {
    const hashes = this.nodes(rangeNodes(0, size));
    let acc = hashes[hashes.length - 1];
    if (acc === undefined) return this.hasher.emptyRoot();
    for (let i = hashes.length - 2; i >= 0; i--)
      acc = this.hasher.hashChildren(hashes[i] as Uint8Array, acc);
    return acc;
  }

  async close(): Promise<void> {
    await this.index.close();
    for (const f of this.#levels) await f.close();
  }
}

/** Folds 2^levels sibling hashes pairwise into their common ancestor. */
export function foldRow(hasher: Hasher, row: readonly Uint8Array[], levels: number): Uint8Array {
  let cur = row;
  for (let l = 0; l < levels; l++) {
    const next: Uint8Array[] = new Array<Uint8Array>(cur.length / 2);
    for (let i = 0; i < next.length; i++) {
      next[i] = hasher.hashChildren(cur[2 * i] as Uint8Array, cur[2 * i + 1] as Uint8Array);
    }
    cur = next;
  }
  return cur[0] as Uint8Array;
}
