import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blake3Chunk, blake3Prefix64, CHUNK_LENGTH } from '../../../src/core/blake3-chunk.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { toHex } from '../../../src/core/bytes.ts';

const official = JSON.parse(
  readFileSync(
    path.resolve(import.meta.dirname, '../../vectors/blake3/official-hash.json'),
    'utf8',
  ),
) as { cases: { input_len: number; hash: string }[] };

describe('one-chunk BLAKE3', () => {
  it('matches the official vectors of up to one chunk', () => {
    const cases = official.cases.filter((c) => c.input_len <= CHUNK_LENGTH);
    expect(cases.map((c) => c.input_len)).toEqual([0, 1, 1023, 1024]);
    for (const c of cases) {
      const input = Uint8Array.from({ length: c.input_len }, (_, i) => i % 251);
      expect(toHex(blake3Chunk(input))).toBe(c.hash);
    }
  });

  it('agrees with @noble/hashes on random inputs of every length 0..1024', () => {
    const pool = randomBytes(2 * CHUNK_LENGTH);
    for (let len = 0; len <= CHUNK_LENGTH; len++) {
      const input = new Uint8Array(pool.buffer, pool.byteOffset + ((len * 7919) % 1024), len);
      const want = toHex(blake3Reference.digest(input));
      if (toHex(blake3Chunk(input)) !== want) expect.fail(`digest differs at length ${len}`);
    }
  });

  it('hashes only the length asked for, whatever lies after it', () => {
    const into = new Uint32Array(2);
    const bytes = new Uint8Array(randomBytes(200));
    for (const len of [0, 5, 64, 65, 130]) {
      blake3Prefix64(bytes, len, into);
      const d = blake3Reference.digest(bytes.subarray(0, len));
      const view = new DataView(d.buffer, d.byteOffset, 8);
      expect([...into]).toEqual([view.getUint32(0), view.getUint32(4)]);
    }
  });

  it('refuses more than one chunk', () => {
    expect(() => blake3Chunk(new Uint8Array(CHUNK_LENGTH + 1))).toThrow(RangeError);
  });
});
