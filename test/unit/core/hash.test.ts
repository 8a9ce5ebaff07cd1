import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake3, blake3Reference, hasherByName, sha256 } from '../../../src/core/hash.ts';
import { concatBytes, fromHex, toHex } from '../../../src/core/bytes.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

interface OfficialCase {
  input_len: number;
  hash: string;
}
const official = JSON.parse(
  readFileSync(path.join(repoRoot, 'test/vectors/blake3/official-hash.json'), 'utf8'),
) as { cases: OfficialCase[] };

function officialInput(len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = i % 251;
  return out;
}

describe('BLAKE3 against the official BLAKE3 test vectors', () => {
  it('has the fixture cases', () => {
    expect(official.cases.map((c) => c.input_len)).toEqual(
      expect.arrayContaining([0, 1, 1023, 1024, 1025, 2048, 4096, 102400]),
    );
  });
  for (const c of official.cases) {
    it(`input_len ${c.input_len}`, () => {
      const input = officialInput(c.input_len);
      expect(toHex(blake3.digest(input))).toBe(c.hash);
      expect(toHex(blake3Reference.digest(input))).toBe(c.hash);
    });
  }
});

describe('hash-wasm BLAKE3 agrees with @noble/hashes', () => {
  it('on random inputs of every size 0..4096 (digest and leaf hash)', () => {
    const pool = randomBytes(8192);
    for (let len = 0; len <= 4096; len++) {
      const off = (len * 7919) % 4096;
      const input = new Uint8Array(pool.buffer, pool.byteOffset + off, len);
      const fast = blake3.hashLeaf(input);
      const ref = blake3Reference.hashLeaf(input);
      if (toHex(fast) !== toHex(ref)) expect.fail(`leaf hash differs at length ${len}`);
      if (toHex(blake3.digest(input)) !== toHex(blake3Reference.digest(input))) {
        expect.fail(`digest differs at length ${len}`);
      }
    }
  });

  it('on interior nodes, including non-32-byte children', () => {
    for (let i = 0; i < 200; i++) {
      const l = new Uint8Array(randomBytes(i % 3 === 0 ? 7 : 32));
      const r = new Uint8Array(randomBytes(32));
      expect(toHex(blake3.hashChildren(l, r))).toBe(toHex(blake3Reference.hashChildren(l, r)));
    }
  });

  it('leaf and node hashes are domain-separated digests of the prefixed input', () => {
    const d = new Uint8Array(randomBytes(100));
    const l = new Uint8Array(randomBytes(32));
    const r = new Uint8Array(randomBytes(32));
    for (const h of [blake3, blake3Reference, sha256]) {
      expect(h.hashLeaf(d)).toEqual(h.digest(concatBytes(Uint8Array.of(0), d)));
      expect(h.hashChildren(l, r)).toEqual(h.digest(concatBytes(Uint8Array.of(1), l, r)));
      expect(h.emptyRoot()).toEqual(h.digest(new Uint8Array(0)));
      expect(h.size).toBe(32);
    }
  });

  it('returns fresh arrays: later calls do not change earlier results', () => {
    const a = blake3.hashLeaf(Uint8Array.of(1));
    const copy = a.slice();
    blake3.hashLeaf(Uint8Array.of(2));
    blake3.hashChildren(a, a);
    expect(a).toEqual(copy);
  });
});

describe('SHA-256 hasher', () => {
  it('matches the published constants', () => {
    // SHA-256("") and the RFC 6962 leaf hash of the empty entry.
    expect(toHex(sha256.emptyRoot())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256.hashLeaf(new Uint8Array(0))).toEqual(
      fromHex('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'),
    );
  });
});

describe('hasherByName', () => {
  it('resolves known names and rejects others', () => {
    expect(hasherByName('blake3')).toBe(blake3);
    expect(hasherByName('sha256')).toBe(sha256);
    expect(() => hasherByName('md5')).toThrow(RangeError);
  });
});
