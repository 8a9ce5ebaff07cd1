// The in-memory reference tree, the compact range and the stored-node proofs agree with each
// other, and with the RFC 6962 test data (SHA-256).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blake3, sha256, type Hasher } from '../../../src/core/hash.ts';
import { fromBase64, fromHex, toHex } from '../../../src/core/bytes.ts';
import { consistencyProof, inclusionProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { CompactRange, frontierNodeIds } from '../../../src/core/merkle/compact.ts';
import {
  consistencyPlan,
  inclusionPlan,
  proofFromNodes,
  type ProofPlan,
} from '../../../src/core/merkle/nodes.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/core/merkle/proof.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const vectorsDir = path.resolve(repoRoot, '../shared/vectors/rfc6962');

// The RFC 6962 test entries used by the transparency-dev vectors (also our BLAKE3 example tree).
const rfcEntries = (
  JSON.parse(readFileSync(path.join(repoRoot, 'test/vectors/blake3/tree.json'), 'utf8')) as {
    entries: string[];
  }
).entries;
const rfcLeaves = rfcEntries.map((h) => sha256.hashLeaf(fromHex(h)));

// Published roots of the first n leaves of that tree, n = 1..8.
const rfcRoots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** All perfect-subtree node hashes of a leaf list: levels[l][i]. */
function nodeTable(hasher: Hasher, leaves: readonly Uint8Array[]): Uint8Array[][] {
  const levels: Uint8Array[][] = [leaves.slice()];
  for (;;) {
    const below = levels[levels.length - 1] as Uint8Array[];
    if (below.length < 2) return levels;
    const up: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) {
      up.push(hasher.hashChildren(below[i] as Uint8Array, below[i + 1] as Uint8Array));
    }
    levels.push(up);
  }
}

function fromStore(hasher: Hasher, table: Uint8Array[][], plan: ProofPlan): Uint8Array[] {
  const hashes = plan.nodes.map(({ level, index }) => {
    const h = table[level]?.[index];
    if (h === undefined) throw new Error(`node ${level}/${index} not stored`);
    return h;
  });
  return proofFromNodes(hasher, plan, hashes);
}

const hexes = (hs: readonly Uint8Array[]): string[] => hs.map(toHex);

function leavesOf(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    blake3.hashLeaf(new TextEncoder().encode(`leaf ${i}`)),
  );
}

describe('reference tree with SHA-256 on the RFC 6962 test data', () => {
  it('computes the published roots', () => {
    expect(rfcEntries).toHaveLength(8);
    for (let n = 1; n <= 8; n++)
      expect(toHex(merkleRoot(sha256, rfcLeaves.slice(0, n)))).toBe(rfcRoots[n - 1]);
    expect(merkleRoot(sha256, [])).toEqual(sha256.emptyRoot());
  });

  it('generates exactly the happy-path proofs of the vectors (tree and stored nodes)', () => {
    const table = nodeTable(sha256, rfcLeaves);
    const happy = (kind: string): Record<string, unknown>[] =>
      readdirSync(path.join(vectorsDir, kind))
        .map((d) => path.join(vectorsDir, kind, d, 'happy-path.json'))
        .filter((f) => {
          try {
            readFileSync(f);
            return true;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
            throw e;
          }
        })
        .map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);
    const inc = happy('inclusion');
    const con = happy('consistency');
    expect(inc.length).toBeGreaterThanOrEqual(4);
    expect(con.length).toBeGreaterThanOrEqual(4);
    for (const c of inc) {
      const want = ((c.proof as string[] | null) ?? []).map((s) => toHex(fromBase64(s)));
      const index = c.leafIdx as number;
      const size = c.treeSize as number;
      expect(hexes(inclusionProof(sha256, rfcLeaves, index, size))).toEqual(want);
      expect(hexes(fromStore(sha256, table, inclusionPlan(index, size)))).toEqual(want);
    }
    for (const c of con) {
      const want = ((c.proof as string[] | null) ?? []).map((s) => toHex(fromBase64(s)));
      const m = c.size1 as number;
      const n = c.size2 as number;
      expect(hexes(consistencyProof(sha256, rfcLeaves, m, n))).toEqual(want);
      expect(hexes(fromStore(sha256, table, consistencyPlan(m, n)))).toEqual(want);
    }
  });
});

