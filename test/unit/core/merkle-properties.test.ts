// Property tests: every generated proof verifies, and every malformed variant is rejected.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../../../src/core/hash.ts';
import { CompactRange } from '../../../src/core/merkle/compact.ts';
import { consistencyProof, inclusionProof } from '../../../src/core/merkle/tree.ts';
import {
  MerkleProofError,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/core/merkle/proof.ts';

const MAX = 600;
const leaves = Array.from({ length: MAX }, (_, i) =>
  blake3.hashLeaf(Uint8Array.of(i >> 8, i & 255)),
);
const roots: Uint8Array[] = [blake3.emptyRoot()];
{
  const range = new CompactRange(blake3);
  for (const l of leaves) {
    range.append(l);
    roots.push(range.root());
  }
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const at = (bit >> 3) % out.length;
  out[at] = (out[at] as number) ^ (1 << (bit & 7));
  return out;
}

function code(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof MerkleProofError) return e.code;
    throw e;
  }
  return 'ok';
}

const leafInTree = fc
  .integer({ min: 1, max: MAX })
  .chain((size) =>
    fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }),
  );

const sizePair = fc
  .integer({ min: 2, max: MAX })
  .chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 1, max: n - 1 }) }));

describe('inclusion proofs', () => {
  it('verify, and reject any single bit flip in leaf, proof or root', () => {
    fc.assert(
      fc.property(leafInTree, fc.nat(), ({ size, index }, bit) => {
        const proof = inclusionProof(blake3, leaves, index, size);
        const leaf = leaves[index] as Uint8Array;
        const root = roots[size] as Uint8Array;
        expect(code(() => verifyInclusion(blake3, index, size, leaf, proof, root))).toBe('ok');
        expect(rootFromInclusionProof(blake3, index, size, leaf, proof)).toEqual(root);
        expect(code(() => verifyInclusion(blake3, index, size, flip(leaf, bit), proof, root))).toBe(
          'root_mismatch',
        );
        expect(code(() => verifyInclusion(blake3, index, size, leaf, proof, flip(root, bit)))).toBe(
          'root_mismatch',
        );
        if (proof.length > 0) {
          const at = bit % proof.length;
          const bad = proof.map((p, i) => (i === at ? flip(p, bit >> 5) : p));
          expect(code(() => verifyInclusion(blake3, index, size, leaf, bad, root))).toBe(
            'root_mismatch',
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reject extra, missing or truncated hashes, wrong index and wrong size', () => {
    fc.assert(
      fc.property(leafInTree, fc.nat(), ({ size, index }, r) => {
        const proof = inclusionProof(blake3, leaves, index, size);
        const leaf = leaves[index] as Uint8Array;
        const root = roots[size] as Uint8Array;
        const v = (i: number, s: number, p: Uint8Array[], l = leaf, rt = root): string =>
          code(() => verifyInclusion(blake3, i, s, l, p, rt));
        expect(v(index, size, [...proof, root])).not.toBe('ok');
        expect(v(index, size, [root, ...proof])).not.toBe('ok');
        if (proof.length > 0) {
          expect(v(index, size, proof.slice(1))).not.toBe('ok');
          expect(v(index, size, proof.slice(0, -1))).not.toBe('ok');
          const short = proof.map((p, i) => (i === r % proof.length ? p.subarray(1) : p));
          expect(v(index, size, short)).toBe('bad_hash_length');
        }
        expect(v(size, size, proof)).toBe('index_out_of_range');
        expect(v(index + size, size, proof)).toBe('index_out_of_range');
        expect(v(index, size, proof, leaf.subarray(0, 31))).toBe('bad_hash_length');
        expect(v(index, size, proof, leaf, root.subarray(1))).toBe('bad_hash_length');
        expect(v(-1, size, proof)).not.toBe('ok');
        expect(v(index, size + 0.5, proof)).toBe('invalid_size');
        // The sibling position puts the leaf on the other side: a different root. (A path is
        // only a sequence of left/right steps, so positions with the same steps in other tree
        // sizes do verify; RFC 9162 binds the position through the caller's index and size.)
        const sibling = index % 2 === 0 ? index + 1 : index - 1;
        if (sibling < size) expect(v(sibling, size, proof)).toBe('root_mismatch');
      }),
      { numRuns: 300 },
    );
  });
});

describe('consistency proofs', () => {
  it('verify, and reject any single bit flip in proof or roots', () => {
    fc.assert(
      fc.property(sizePair, fc.nat(), ({ m, n }, bit) => {
        const proof = consistencyProof(blake3, leaves, m, n);
        const r1 = roots[m] as Uint8Array;
        const r2 = roots[n] as Uint8Array;
        expect(code(() => verifyConsistency(blake3, m, n, proof, r1, r2))).toBe('ok');
        expect(code(() => verifyConsistency(blake3, m, n, proof, flip(r1, bit), r2))).toBe(
          'root_mismatch',
        );
        expect(code(() => verifyConsistency(blake3, m, n, proof, r1, flip(r2, bit)))).toBe(
          'root_mismatch',
        );
        const at = bit % proof.length;
        const bad = proof.map((p, i) => (i === at ? flip(p, bit >> 5) : p));
        expect(code(() => verifyConsistency(blake3, m, n, bad, r1, r2))).toBe('root_mismatch');
      }),
      { numRuns: 300 },
    );
  });

  it('reject extra or missing hashes, swapped or wrong sizes', () => {
    fc.assert(
      fc.property(sizePair, fc.nat(), ({ m, n }, r) => {
        const proof = consistencyProof(blake3, leaves, m, n);
        const r1 = roots[m] as Uint8Array;
        const r2 = roots[n] as Uint8Array;
        const v = (a: number, b: number, p: Uint8Array[], x = r1, y = r2): string =>
          code(() => verifyConsistency(blake3, a, b, p, x, y));
        expect(v(m, n, [...proof, r2])).not.toBe('ok');
        expect(v(m, n, [r1, ...proof])).not.toBe('ok');
        expect(v(m, n, proof.slice(1))).not.toBe('ok');
        expect(v(m, n, proof.slice(0, -1))).not.toBe('ok');
        expect(v(m, n, [])).not.toBe('ok');
        expect(v(n, m, proof, r2, r1)).toBe('invalid_size');
        expect(v(0, n, proof)).toBe('invalid_size');
        expect(v(m, n, proof, r2, r1)).not.toBe('ok');
        const short = proof.map((p, i) => (i === r % proof.length ? p.subarray(1) : p));
        expect(v(m, n, short)).toBe('bad_hash_length');
        const m2 = 1 + (r % (n - 1));
        if (m2 !== m) expect(v(m2, n, proof)).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('equal sizes need an empty proof and equal roots', () => {
    const r = roots[5] as Uint8Array;
    expect(code(() => verifyConsistency(blake3, 5, 5, [], r, r))).toBe('ok');
    expect(code(() => verifyConsistency(blake3, 5, 5, [r], r, r))).toBe('wrong_proof_length');
    expect(code(() => verifyConsistency(blake3, 5, 5, [], r, roots[6] as Uint8Array))).toBe(
      'root_mismatch',
    );
  });
});
