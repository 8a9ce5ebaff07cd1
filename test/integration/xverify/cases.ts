// Cases for xverify: a valid proof or checkpoint plus corrupted variants of it that every
// verifier MUST reject (bit flips, wrong index or size, truncated or extended proofs, wrong
// keys, altered bodies). Corruptions are chosen so that rejection does not depend on the
// verifier's leniency: a wrong size is used only when it changes the RFC 9162 proof length.
import { randomBytes } from 'node:crypto';
import { fromBase64, fromHex, toBase64, toHex } from '../../../src/core/bytes.ts';
import { verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/core/merkle/proof.ts';
import type { CheckpointCase, ConsistencyCase, InclusionCase, XCase } from './xverify.ts';

/** A copy of `bytes` with one random bit flipped. */
export function flipBit(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const bit = randomBytes(4).readUInt32BE() % (out.length * 8);
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

const flipHex = (hex: string): string => toHex(flipBit(fromHex(hex)));
const randomIndex = (n: number): number => randomBytes(4).readUInt32BE() % n;

// The RFC 9162 proof lengths, written out from the recursive definitions (k = largest power of
// two below n), independently of the code under test.
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
/** |PATH(m, D[n])|. */
export function pathLength(m: number, n: number): number {
  if (n <= 1) return 0;
  const k = split(n);
  return 1 + (m < k ? pathLength(m, k) : pathLength(m - k, n - k));
}
/** |SUBPROOF(m, D[n], b)|. */
export function subproofLength(m: number, n: number, b = true): number {
  if (m === n) return b ? 0 : 1;
  const k = split(n);
  return 1 + (m <= k ? subproofLength(m, k, b) : subproofLength(m - k, n - k, false));
}

/** The valid inclusion case and its corrupted variants (all expected to be rejected). */
export function inclusionCases(valid: Omit<InclusionCase, 'kind' | 'expect'>): InclusionCase[] {
  const ok: InclusionCase = { ...valid, kind: 'inclusion', expect: true };
  const { id, index, size, proof } = valid;
  const bad = (what: string, change: Partial<InclusionCase>): InclusionCase => ({
    ...ok,
    ...change,
    id: `${id}/${what}`,
    expect: false,
  });
  const out = [ok, bad('flip-root', { root: flipHex(valid.root) })];
  // Without the entry, so that the proof check (not the entry check) must reject it.
  const flippedLeaf: InclusionCase = {
    ...bad('flip-leaf', {}),
    leaf_hash: flipHex(valid.leaf_hash),
  };
  delete (flippedLeaf as { entry?: string }).entry;
  out.push(flippedLeaf);
  if (proof.length > 0) {
    const i = randomIndex(proof.length);
    out.push(bad(`flip-proof-${i}`, { proof: proof.map((h, j) => (j === i ? flipHex(h) : h)) }));
    out.push(bad('truncated', { proof: proof.slice(0, -1) }));
    out.push(bad('short-hash', { proof: proof.map((h, j) => (j === i ? h.slice(0, -2) : h)) }));
  }
  out.push(bad('extended', { proof: [...proof, toHex(randomBytes(32))] }));
  out.push(bad('index-eq-size', { index: size }));
  const other = (index ^ 1) < size ? index ^ 1 : index - 1;
  if (other >= 0 && other !== index) out.push(bad(`index-${other}`, { index: other }));
  for (const s of [size + 1, size - 1, size * 2, size + split(size + 1)]) {
    if (s > index && pathLength(index, s) !== proof.length) {
      out.push(bad(`size-${s}`, { size: s }));
      break;
    }
  }
  return out;
}

/** The valid consistency case and its corrupted variants (all expected to be rejected). */
export function consistencyCases(
  valid: Omit<ConsistencyCase, 'kind' | 'expect'>,
): ConsistencyCase[] {
  const ok: ConsistencyCase = { ...valid, kind: 'consistency', expect: true };
  const { id, size1, size2, proof } = valid;
  const bad = (what: string, change: Partial<ConsistencyCase>): ConsistencyCase => ({
    ...ok,
    ...change,
    id: `${id}/${what}`,
    expect: false,
  });
  const out = [ok, bad('flip-root2', { root2: flipHex(valid.root2) })];
  out.push(bad('extended', { proof: [...proof, toHex(randomBytes(32))] }));
  if (size1 === size2) return out;
  out.push(bad('flip-root1', { root1: flipHex(valid.root1) }));
  const i = randomIndex(proof.length);
  out.push(bad(`flip-proof-${i}`, { proof: proof.map((h, j) => (j === i ? flipHex(h) : h)) }));
  out.push(bad('truncated', { proof: proof.slice(0, -1) }));
  out.push(bad('short-hash', { proof: proof.map((h, j) => (j === i ? h.slice(0, -2) : h)) }));
  out.push(bad('swapped', { size1: size2, size2: size1, root1: valid.root2, root2: valid.root1 }));
  const candidates: [number, number][] = [
    [size1 + 1, size2],
    [size1 - 1, size2],
    [size1, size2 + 1],
    [size1, size2 - 1],
  ];
  let sizes = 0;
  for (const [m, n] of candidates) {
    if (m > 0 && m <= n && subproofLength(m, n) !== proof.length && sizes < 2) {
      out.push(bad(`sizes-${m}-${n}`, { size1: m, size2: n }));
      sizes++;
    }
  }
  return out;
}

/** Corrupted variants of a valid signed checkpoint (all expected to be rejected). */
export function checkpointCases(
  valid: Omit<CheckpointCase, 'kind' | 'expect'>,
  wrongKey: string,
): CheckpointCase[] {
  const ok: CheckpointCase = { ...valid, kind: 'checkpoint', expect: true };
  const bad = (what: string, change: Partial<CheckpointCase>): CheckpointCase => ({
    ...ok,
    ...change,
    id: `${valid.id}/${what}`,
    expect: false,
  });
  const note = valid.note;
  const sep = note.lastIndexOf('\n\n');
  const text = note.slice(0, sep + 1);
  const sigs = note.slice(sep + 2);
  const lines = text.split('\n');
  const [origin, size, root] = lines as [string, string, string];
  const firstSig = sigs.split('\n')[0] as string;
  const sigB64 = firstSig.slice(firstSig.lastIndexOf(' ') + 1);
  const sigBytes = fromBase64(sigB64);
  const withSig = (b: Uint8Array): string => note.replace(sigB64, toBase64(b));
  const sigFlipped = sigBytes.slice();
  const bit = 32 + randomIndex(64 * 8);
  sigFlipped[bit >> 3] = (sigFlipped[bit >> 3] as number) ^ (1 << (bit & 7));
  const idFlipped = sigBytes.slice();
  idFlipped[0] = (idFlipped[0] as number) ^ 0x80;
  const body = (l: string[]): string => l.join('\n') + note.slice(sep + 1);
  const out = [
    ok,
    bad('wrong-key', { verifier_keys: [wrongKey] }),
    bad('wrong-origin', { origin: `${origin}0` }),
    bad('altered-size', { note: body([origin, String(Number(size) + 1), ...lines.slice(2)]) }),
    bad('altered-root', {
      note: body([origin, size, toBase64(flipBit(fromBase64(root))), ...lines.slice(3)]),
    }),
    bad('flip-signature', { note: withSig(sigFlipped) }),
    bad('flip-key-id', { note: withSig(idFlipped) }),
    bad('no-final-newline', { note: note.slice(0, -1) }),
    bad('no-signature', { note: text + '\n' }),
  ];
  if (lines.length > 4) {
    // Drop the last extension line: the signed text changes.
    out.push(bad('dropped-line', { note: body([...lines.slice(0, -2), '']) }));
  }
  return out;
}

/** Whether the project's own verifiers accept a case (for the agreement check). */
export function projectAccepts(c: XCase): boolean | undefined {
  try {
    switch (c.kind) {
      case 'inclusion':
        if (c.entry !== undefined && toHex(blake3.hashLeaf(fromHex(c.entry))) !== c.leaf_hash) {
          return false;
        }
        verifyInclusion(
          blake3,
          c.index,
          c.size,
          fromHex(c.leaf_hash),
          c.proof.map(fromHex),
          fromHex(c.root),
        );
        return true;
      case 'consistency':
        verifyConsistency(
          blake3,
          c.size1,
          c.size2,
          c.proof.map(fromHex),
          fromHex(c.root1),
          fromHex(c.root2),
        );
        return true;
      case 'checkpoint': {
        const cp = verifyCheckpoint(c.note, c.verifier_keys, c.origin);
        return cp.size === c.size && (c.root === undefined || toHex(cp.rootHash) === c.root);
      }
      default:
        return undefined;
    }
  } catch (e) {
    if (e instanceof Error && 'code' in e) return false;
    throw e;
  }
}
