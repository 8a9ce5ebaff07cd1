import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import {
  IdListBuilder,
  idAt,
  idHash,
  packIds,
  recordIdAt,
  repeats,
} from '../../../src/shard-runtime/record-ids.ts';

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

describe('IdListBuilder', () => {
  it('takes ids from bytes and from strings alike, growing past its first guess', () => {
    const names = Array.from({ length: 50 }, (_, i) => `id-${'x'.repeat(i * 7)}-${i}`);
    const line = utf8.encode(`{"a":1,${names.map((n) => `"${n}"`).join(',')}}`);
    const builder = new IdListBuilder(names.length);
    names.forEach((n, i) => {
      if (i % 2 === 0) builder.addString(n);
      else {
        const at = Buffer.from(line).indexOf(`"${n}"`) + 1;
        builder.addBytes(line, at, at + n.length);
      }
    });
    const list = builder.finish();
    expect(list.idEnds.length).toBe(names.length);
    names.forEach((n, i) => {
      expect(recordIdAt(list, i)).toBe(n);
      expect(list.idHashes[i]).toBe(idHash(utf8.encode(n), 0, n.length));
    });
    expect(list).toEqual(packIds(names));
  });
});

describe('repeats', () => {
  /** The reference: a Map of the ids as strings. */
  const reference = (names: string[]): number[] => {
    const first = new Map<string, number>();
    return names.map((n, i) => {
      const j = first.get(n);
      if (j === undefined) first.set(n, i);
      return j ?? -1;
    });
  };

  it('points each repeat at the first occurrence, also when different ids share a hash', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        (picks, buckets) => {
          const names = picks.map((p) => `r-${p}`);
          const list = packIds(names);
          // Few distinct hashes: different ids collide all the time.
          const colliding = { ...list, idHashes: list.idHashes.map((h) => h % buckets) };
          expect([...repeats(colliding)]).toEqual(reference(names));
          // All in the table's last slot: lookups wrap around to its start.
          const last = { ...list, idHashes: list.idHashes.map(() => 0xffff_ffff) };
          expect([...repeats(last)]).toEqual(reference(names));
          expect([...repeats(list)]).toEqual(reference(names));
        },
      ),
      { numRuns: 200 },
    );
  });
});
