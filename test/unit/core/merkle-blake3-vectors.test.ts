// Our BLAKE3 Merkle vectors (test/vectors/blake3, made by test/vectors/generate-blake3.ts with
// @noble/hashes and the RFC 9162 definitions written out independently): the hot-path hasher
// and the verifier accept every happy path and reject every corrupted case, and proof
// generation (reference tree and stored nodes) reproduces every happy-path proof.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../../../src/core/hash.ts';
import { fromHex, toBase64, toHex, utf8 } from '../../../src/core/bytes.ts';
import { CompactRange } from '../../../src/core/merkle/compact.ts';
import { consistencyProof, inclusionProof } from '../../../src/core/merkle/tree.ts';
import { consistencyPlan, inclusionPlan, proofFromNodes } from '../../../src/core/merkle/nodes.ts';
import {
  checkConsistencyCase,
  checkInclusionCase,
  readCase,
  vectorFiles,
  type ConsistencyCase,
  type InclusionCase,
} from './proof-vectors.ts';

const dir = path.resolve(import.meta.dirname, '../../vectors/blake3');
const inclusion = vectorFiles(dir, 'inclusion');
const consistency = vectorFiles(dir, 'consistency');

const tree = readCase<{ entries: string[]; leafHashes: string[]; roots: string[] }>(
  path.join(dir, 'tree.json'),
);
const small = tree.entries.map((e) => blake3.hashLeaf(fromHex(e)));
const big = Array.from({ length: 1000 }, (_, i) => blake3.hashLeaf(utf8.encode(`agdr leaf ${i}`)));

/** The leaves a vector was generated from: the 8-entry tree or the 1000-entry one. */
function leavesFor(root: string, size: number): Uint8Array[] {
  return size <= small.length && tree.roots[size] === toHex(Buffer.from(root, 'base64'))
    ? small
    : big;
}

function storedProof(leaves: Uint8Array[], plan: ReturnType<typeof inclusionPlan>): string[] {
  const levels: Uint8Array[][] = [leaves];
  while ((levels[levels.length - 1] as Uint8Array[]).length > 1) {
    const below = levels[levels.length - 1] as Uint8Array[];
    const up: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) {
      up.push(blake3.hashChildren(below[i] as Uint8Array, below[i + 1] as Uint8Array));
    }
    levels.push(up);
  }
  const hashes = plan.nodes.map((n) => levels[n.level]?.[n.index] as Uint8Array);
  return proofFromNodes(blake3, plan, hashes).map(toBase64);
}

describe('BLAKE3 tree fixture', () => {
  it('leaf hashes and the root at every size', () => {
    expect(small.map(toHex)).toEqual(tree.leafHashes);
    const range = new CompactRange(blake3);
    const roots = [toHex(range.root())];
    for (const l of small) {
      range.append(l);
      roots.push(toHex(range.root()));
    }
    expect(roots).toEqual(tree.roots);
  });
});

describe('BLAKE3 vectors', () => {
  it('are there, with rejection cases', () => {
    expect(inclusion.length).toBeGreaterThan(100);
    expect(consistency.length).toBeGreaterThan(100);
  });

  it.each(inclusion)('inclusion %s', (_, file) => {
    const c = readCase<InclusionCase>(file);
    checkInclusionCase(blake3, c);
    if (!c.wantErr) {
      const leaves = leavesFor(c.root, c.treeSize);
      const want = c.proof ?? [];
      expect(inclusionProof(blake3, leaves, c.leafIdx, c.treeSize).map(toBase64)).toEqual(want);
      expect(storedProof(leaves, inclusionPlan(c.leafIdx, c.treeSize))).toEqual(want);
    }
  });

  it.each(consistency)('consistency %s', (_, file) => {
    const c = readCase<ConsistencyCase>(file);
    checkConsistencyCase(blake3, c);
    if (!c.wantErr) {
      const leaves = leavesFor(c.root2, c.size2);
      const want = c.proof ?? [];
      expect(consistencyProof(blake3, leaves, c.size1, c.size2).map(toBase64)).toEqual(want);
      expect(storedProof(leaves, consistencyPlan(c.size1, c.size2))).toEqual(want);
    }
  });
});
