// The in-memory RFC 9162 §2.1 reference: Merkle tree hash, inclusion proof and consistency
// proof, written as the RFC's recursive definitions over a list of leaf hashes. Linear in the
// number of leaves per call: tests, tools and small trees (the Root Merkle Tree) use it; the
// logs use the compact range and stored nodes instead.
import type { Hasher } from '../hash.ts';
import { MerkleProofError } from './proof.ts';
import { isSafeSize } from './node-id.ts';

/** Largest power of two strictly below n (n >= 2): where RFC 9162 splits a tree. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes (each already H(0x00 || entry)). */
export function merkleRoot(hasher: Hasher, leafHashes: readonly Uint8Array[]): Uint8Array {
  return mth(hasher, leafHashes, 0, leafHashes.length);
}

function mth(
  hasher: Hasher,
  leaves: readonly Uint8Array[],
  begin: number,
  end: number,
): Uint8Array {
  const n = end - begin;
  if (n === 0) return hasher.emptyRoot();
  if (n === 1) return leaves[begin] as Uint8Array;
  const k = splitPoint(n);
  return hasher.hashChildren(
    mth(hasher, leaves, begin, begin + k),
    mth(hasher, leaves, begin + k, end),
  );
}

function checkTreeSize(leafHashes: readonly Uint8Array[], size: number): void {
  if (!isSafeSize(size) || size > leafHashes.length) {
    throw new MerkleProofError(
      'invalid_size',
      `tree size ${size} is not within the ${leafHashes.length} leaves`,
    );
  }
}

/** PATH(index, D[size]): the audit path of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(
  hasher: Hasher,
  leafHashes: readonly Uint8Array[],
  index: number,
  size: number,
): Uint8Array[] {
  checkTreeSize(leafHashes, size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new MerkleProofError('index_out_of_range', `leaf index ${index} >= tree size ${size}`);
  }
  const out: Uint8Array[] = [];
  path(hasher, leafHashes, index, 0, size, out);
  return out;
}

// Appends PATH(m, D[begin:end]) to out, bottom (leaf sibling) first.
function path(
  hasher: Hasher,
  leaves: readonly Uint8Array[],
  m: number,
  begin: number,
  end: number,
  out: Uint8Array[],
): void {
  const n = end - begin;
  if (n <= 1) return;
  const k = splitPoint(n);
  if (m < k) {
    path(hasher, leaves, m, begin, begin + k, out);
    out.push(mth(hasher, leaves, begin + k, end));
  } else {
    path(hasher, leaves, m - k, begin + k, end, out);
    out.push(mth(hasher, leaves, begin, begin + k));
  }
}

/**
 * PROOF(m, D[n]): the consistency proof between the trees of the first m and n leaves,
 * 0 < m <= n (empty when m = n).
 */
export function consistencyProof(
  hasher: Hasher,
  leafHashes: readonly Uint8Array[],
  m: number,
  n: number,
): Uint8Array[] {
  checkTreeSize(leafHashes, n);
  if (!Number.isSafeInteger(m) || m <= 0 || m > n) {
    throw new MerkleProofError(
      'invalid_size',
      `consistency needs 0 < size1 <= size2, got ${m}, ${n}`,
    );
  }
  const out: Uint8Array[] = [];
  subproof(hasher, leafHashes, m, 0, n, true, out);
  return out;
}

// Appends SUBPROOF(m, D[begin:end], b) to out.
function subproof(
  hasher: Hasher,
  leaves: readonly Uint8Array[],
  m: number,
  begin: number,
  end: number,
  b: boolean,
  out: Uint8Array[],
): void {
  const n = end - begin;
  if (m === n) {
    if (!b) out.push(mth(hasher, leaves, begin, end));
    return;
  }
  const k = splitPoint(n);
  if (m <= k) {
    subproof(hasher, leaves, m, begin, begin + k, b, out);
    out.push(mth(hasher, leaves, begin + k, end));
  } else {
    subproof(hasher, leaves, m - k, begin + k, end, false, out);
    out.push(mth(hasher, leaves, begin, begin + k));
  }
}
