// The stored Merkle tree: the leaf index (tree level 0, one entry per record: leaf hash + end
// offset of the record in its segment) and one file per tile level q >= 1 holding every
// completed node of tree level 8q, 32 bytes each, in index order. Any perfect-subtree node is
// read directly (level a multiple of 8) or folded from at most 128 stored nodes of the tile
// level below it, so proofs at any past size need no tree in memory.
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

  private constructor(hasher: Hasher, layout: LogLayout, index: AppendFile, levels: AppendFile[]) {
    this.hasher = hasher;
    this.#layout = layout;
    this.index = index;
    this.#levels = levels;
  }

  static open(hasher: Hasher, layout: LogLayout): TreeStore {
    const index = AppendFile.open(layout.index, true);
    const levels: AppendFile[] = [];
    for (let q = 1; fs.existsSync(tileLevelPath(layout, q)); q++) {
      levels.push(AppendFile.open(tileLevelPath(layout, q), false));
    }
    return new TreeStore(hasher, layout, index, levels);
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
    while (this.#levels.length < q) {
      this.#created = true;
      this.#levels.push(
        AppendFile.open(tileLevelPath(this.#layout, this.#levels.length + 1), true),
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
    const file = this.#levels[q - 1];
    if (file === undefined)
      throw new LogStoreError('out_of_range', `no stored nodes at tile level ${q}`);
    const buf = file.read(from * HASH_SIZE, count * HASH_SIZE);
    for (let i = 0; i < count; i++) out[i] = buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
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
