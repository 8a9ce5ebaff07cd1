// Generates the BLAKE3 Merkle test vectors in test/vectors/blake3/, in the JSON shape of the
// transparency-dev RFC 6962 vectors. Self-contained on purpose: the RFC 9162 definitions are
// written out here over @noble/hashes BLAKE3, independently of src/, so the vectors check the
// product's hasher, proof code and verifier rather than repeat them. Deterministic: running it
// again rewrites identical files.
//
//   npx node test/vectors/generate-blake3.ts
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';

const outDir = path.join(import.meta.dirname, 'blake3');
const enc = new TextEncoder();
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};
const hashLeaf = (d: Uint8Array): Uint8Array => blake3(cat(Uint8Array.of(0), d));
const hashChildren = (l: Uint8Array, r: Uint8Array): Uint8Array =>
  blake3(cat(Uint8Array.of(1), l, r));
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// RFC 9162 §2.1.1-2.1.4, literally.
const split = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return blake3(new Uint8Array(0));
  if (d.length === 1) return d[0] as Uint8Array;
  const k = split(d.length);
  return hashChildren(mth(d.slice(0, k)), mth(d.slice(k)));
}
function pathOf(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k
    ? [...pathOf(m, d.slice(0, k)), mth(d.slice(k))]
    : [...pathOf(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

// The RFC 6962 test entries (as in the transparency-dev vectors), and a larger tree.
const rfcEntries = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const small = rfcEntries.map((h) => hashLeaf(fromHex(h)));
const big = Array.from({ length: 1000 }, (_, i) => hashLeaf(enc.encode(`agdr leaf ${i}`)));

const other = (label: string): Uint8Array => blake3(enc.encode(label));
const emptyRoot = blake3(new Uint8Array(0));
const flipBit = (h: Uint8Array, bit: number): Uint8Array => {
  const out = h.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
};

// First, middle and last proof component: enough to corrupt each part of a proof.
const modifiable = (proof: Uint8Array[]): number[] =>
  [...new Set([0, proof.length >> 1, proof.length - 1])].filter((i) => i >= 0 && i < proof.length);

function write(rel: string, value: unknown): void {
  const file = path.join(outDir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}
const fileName = (desc: string): string => desc.replace(/ /g, '-') + '.json';

function inclusionCases(dir: string, leaves: Uint8Array[], index: number, size: number): void {
  const d = leaves.slice(0, size);
  const root = mth(d);
  const leaf = leaves[index] as Uint8Array;
  const proof = pathOf(index, d);
  const emit = (
    desc: string,
    c: Partial<{ leafIdx: number; treeSize: number; root: Uint8Array; leafHash: Uint8Array; proof: Uint8Array[] }>,
    wantErr = true,
  ): void =>
    write(`inclusion/${dir}/${fileName(desc)}`, {
      leafIdx: c.leafIdx ?? index,
      treeSize: c.treeSize ?? size,
      root: b64(c.root ?? root),
      leafHash: b64(c.leafHash ?? leaf),
      proof: (c.proof ?? proof).map(b64),
      desc,
      wantErr,
    });
  emit('happy path', {}, false);
  emit('wrong leaf', { leafHash: other('wrong leaf') });
  emit('leafIdx plus @1', { leafIdx: index + 1 });
  if (index > 0) emit('leafIdx sub @1', { leafIdx: index - 1 });
  emit('leafIdx XOR @2', { leafIdx: index ^ 2 });
  emit('treeSize mul @2', { treeSize: size * 2 });
  if (size > 1) emit('treeSize div @2', { treeSize: Math.floor(size / 2) });
  emit('random root', { root: other('random root') });
  emit('empty root', { root: emptyRoot });
  emit('trailing garbage', { proof: [...proof, other('garbage')] });
  emit('preceding garbage', { proof: [other('garbage'), ...proof] });
  emit('trailing root', { proof: [...proof, root] });
  emit('preceding root', { proof: [root, ...proof] });
  emit('short leaf hash', { leafHash: leaf.subarray(1) });
  modifiable(proof).forEach((i) => {
    const p = proof[i] as Uint8Array;
    emit(`modified proof[${i}] bit @3`, { proof: proof.map((q, j) => (j === i ? flipBit(p, 3) : q)) });
  });
  if (proof.length > 0) {
    emit('removed component', { proof: proof.slice(0, -1) });
    emit('truncated component', { proof: [(proof[0] as Uint8Array).subarray(1), ...proof.slice(1)] });
    const mid = proof.length >> 1;
    emit('inserted component', { proof: [...proof.slice(0, mid), other('inserted'), ...proof.slice(mid)] });
  }
}

function consistencyCases(dir: string, leaves: Uint8Array[], size1: number, size2: number): void {
  const root1 = mth(leaves.slice(0, size1));
  const root2 = mth(leaves.slice(0, size2));
  const proof = subproof(size1, leaves.slice(0, size2), true);
  const emit = (
    desc: string,
    c: Partial<{ size1: number; size2: number; root1: Uint8Array; root2: Uint8Array; proof: Uint8Array[] }>,
    wantErr = true,
  ): void =>
    write(`consistency/${dir}/${fileName(desc)}`, {
      size1: c.size1 ?? size1,
      size2: c.size2 ?? size2,
      root1: b64(c.root1 ?? root1),
      root2: b64(c.root2 ?? root2),
      proof: (c.proof ?? proof).map(b64),
      desc,
      wantErr,
    });
  emit('happy path', {}, false);
  emit('wrong root1', { root1: other('wrong root1') });
  emit('wrong root2', { root2: other('wrong root2') });
  if (size1 !== size2) emit('swapped roots', { root1: root2, root2: root1 });
  else emit('equal sizes with a proof', { proof: [root1] });
  emit('size1 plus @1', { size1: size1 + 1 });
  if (size1 > 1) emit('size1 sub @1', { size1: size1 - 1 });
  emit('size1 zero', { size1: 0 });
  emit('size2 mul @2', { size2: size2 * 2 });
  emit('size2 div @2', { size2: Math.floor(size2 / 2) });
  if (size1 !== size2) emit('sizes swapped', { size1: size2, size2: size1 });
  if (proof.length > 0) {
    emit('empty proof', { proof: [] });
    emit('truncated proof', { proof: proof.slice(0, -1) });
    emit('truncated component', { proof: [(proof[0] as Uint8Array).subarray(1), ...proof.slice(1)] });
  }
  emit('trailing garbage', { proof: [...proof, other('garbage')] });
  emit('preceding garbage', { proof: [other('garbage'), ...proof] });
  emit('trailing root1', { proof: [...proof, root1] });
  emit('preceding root2', { proof: [root2, ...proof] });
  modifiable(proof).forEach((i) => {
    const p = proof[i] as Uint8Array;
    emit(`modified proof@${i} bit @4`, { proof: proof.map((q, j) => (j === i ? flipBit(p, 4) : q)) });
  });
}

rmSync(path.join(outDir, 'inclusion'), { recursive: true, force: true });
rmSync(path.join(outDir, 'consistency'), { recursive: true, force: true });

const inclusion: [Uint8Array[], number, number][] = [
  [small, 0, 1],
  [small, 0, 8],
  [small, 5, 8],
  [small, 2, 3],
  [small, 4, 5],
  [small, 6, 7],
  [big, 0, 1000],
  [big, 999, 1000],
  [big, 500, 777],
  [big, 33, 34],
];
inclusion.forEach(([leaves, i, n], k) => inclusionCases(String(k), leaves, i, n));

const consistency: [Uint8Array[], number, number][] = [
  [small, 1, 1],
  [small, 1, 8],
  [small, 6, 8],
  [small, 2, 5],
  [small, 3, 7],
  [small, 4, 8],
  [big, 1, 1000],
  [big, 500, 777],
  [big, 511, 512],
  [big, 512, 1000],
  [big, 999, 1000],
];
consistency.forEach(([leaves, m, n], k) => consistencyCases(String(k), leaves, m, n));

// The small tree itself: entries, leaf hashes and the root at every size (spec worked example).
write('tree.json', {
  _about:
    'BLAKE3 RFC 9162 tree over the RFC 6962 test entries (hex). leafHashes[i] = BLAKE3(0x00 || entry); roots[n] = root of the first n leaves. The "big" vectors use entries UTF-8 "agdr leaf <i>", i = 0..999.',
  entries: rfcEntries,
  leafHashes: small.map(hex),
  roots: Array.from({ length: small.length + 1 }, (_, n) => hex(mth(small.slice(0, n)))),
});
