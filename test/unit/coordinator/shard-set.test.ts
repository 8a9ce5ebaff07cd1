import { describe, expect, it } from 'vitest';
import { shardsToAggregate } from '../../../src/coordinator/shard-set.ts';
import { CoordinatorState } from '../../../src/coordinator/state.ts';
import type { EpochTable, RoutingEpoch } from '../../../src/core/routing.ts';

const epoch = (n: number, shards: number, from: string): RoutingEpoch => ({
  epoch: n,
  strategy: 'hash-by-entity',
  bucket: 'jump',
  shards,
  params: {},
  effective_from_ns: from,
});

describe('shardsToAggregate', () => {
  it('takes the shards of the epoch in force (or the first, before it starts)', () => {
    const table: EpochTable = { epochs: [epoch(0, 2, '100'), epoch(1, 4, '200')] };
    const st = new CoordinatorState();
    expect(shardsToAggregate(table, 50n, st)).toEqual([0, 1]);
    expect(shardsToAggregate(table, 150n, st)).toEqual([0, 1]);
    expect(shardsToAggregate(table, 250n, st)).toEqual([0, 1, 2, 3]);
  });

  it('keeps a retired shard until it is sealed after its retirement with nothing open', () => {
    const table: EpochTable = { epochs: [epoch(0, 3, '0'), epoch(1, 2, '1000')] };
    const st = new CoordinatorState();
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1, 2]);
    st.apply(0, {
      kind: 'global_root',
      id: 0,
      interval_start_ns: '0',
      interval_end_ns: '900',
      root: '00'.repeat(32),
      shards: [{ shard_id: 2, status: 'ok', size: 1, root: new Uint8Array(32) }],
    });
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1, 2]);
    st.apply(1, {
      kind: 'global_root',
      id: 1,
      interval_start_ns: '900',
      interval_end_ns: '1900',
      root: '00'.repeat(32),
      shards: [{ shard_id: 2, status: 'ok', size: 1, root: new Uint8Array(32) }],
    });
    expect(shardsToAggregate(table, 2000n, st)).toEqual([0, 1]);
  });
});