describe('compact range', () => {
  it('yields the reference root at every size 0..300 and emits every perfect subtree once', () => {
    const leaves = leavesOf(300);
    const table = nodeTable(blake3, leaves);
    const range = new CompactRange(blake3);
    const emitted = new Map<string, string>();
    expect(range.root()).toEqual(blake3.emptyRoot());
    for (let n = 1; n <= leaves.length; n++) {
      range.append(leaves[n - 1] as Uint8Array, (level, index, hash) => {
        const key = `${level}/${index}`;
        expect(emitted.has(key)).toBe(false);
        emitted.set(key, toHex(hash));
      });
      expect(range.size).toBe(n);
      expect(toHex(range.root())).toBe(toHex(merkleRoot(blake3, leaves.slice(0, n))));
      // Every complete perfect subtree of [0, n) has been emitted, with its stored hash.
      let count = 0;
      for (let l = 0; l < table.length; l++) {
        const complete = Math.floor(n / 2 ** l);
        count += complete;
        for (const i of [0, complete - 1]) {
          if (i >= 0 && i < complete)
            expect(emitted.get(`${l}/${i}`)).toBe(toHex(table[l]?.[i] as Uint8Array));
        }
      }
      expect(emitted.size).toBe(count);
    }
  });

  it('restores from the stored frontier nodes and continues identically', () => {
    const leaves = leavesOf(200);
    const table = nodeTable(blake3, leaves);
    for (const size of [0, 1, 2, 3, 7, 8, 63, 64, 100, 127, 150]) {
      const ids = frontierNodeIds(size);
      const restored = CompactRange.restore(
        blake3,
        size,
        ids.map(({ level, index }) => table[level]?.[index] as Uint8Array),
      );
      expect(restored.size).toBe(size);
      expect(restored.root()).toEqual(merkleRoot(blake3, leaves.slice(0, size)));
      for (let i = size; i < leaves.length; i++) restored.append(leaves[i] as Uint8Array);
      expect(restored.root()).toEqual(merkleRoot(blake3, leaves));
    }
  });

  it('frontier ids follow the binary decomposition of the size', () => {
    expect(frontierNodeIds(0)).toEqual([]);
    expect(frontierNodeIds(13)).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(frontierNodeIds(2 ** 40 + 1)).toEqual([
      { level: 40, index: 0 },
      { level: 0, index: 2 ** 40 },
    ]);
    expect(() => frontierNodeIds(-1)).toThrow();
    expect(() => frontierNodeIds(1.5)).toThrow();
  });

  it('a throwing node sink leaves the range unchanged', () => {
    const leaves = leavesOf(8);
    const r = new CompactRange(blake3);
    for (const l of leaves.slice(0, 7)) r.append(l);
    const before = r.root();
    expect(() =>
      r.append(leaves[7] as Uint8Array, (level) => {
        if (level === 2) throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(r.size).toBe(7);
    expect(r.root()).toEqual(before);
    r.append(leaves[7] as Uint8Array);
    expect(r.root()).toEqual(merkleRoot(blake3, leaves));
  });

  it('rejects a frontier of the wrong shape', () => {
    const h = blake3.hashLeaf(new Uint8Array(0));
    expect(() => CompactRange.restore(blake3, 3, [h])).toThrow(/needs 2/);
    expect(() => CompactRange.restore(blake3, 1, [h.subarray(1)])).toThrow();
    expect(() => new CompactRange(blake3).append(h.subarray(1))).toThrow();
  });

  it('frontier() returns copies in frontier order', () => {
    const leaves = leavesOf(5);
    const r = new CompactRange(blake3);
    for (const l of leaves) r.append(l);
    const table = nodeTable(blake3, leaves);
    expect(r.frontier()).toEqual([table[2]?.[0], table[0]?.[4]]);
  });
});

describe('stored-node proofs equal the reference proofs', () => {
  const leaves = leavesOf(300);
  const table = nodeTable(blake3, leaves);

  // Every position up to 128 leaves; beyond, every size with the positions at the edges and
  // the middle (the reference is linear per proof, so all positions would be cubic).
  const positions = (n: number): number[] =>
    n <= 128
      ? Array.from({ length: n }, (_, i) => i)
      : [...new Set([0, 1, (n - 1) >> 1, n >> 1, (n * 3) >> 2, n - 2, n - 1])];

  it('inclusion: every size 1..300', () => {
    for (let n = 1; n <= 300; n++) {
      const root = merkleRoot(blake3, leaves.slice(0, n));
      for (const i of positions(n)) {
        const got = fromStore(blake3, table, inclusionPlan(i, n));
        const want = inclusionProof(blake3, leaves, i, n);
        if (hexes(got).join() !== hexes(want).join()) expect.fail(`inclusion ${i}/${n}`);
        verifyInclusion(blake3, i, n, leaves[i] as Uint8Array, got, root);
      }
    }
  });

  it('consistency: every size 1..300', () => {
    const roots = Array.from({ length: 301 }, (_, n) => merkleRoot(blake3, leaves.slice(0, n)));
    for (let n = 1; n <= 300; n++) {
      for (const m of positions(n).map((i) => i + 1)) {
        const got = fromStore(blake3, table, consistencyPlan(m, n));
        const want = consistencyProof(blake3, leaves, m, n);
        if (hexes(got).join() !== hexes(want).join()) expect.fail(`consistency ${m}->${n}`);
        verifyConsistency(blake3, m, n, got, roots[m] as Uint8Array, roots[n] as Uint8Array);
      }
    }
  });

  it('random positions in larger trees', () => {
    const big = leavesOf(5000);
    const bigTable = nodeTable(blake3, big);
    let seed = 12345;
    const rand = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let t = 0; t < 30; t++) {
      const n = 1 + rand(big.length);
      const i = rand(n);
      const m = 1 + rand(n);
      expect(hexes(fromStore(blake3, bigTable, inclusionPlan(i, n)))).toEqual(
        hexes(inclusionProof(blake3, big, i, n)),
      );
      expect(hexes(fromStore(blake3, bigTable, consistencyPlan(m, n)))).toEqual(
        hexes(consistencyProof(blake3, big, m, n)),
      );
    }
  });

  it('plans for huge trees are short and well-formed', () => {
    const n = 2 ** 50 + 12345;
    const plan = inclusionPlan(n - 1, n);
    expect(plan.nodes.length).toBeLessThanOrEqual(2 * 51);
    for (const { level, index } of plan.nodes) {
      expect((index + 1) * 2 ** level).toBeLessThanOrEqual(n);
    }
    const cplan = consistencyPlan(2 ** 49 + 3, n);
    for (const { level, index } of cplan.nodes) {
      expect((index + 1) * 2 ** level).toBeLessThanOrEqual(n);
    }
  });

  it('rejects invalid arguments', () => {
    expect(() => inclusionPlan(5, 5)).toThrow(/index/);
    expect(() => inclusionPlan(0, 0)).toThrow();
    expect(() => consistencyPlan(0, 5)).toThrow();
    expect(() => consistencyPlan(6, 5)).toThrow();
    expect(consistencyPlan(5, 5).nodes).toEqual([]);
    expect(() => inclusionProof(blake3, leaves, 10, 10)).toThrow();
    expect(() => inclusionProof(blake3, leaves, 0, 301)).toThrow();
    expect(() => consistencyProof(blake3, leaves, 0, 10)).toThrow();
    const plan = inclusionPlan(3, 7);
    expect(() => proofFromNodes(blake3, plan, [])).toThrow();
  });
});
