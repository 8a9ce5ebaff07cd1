import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { idAt, idHash, packIds, recordIdAt } from '../../../src/shard-runtime/record-ids.ts';

describe('idHash', () => {
  it('is 32-bit FNV-1a (published test vectors)', () => {
    // From the FNV reference test suite (draft-eastlake-fnv, fnv32a of "", "a", "foobar").
    const vectors: [string, number][] = [
      ['', 0x811c9dc5],
      ['a', 0xe40c292c],
      ['foobar', 0xbf9cf968],
    ];
    for (const [text, want] of vectors) {
      const b = utf8.encode(`xx${text}yy`);
      expect(idHash(b, 2, 2 + text.length)).toBe(want);
    }
  });
});

describe('packIds', () => {
  it('packs ids back to back with their hashes; each reads back as bytes and as a string', () => {
    const ids = ['a', 'rec-0001', 'Z9._:-', 'x'.repeat(300)];
    const list = packIds(ids);
    expect(list.ids.length).toBe(ids.join('').length);
    ids.forEach((id, i) => {
      expect(recordIdAt(list, i)).toBe(id);
      expect(idAt(list, i)).toEqual(utf8.encode(id));
      expect(list.idHashes[i]).toBe(idHash(utf8.encode(id), 0, id.length));
    });
  });

  it('refuses an id past ASCII rather than store bytes that are not its own', () => {
    expect(() => packIds(['ok', 'é'])).toThrow(/not ASCII/);
  });
});
