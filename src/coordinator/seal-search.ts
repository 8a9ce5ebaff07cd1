// Finding the global root that sealed a shard at a given size, without an index that grows
// with history: in the global roots where a shard appears, its entry's tree_size never
// decreases (an ok entry seals a larger or equal size; a missing or unverified entry repeats the
// last sealed one), so a binary search over global root ids finds the first one at or past a size.

/**
 * The smallest id in [from, to] with sizeAt(id) >= minSize, or undefined; sizeAt must be
 * non-decreasing on the range. Reads O(log(to - from)) sizes.
 */
export async function earliestAtLeast(
  from: number,
  to: number,
  minSize: number,
  sizeAt: (id: number) => Promise<number>,
): Promise<number | undefined> {
  if (from > to || (await sizeAt(to)) < minSize) return undefined;
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if ((await sizeAt(mid)) >= minSize) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
