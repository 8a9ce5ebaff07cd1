import { describe, expect, it } from 'vitest';
import { CoordinatorState } from '../../../src/coordinator/state.ts';
import type { EntryFacts, ShardFact } from '../../../src/coordinator/state.ts';

const root = (b: number): Uint8Array => new Uint8Array(32).fill(b);

function globalRoot(id: number, shards: ShardFact[]): EntryFacts {
  return {
    kind: 'global_root',
    id,
    interval_start_ns: String(id * 1000),
    interval_end_ns: String((id + 1) * 1000),
    root: 'ab'.repeat(32),
    shards,
  };
}

describe('CoordinatorState', () => {
  it('tracks sealed checkpoints, open missed intervals and their reconstruction', () => {
    const st = new CoordinatorState();
    st.apply(
      0,
      globalRoot(0, [
        { shard_id: 0, status: 'ok', size: 5, root: root(1) },
        { shard_id: 1, status: 'ok', size: 3, root: root(2) },
      ]),
    );
    st.apply(
      1,
      globalRoot(1, [
        { shard_id: 0, status: 'ok', size: 9, root: root(3) },
        { shard_id: 1, status: 'missing', reason: 'connection refused' },
      ]),
    );
    st.apply(
      2,
      globalRoot(2, [
        { shard_id: 0, status: 'ok', size: 9, root: root(3) },
        { shard_id: 1, status: 'unverified', reason: 'fork' },
      ]),
    );
    expect(st.nextId).toBe(3);
    expect(st.shard(1).sealed).toMatchObject({ size: 3, index: 0, sealedAtNs: '1000' });
    expect(st.shard(1).open.map((m) => [m.global_root_id, m.status])).toEqual([
      [1, 'missing'],
      [2, 'unverified'],
    ]);
    expect(st.openIntervalCount()).toBe(2);

    st.apply(3, {
      kind: 'reconstruction',
      shard_id: 1,
      missed: [1, 2],
      size: 7,
      root: root(4),
      timestamp_ns: '3500',
    });
    st.apply(
      4,
      globalRoot(3, [
        { shard_id: 0, status: 'ok', size: 9, root: root(3) },
        { shard_id: 1, status: 'ok', size: 7, root: root(4) },
      ]),
    );
    expect(st.shard(1).open).toEqual([]);
    expect(st.shard(1).sealed).toMatchObject({ size: 7, index: 4 });
    expect(st.reconstructions).toEqual([
      {
        index: 3,
        shard_id: 1,
        size: 7,
        missed: expect.arrayContaining([expect.objectContaining({ global_root_id: 1 })]),
      },
    ]);
    expect([0, 1, 2, 3, 4].map((id) => st.rootIndex.at(id))).toEqual([0, 1, 2, 4, undefined]);
    expect(st.rootIndex.runs).toEqual([
      { id: 0, index: 0 },
      { id: 3, index: 4 },
    ]);
    expect(st.missingReport().open).toEqual([]);
  });

  it('records the runs of global roots each shard appears in', () => {
    const st = new CoordinatorState();
    const present = [[0], [0, 1], [0, 1], [0], [0, 1]];
    present.forEach((ids, i) =>
      st.apply(
        i,
        globalRoot(
          i,
          ids.map((id) => ({ shard_id: id, status: 'ok', size: i, root: root(i) })),
        ),
      ),
    );
    expect(st.presence.get(0)).toEqual([{ from: 0, to: 4 }]);
    expect(st.presence.get(1)).toEqual([
      { from: 1, to: 2 },
      { from: 4, to: 4 },
    ]);
  });

  it('refuses entries out of order or with a gap in global root ids', () => {
    const st = new CoordinatorState();
    expect(() => st.apply(1, globalRoot(0, []))).toThrow(RangeError);
    st.apply(0, globalRoot(0, []));
    expect(() => st.apply(1, globalRoot(2, []))).toThrow(/expected 1/);
  });
});
