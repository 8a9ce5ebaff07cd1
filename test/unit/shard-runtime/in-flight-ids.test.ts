import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InFlightIds } from '../../../src/shard-runtime/in-flight-ids.ts';
import { idHash, packIds, type IdList } from '../../../src/shard-runtime/record-ids.ts';
import { utf8 } from '../../../src/core/bytes.ts';

/** packIds, with every hash replaced by `hash(id)` (to force collisions and long probe runs). */
function listOf(ids: string[], hash: (id: string) => number): IdList {
  const list = packIds(ids);
  return { ...list, idHashes: Uint32Array.from(ids, hash) };
}

function findId(
  table: InFlightIds<string>,
  id: string,
  hash: (id: string) => number,
): { value: string; k: number } | undefined {
  const b = utf8.encode(id);
  return table.find(b, 0, b.length, hash(id));
}

// Hash functions from spread out to degenerate: the table must be exact under any of them.
const hashes: [string, (id: string) => number][] = [
  ['FNV-1a', (id) => idHash(utf8.encode(id), 0, id.length)],
  ['8 values', (id) => idHash(utf8.encode(id), 0, id.length) & 7],
  ['one value', () => 0xdeadbeef],
  ['consecutive', (id) => id.length * 0x4001],
];

describe('InFlightIds', () => {
  it('finds the call and entry of every id added, and nothing once the call is removed', () => {
    const table = new InFlightIds<string>();
    const hash = hashes[0]![1];
    const a = listOf(['a-1', 'a-2', 'a-3', 'a-4'], hash);
    const b = listOf(['b-1', 'b-2'], hash);
    // Entries are the listed items only: a-2 (item 1) is not added.
    const ha = table.add(a, [0, 2, 3], 'A');
    const hb = table.add(b, [1, 0], 'B');
    expect(table.size).toBe(5);
    expect(findId(table, 'a-1', hash)).toEqual({ value: 'A', k: 0 });
    expect(findId(table, 'a-4', hash)).toEqual({ value: 'A', k: 2 });
    expect(findId(table, 'a-2', hash)).toBeUndefined();
    expect(findId(table, 'b-1', hash)).toEqual({ value: 'B', k: 1 });
    table.remove(ha);
    table.remove(ha); // a second remove changes nothing
    expect(findId(table, 'a-1', hash)).toBeUndefined();
    expect(findId(table, 'b-2', hash)).toEqual({ value: 'B', k: 0 });
    table.remove(hb);
    expect(table.size).toBe(0);
  });

  it('a hash match with other bytes is not a match', () => {
    const table = new InFlightIds<string>();
    const same = (): number => 42;
    table.add(listOf(['x-1'], same), [0], 'X');
    expect(findId(table, 'x-2', same)).toBeUndefined();
    expect(findId(table, 'x-1', same)).toEqual({ value: 'X', k: 0 });
  });

  for (const [name, hash] of hashes) {
    it(`agrees with a Map under random adds and removes (${name} hash)`, () => {
      const op = fc.oneof(
        { arbitrary: fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 40 }), weight: 3 },
        { arbitrary: fc.nat(), weight: 2 },
      );
      fc.assert(
        fc.property(
          fc.array(op, { maxLength: 60 }),
          fc.array(fc.integer({ min: 0, max: 3000 })),
          (ops, probes) => {
            const table = new InFlightIds<string>();
            const model = new Map<string, { value: string; k: number }>();
            const calls: { handle: number; ids: string[] }[] = [];
            let n = 0;
            for (const o of ops) {
              if (Array.isArray(o)) {
                // Ids not in flight already (the ingest never adds a repeat), each once per call.
                const ids = [...new Set(o.map((x) => `id-${x}`))].filter((id) => !model.has(id));
                const value = `call-${n++}`;
                const handle = table.add(
                  listOf(ids, hash),
                  ids.map((_, i) => i),
                  value,
                );
                ids.forEach((id, k) => model.set(id, { value, k }));
                calls.push({ handle, ids });
              } else if (calls.length > 0) {
                const [call] = calls.splice(o % calls.length, 1);
                table.remove(call!.handle);
                for (const id of call!.ids) model.delete(id);
              }
              expect(table.size).toBe(model.size);
            }
            for (const x of probes)
              expect(findId(table, `id-${x}`, hash)).toEqual(model.get(`id-${x}`));
            for (const [id, want] of model) expect(findId(table, id, hash)).toEqual(want);
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('grows past its first capacity and keeps every entry', () => {
    const table = new InFlightIds<number>();
    const hash = hashes[0]![1];
    const ids = Array.from({ length: 40_000 }, (_, i) => `g-${i}`);
    const handles = [0, 1, 2, 3].map((c) =>
      table.add(
        listOf(ids.slice(c * 10_000, (c + 1) * 10_000), hash),
        Array.from({ length: 10_000 }, (_, k) => k),
        c,
      ),
    );
    expect(table.size).toBe(40_000);
    for (let i = 0; i < ids.length; i += 997) {
      expect(findId(table as unknown as InFlightIds<string>, ids[i]!, hash)).toEqual({
        value: Math.floor(i / 10_000),
        k: i % 10_000,
      });
    }
    table.remove(handles[1]!);
    expect(findId(table as unknown as InFlightIds<string>, 'g-15000', hash)).toBeUndefined();
    expect(findId(table as unknown as InFlightIds<string>, 'g-25000', hash)).toEqual({
      value: 2,
      k: 5000,
    });
  });
});
