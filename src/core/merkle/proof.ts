// Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs, following
// the RFC's algorithms step by step. Every failure throws MerkleProofError with a code.
import { CodedError } from '../errors.ts';
import { bytesEqual } from '../bytes.ts';
import type { Hasher } from '../hash.ts';
import { isSafeSize } from './node-id.ts';

export type MerkleProofErrorCode =
  | 'invalid_size' // a size is not a safe non-negative integer, or size1 is 0 or > size2
  | 'index_out_of_range' // leaf index >= tree size
  | 'bad_hash_length' // a leaf hash, root or proof element is not hasher.size bytes
  | 'wrong_proof_length' // too many or too few proof hashes for the sizes
  | 'root_mismatch'; // the proof does not lead to the given root(s)

export class MerkleProofError extends CodedError<MerkleProofErrorCode> {
  override name = 'MerkleProofError';
}

function checkSize(name: string, n: number): void {
  if (!isSafeSize(n))
    throw new MerkleProofError('invalid_size', `${name} ${n} is not a valid size`);
}

function checkHash(hasher: Hasher, name: string, h: Uint8Array): void {
  if (h.length !== hasher.size) {
    throw new MerkleProofError(
      'bad_hash_length',
      `${name} is ${h.length} bytes, want ${hasher.size}`,
    );
  }
}

function checkProofHashes(hasher: Hasher, proof: readonly Uint8Array[]): void {
  proof.forEach((p, i) => checkHash(hasher, `proof[${i}]`, p));
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4), checking the proof's
 * shape. Callers compare it with a trusted root; `verifyInclusion` does both.
 */
export function rootFromInclusionProof(
  hasher: Hasher,
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkSize('tree size', size);
  checkSize('leaf index', index);
  if (index >= size) {
    throw new MerkleProofError('index_out_of_range', `leaf index ${index} >= tree size ${size}`);
  }
  checkHash(hasher, 'leaf hash', leafHash);
  checkProofHashes(hasher, proof);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new MerkleProofError('wrong_proof_length', 'proof has extra hashes');
    if (isOdd(fn) || fn === sn) {
      r = hasher.hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hasher.hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleProofError('wrong_proof_length', 'proof is missing hashes');
  return r;
}

/** Checks that `leafHash` is leaf `index` of the tree of `size` leaves with root `root`. */
export function verifyInclusion(
  hasher: Hasher,
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash(hasher, 'root', root);
  const computed = rootFromInclusionProof(hasher, index, size, leafHash, proof);
  if (!bytesEqual(computed, root)) {
    throw new MerkleProofError('root_mismatch', 'inclusion proof does not lead to the root');
  }
}

/**
 * Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
 * with root `root1`. Equal sizes need an empty proof and equal roots. A consistency proof from
 * the empty tree proves nothing, so size1 = 0 is rejected.
 */
export function verifyConsistency(
  hasher: Hasher,
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkSize('size1', size1);
  checkSize('size2', size2);
  if (size1 === 0) throw new MerkleProofError('invalid_size', 'consistency from the empty tree');
  if (size1 > size2) throw new MerkleProofError('invalid_size', `size1 ${size1} > size2 ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0) {
      throw new MerkleProofError('wrong_proof_length', 'equal sizes need an empty proof');
    }
    if (!bytesEqual(root1, root2)) {
      throw new MerkleProofError('root_mismatch', 'equal sizes but different roots');
    }
    return;
  }
  checkHash(hasher, 'root1', root1);
  checkHash(hasher, 'root2', root2);
  checkProofHashes(hasher, proof);
  // Step 1: an empty path fails.
  if (proof.length === 0) throw new MerkleProofError('wrong_proof_length', 'empty proof');
  // Step 2: when size1 is a power of two, root1 is itself the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Steps 3-4.
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) throw new MerkleProofError('wrong_proof_length', 'proof has extra hashes');
    if (isOdd(fn) || fn === sn) {
      fr = hasher.hashChildren(c, fr);
      sr = hasher.hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hasher.hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw new MerkleProofError('wrong_proof_length', 'proof is missing hashes');
  if (!bytesEqual(fr, root1)) {
    throw new MerkleProofError('root_mismatch', 'consistency proof does not lead to root1');
  }
  if (!bytesEqual(sr, root2)) {
    throw new MerkleProofError('root_mismatch', 'consistency proof does not lead to root2');
  }
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}
