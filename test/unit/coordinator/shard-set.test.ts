import { describe, expect, it } from 'vitest';
import { shardsToAggregate } from '../../../src/coordinator/shard-set.ts';
import { CoordinatorState } from '../../../src/coordinator/state.ts';
import type { EpochTable } from '../../../src/core/routing.ts';
import { epoch } from '../shard-runtime/epochs.ts';

describe('shardsToAggregate', () => {
  it('takes the shards of the epoch in force (or the first, before it starts)', () => {
    const table: EpochTable = { epochs: [epoch(0, 2, '100'), epoch(1, 4, '200')] };
    const st = new CoordinatorState();
    expect(shardsToAggregate(table, 50n, st)).toEqual([0, 1]);
    expect(shardsToAggregate(table, 150n, st)).toEqual([0, 1]);
    expect(shardsToAggregate(table, 250n, st)).toEqual([0, 1, 2, 3]);
  });

  // One global root sealing shard 2 (ok) with a checkpoint signed at `checkpointNs`.
  const sealRoot = (
    st: CoordinatorState,
    id: number,
    start: string,
    end: string,
    checkpointNs?: string,
  ): void =>
    st.apply(id, {
      kind: 'global_root',
      id,
      interval_start_ns: start,
      interval_end_ns: end,
      root: '00'.repeat(32),
      shards: [
        {
          shard_id: 2,
          status: 'ok',
          size: 1,
          root: new Uint8Array(32),
          ...(checkpointNs !== undefined ? { checkpoint_ns: checkpointNs } : {}),
        },
      ],
    });

  it('keeps a retired shard until a checkpoint it signed at or after the boundary is sealed', () => {
    const table: EpochTable = { epochs: [epoch(0, 3, '0'), epoch(1, 2, '1000')] };
    const st = new CoordinatorState();
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1, 2]);
    sealRoot(st, 0, '0', '900', '850');
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1, 2]);
    // A round that ended after the boundary but sealed a checkpoint signed before it: not yet.
    sealRoot(st, 1, '900', '1900', '990');
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1, 2]);
    // A checkpoint without a timestamp proves nothing about the boundary.
    sealRoot(st, 2, '1900', '2900');
    expect(shardsToAggregate(table, 3000n, st)).toEqual([0, 1, 2]);
    // Signed exactly at the boundary: the shard appended nothing after it.
    sealRoot(st, 3, '2900', '3900', '1000');
    expect(shardsToAggregate(table, 4000n, st)).toEqual([0, 1]);
  });

  it('keeps a retired shard while an interval of it is open, even after a late seal', () => {
    const table: EpochTable = { epochs: [epoch(0, 3, '0'), epoch(1, 2, '1000')] };
    const st = new CoordinatorState();
    st.apply(0, {
      kind: 'global_root',
      id: 0,
      interval_start_ns: '0',
      interval_end_ns: '900',
      root: '00'.repeat(32),
      shards: [{ shard_id: 2, status: 'missing', reason: 'down' }],
    });
    sealRoot(st, 1, '900', '1900', '1500');
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1, 2]);
    st.apply(2, {
      kind: 'reconstruction',
      shard_id: 2,
      missed: [0],
      size: 1,
      root: new Uint8Array(32),
      timestamp_ns: '2100',
      checkpoint_ns: '1500',
    });
    expect(shardsToAggregate(table, 2200n, st)).toEqual([0, 1]);
  });
});
