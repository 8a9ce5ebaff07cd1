import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { earliestAtLeast } from '../../../src/coordinator/seal-search.ts';

describe('earliestAtLeast', () => {
  it('finds the first id at or past a size in a non-decreasing sequence, in O(log n) reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(5), { minLength: 1, maxLength: 200 }),
        fc.nat(600),
        async (steps, want) => {
          const sizes: number[] = [];
          steps.reduce((acc, d) => (sizes.push(acc + d), acc + d), 0);
          let reads = 0;
          const got = await earliestAtLeast(0, sizes.length - 1, want, (id) => {
            reads++;
            return Promise.resolve(sizes[id] as number);
          });
          const expected = sizes.findIndex((s) => s >= want);
          expect(got).toBe(expected < 0 ? undefined : expected);
          expect(reads).toBeLessThanOrEqual(Math.ceil(Math.log2(sizes.length)) + 2);
        },
      ),
    );
  });

  it('searches only inside the given range', async () => {
    const sizes = [1, 2, 3, 4, 5, 6];
    const at = (id: number) => Promise.resolve(sizes[id] as number);
    expect(await earliestAtLeast(3, 5, 1, at)).toBe(3);
    expect(await earliestAtLeast(0, 2, 4, at)).toBeUndefined();
    expect(await earliestAtLeast(4, 3, 1, at)).toBeUndefined();
  });
});
