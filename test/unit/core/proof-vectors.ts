// Reads Merkle proof vectors in the transparency-dev JSON shape (RFC 6962 ones and our BLAKE3
// ones) and checks each against the verifier.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { fromBase64 } from '../../../src/core/bytes.ts';
import type { Hasher } from '../../../src/core/hash.ts';
import {
  MerkleProofError,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/core/merkle/proof.ts';

export interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

export interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

/** Every .json file under dir, sorted, as [path relative to root, absolute path]. */
export function vectorFiles(root: string, sub: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) out.push([path.relative(root, p), p]);
    }
  };
  walk(path.join(root, sub));
  return out;
}

export function readCase<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export const proofBytes = (p: string[] | null): Uint8Array[] => (p ?? []).map(fromBase64);

/** Runs a verification and checks it passes or is rejected (with a MerkleProofError) as wanted. */
function expectOutcome(c: { desc: string; wantErr: boolean }, verify: () => void): void {
  let result = 'ok';
  try {
    verify();
  } catch (e) {
    if (!(e instanceof MerkleProofError)) throw e;
    result = e.code;
  }
  if (c.wantErr) expect(result, c.desc).not.toBe('ok');
  else expect(result, c.desc).toBe('ok');
}

export function checkInclusionCase(hasher: Hasher, c: InclusionCase): void {
  expectOutcome(c, () =>
    verifyInclusion(
      hasher,
      c.leafIdx,
      c.treeSize,
      fromBase64(c.leafHash),
      proofBytes(c.proof),
      fromBase64(c.root),
    ),
  );
}

export function checkConsistencyCase(hasher: Hasher, c: ConsistencyCase): void {
  expectOutcome(c, () =>
    verifyConsistency(
      hasher,
      c.size1,
      c.size2,
      proofBytes(c.proof),
      fromBase64(c.root1),
      fromBase64(c.root2),
    ),
  );
}
