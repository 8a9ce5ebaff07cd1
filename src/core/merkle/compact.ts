// The compact range over leaves [0, size): the roots of the perfect subtrees that make up the
// binary decomposition of `size`, largest (leftmost) first. An appender keeps only these
// O(log n) hashes; each append hashes one node on average, and the RFC 9162 root at the
// current size folds them right to left.
import { CodedError } from '../errors.ts';
import type { Hasher } from '../hash.ts';
import { isSafeSize, rangeNodes, type NodeId } from './node-id.ts';

export type { NodeId };

/** Called for every perfect-subtree node an append completes, leaves (level 0) included. */
export type NodeSink = (level: number, index: number, hash: Uint8Array) => void;

export type CompactRangeErrorCode = 'invalid_size' | 'frontier_mismatch';

export class CompactRangeError extends CodedError<CompactRangeErrorCode> {
  override name = 'CompactRangeError';
}

/** The perfect-subtree nodes whose hashes form the compact range at `size`, left to right. */
export function frontierNodeIds(size: number): NodeId[] {
  if (!isSafeSize(size)) throw new CompactRangeError('invalid_size', `invalid tree size ${size}`);
  return rangeNodes(0, size);
}

export class CompactRange {
  readonly hasher: Hasher;
  #size: number;
  // Hashes of frontierNodeIds(#size), left to right.
  readonly #frontier: Uint8Array[];

  constructor(hasher: Hasher) {
    this.hasher = hasher;
    this.#size = 0;
    this.#frontier = [];
  }

  /**
   * Rebuilds the range at `size` from the hashes of `frontierNodeIds(size)` in that order
   * (read back from stored nodes).
   */
  static restore(hasher: Hasher, size: number, frontier: readonly Uint8Array[]): CompactRange {
    const ids = frontierNodeIds(size);
    if (frontier.length !== ids.length) {
      throw new CompactRangeError(
        'frontier_mismatch',
        `size ${size} needs ${ids.length} frontier hashes, got ${frontier.length}`,
      );
    }
    for (const h of frontier) {
      if (h.length !== hasher.size) {
        throw new CompactRangeError('frontier_mismatch', `frontier hash of ${h.length} bytes`);
      }
    }
    const range = new CompactRange(hasher);
    range.#size = size;
    for (const h of frontier) range.#frontier.push(h.slice());
    return range;
  }

  get size(): number {
    return this.#size;
  }

  /** Copies of the frontier hashes, in the order of `frontierNodeIds(size)`. */
  frontier(): Uint8Array[] {
    return this.#frontier.map((h) => h.slice());
  }

  /**
   * Appends one leaf hash (already H(0x00 || data)). `onNode` runs synchronously for the leaf
   * and each node the append completes, bottom up; the range changes only after all of them
   * returned, so a throwing sink leaves it as it was.
   */
  append(leafHash: Uint8Array, onNode?: NodeSink): void {
    if (leafHash.length !== this.hasher.size) {
      throw new CompactRangeError('frontier_mismatch', `leaf hash of ${leafHash.length} bytes`);
    }
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new CompactRangeError('invalid_size', 'tree size limit reached');
    }
    const f = this.#frontier;
    let hash = leafHash;
    let index = this.#size;
    let level = 0;
    let top = f.length;
    onNode?.(0, index, hash);
    // Each trailing one bit of the old size is a left sibling waiting for this right subtree.
    while (index % 2 === 1) {
      top--;
      hash = this.hasher.hashChildren(f[top] as Uint8Array, hash);
      index = (index - 1) / 2;
      level++;
      onNode?.(level, index, hash);
    }
    f.length = top;
    f.push(hash);
    this.#size++;
  }

  /** The RFC 9162 Merkle tree hash of leaves [0, size). */
  root(): Uint8Array {
    const f = this.#frontier;
    const last = f[f.length - 1];
    if (last === undefined) return this.hasher.emptyRoot();
    let acc = last;
    for (let i = f.length - 2; i >= 0; i--) acc = this.hasher.hashChildren(f[i] as Uint8Array, acc);
    return acc;
  }
}
