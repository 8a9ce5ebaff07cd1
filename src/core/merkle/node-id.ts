// Addresses of perfect subtrees in an RFC 9162 tree, and the size arithmetic shared by the
// compact range, proof planning and proof verification.
//
// Node (level, index) is the root of the perfect subtree over leaves
// [index * 2^level, (index + 1) * 2^level). Level 0 nodes are leaf hashes. Sizes are plain
// numbers (safe integers, up to 2^53 - 1), so this code uses arithmetic, never 32-bit bitwise
// operators.

export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** 2^level as an exact number. */
export function pow2(level: number): number {
  return 2 ** level;
}

/** Number of set bits of a safe non-negative integer. */
export function popcount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) count += x % 2;
  return count;
}

/** Number of trailing zero bits of a positive safe integer. */
export function trailingZeros(n: number): number {
  let tz = 0;
  for (let x = n; x % 2 === 0; x /= 2) tz++;
  return tz;
}

/**
 * The perfect subtrees that exactly cover leaves [begin, end), left to right. Each is the
 * largest aligned subtree that starts at the current position and fits in the range.
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let pos = begin;
  while (pos < end) {
    let level = 0;
    while (pos % pow2(level + 1) === 0 && pos + pow2(level + 1) <= end) level++;
    out.push({ level, index: pos / pow2(level) });
    pos += pow2(level);
  }
  return out;
}

export function isSafeSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
