// The worked examples of docs/spec/10-hashing-and-trees.md and
// docs/spec/20-signed-notes-and-checkpoints.md, recomputed: a doc that drifts from the code
// fails here. Each example is the first fenced block after a `<!-- check: NAME -->` marker.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as noble from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toHex } from '../../../src/core/bytes.ts';
import { blake3, blake3Reference } from '../../../src/core/hash.ts';
import { CompactRange } from '../../../src/core/merkle/compact.ts';
import { consistencyProof, inclusionProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/core/merkle/proof.ts';
import { keyId, parseNote, verifierKeyString } from '../../../src/core/note.ts';
import { parseCheckpoint, signCheckpoint, verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';

const specDir = path.resolve(import.meta.dirname, '../../../docs/spec');

function examples(file: string): Map<string, string> {
  const text = readFileSync(path.join(specDir, file), 'utf8');
  const out = new Map<string, string>();
  const re = /<!-- check: ([a-z0-9-]+) -->\s*```[a-z]*\n([\s\S]*?)```/g;
  for (const m of text.matchAll(re)) out.set(m[1] as string, m[2] as string);
  return out;
}

function example(map: Map<string, string>, name: string): string {
  const block = map.get(name);
  if (block === undefined) throw new Error(`example '${name}' missing from the spec`);
  return block;
}

/** `<word> <n> <64 hex>` lines of a block, e.g. "proof 0 …", as hex strings in order of n. */
function numbered(block: string, word: string): string[] {
  const out: string[] = [];
  for (const m of block.matchAll(new RegExp(`${word} (\\d+) ([0-9a-f]{64})`, 'g'))) {
    out[Number(m[1])] = m[2] as string;
  }
  return out;
}

describe('10-hashing-and-trees.md', () => {
  const ex = examples('10-hashing-and-trees.md');
  const tree = example(ex, 'blake3-tree');
  const entries = [...tree.matchAll(/^entry (\S+)/gm)].map((m) =>
    m[1] === '""' ? new Uint8Array(0) : fromHex(m[1] as string),
  );
  const leaves = entries.map((e) => blake3.hashLeaf(e));

  it('leaf hashes and roots of the example tree', () => {
    expect(entries).toHaveLength(8);
    expect(numbered(tree, 'leaf')).toEqual(leaves.map(toHex));
    expect(numbered(tree, 'leaf')).toEqual(entries.map((e) => toHex(blake3Reference.hashLeaf(e))));
    const range = new CompactRange(blake3);
    const roots = [toHex(range.root())];
    for (const l of leaves) {
      range.append(l);
      roots.push(toHex(range.root()));
    }
    expect(numbered(tree, 'root')).toEqual(roots);
  });

  it('inclusion proof of leaf 5 in size 7', () => {
    const block = example(ex, 'inclusion-5-7');
    const proof = numbered(block, 'proof');
    expect(proof).toEqual(inclusionProof(blake3, leaves, 5, 7).map(toHex));
    const root = /^root ([0-9a-f]{64})$/m.exec(block)?.[1] as string;
    expect(root).toBe(toHex(merkleRoot(blake3, leaves.slice(0, 7))));
    verifyInclusion(blake3, 5, 7, leaves[5] as Uint8Array, proof.map(fromHex), fromHex(root));
  });

  it('consistency proof from size 3 to size 7', () => {
    const proof = numbered(example(ex, 'consistency-3-7'), 'proof');
    expect(proof).toEqual(consistencyProof(blake3, leaves, 3, 7).map(toHex));
    verifyConsistency(
      blake3,
      3,
      7,
      proof.map(fromHex),
      merkleRoot(blake3, leaves.slice(0, 3)),
      merkleRoot(blake3, leaves.slice(0, 7)),
    );
  });
});

describe('20-signed-notes-and-checkpoints.md', () => {
  const ex = examples('20-signed-notes-and-checkpoints.md');
  const keyBlock = example(ex, 'example-key');
  const field = (name: string): string => {
    const m = new RegExp(`^${name} +(\\S+)$`, 'm').exec(keyBlock);
    if (m === null) throw new Error(`field '${name}' missing`);
    return m[1] as string;
  };
  const name = field('key name');
  const seed = fromHex(field('private key'));
  const signer = ed25519SignerFromSeed(name, seed);

  it('the example key', async () => {
    expect(field('public key')).toBe(toHex(signer.publicKey));
    expect(field('public key')).toBe(toHex(await noble.getPublicKeyAsync(seed)));
    expect(Number.parseInt(field('key ID'), 16)).toBe(keyId(name, signer.publicKey));
    expect(field('verifier key')).toBe(verifierKeyString(name, signer.publicKey));
  });

  it('the signed checkpoint', async () => {
    const note = example(ex, 'signed-checkpoint');
    const cp = verifyCheckpoint(note, [field('verifier key')], name);
    expect(cp.size).toBe(8);
    expect(cp.timestampNs).toBe(1764201600000000000n);
    expect(cp.routingEpoch).toBe(1);
    // The root is the size-8 root of the hashing section's example tree.
    const tree = example(examples('10-hashing-and-trees.md'), 'blake3-tree');
    expect(toHex(cp.rootHash)).toBe(numbered(tree, 'root')[8]);
    // Deterministic Ed25519: re-signing reproduces the note byte for byte.
    expect(await signCheckpoint(parseCheckpoint(parseNote(note).text), signer)).toBe(note);
    const sig = parseNote(note).signatures[0];
    expect(sig?.keyId).toBe(keyId(name, signer.publicKey));
    expect(
      await noble.verifyAsync(
        sig?.signature as Uint8Array,
        new TextEncoder().encode(parseNote(note).text),
        signer.publicKey,
      ),
    ).toBe(true);
    expect(fromBase64(note.trim().split(' ').pop() as string).subarray(0, 4)).toEqual(
      fromHex(field('key ID')),
    );
  });
});
