// The Merkle hash functions of RFC 9162 §2.1 behind one small interface, so the same tree code
// runs with BLAKE3 (AgDR logs) and SHA-256 (the public RFC 6962 test vectors).
//
//   hashLeaf(d)        = H(0x00 || d)
//   hashChildren(l, r) = H(0x01 || l || r)
//   emptyRoot()        = H("")
import { createHash } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { createBLAKE3 } from 'hash-wasm';

export interface Hasher {
  readonly name: 'blake3' | 'sha256';
  /** Output length in bytes. */
  readonly size: 32;
  digest(data: Uint8Array): Uint8Array;
  hashLeaf(data: Uint8Array): Uint8Array;
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array;
  emptyRoot(): Uint8Array;
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

// One WASM instance, initialised once and reused: creating one per call is two orders of
// magnitude slower. Safe because hashing is synchronous: no call interleaves with another.
const wasm = await createBLAKE3(256);
// hashChildren input is always 65 bytes; one reused buffer means one copy into WASM memory.
const childrenInput = new Uint8Array(65);
childrenInput[0] = 0x01;

/** BLAKE3-256 on the hot path (hash-wasm). */
export const blake3: Hasher = {
  name: 'blake3',
  size: 32,
  digest(data) {
    return wasm.init().update(data).digest('binary');
  },
  hashLeaf(data) {
    // Two updates rather than a concatenated copy of the (possibly large) record.
    return wasm.init().update(LEAF_PREFIX).update(data).digest('binary');
  },
  hashChildren(left, right) {
    if (left.length === 32 && right.length === 32) {
      childrenInput.set(left, 1);
      childrenInput.set(right, 33);
      return wasm.init().update(childrenInput).digest('binary');
    }
    return wasm.init().update(NODE_PREFIX).update(left).update(right).digest('binary');
  },
  emptyRoot() {
    return wasm.init().digest('binary');
  },
};

/** BLAKE3-256 from @noble/hashes: an independent implementation tests check the hot path against. */
export const blake3Reference: Hasher = {
  name: 'blake3',
  size: 32,
  digest: (data) => nobleBlake3(data),
  hashLeaf: (data) => nobleBlake3.create().update(LEAF_PREFIX).update(data).digest(),
  hashChildren: (left, right) =>
    nobleBlake3.create().update(NODE_PREFIX).update(left).update(right).digest(),
  emptyRoot: () => nobleBlake3(new Uint8Array(0)),
};

function sha256Digest(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const out = h.digest();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** SHA-256 (node:crypto): the RFC 6962 hasher, used for the public test vectors. */
export const sha256: Hasher = {
  name: 'sha256',
  size: 32,
  digest: (data) => sha256Digest(data),
  hashLeaf: (data) => sha256Digest(LEAF_PREFIX, data),
  hashChildren: (left, right) => sha256Digest(NODE_PREFIX, left, right),
  emptyRoot: () => sha256Digest(),
};

/** The hasher for a name found in stored or received data. */
export function hasherByName(name: string): Hasher {
  if (name === 'blake3') return blake3;
  if (name === 'sha256') return sha256;
  throw new RangeError(`unknown hash function '${name}'`);
}
