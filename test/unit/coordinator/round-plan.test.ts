// Planning a round is pure: the same shard ids, observations, state and interval end always
// give the same records to seal. The state here is built by hand, not by running a round.
import { describe, expect, it } from 'vitest';
import { initialEpochTable } from '../../../src/cli/client/local-cluster.ts';
import { planRound, summarizeRound } from '../../../src/coordinator/round-plan.ts';
import type { RoundInput } from '../../../src/coordinator/round-plan.ts';
import type { ShardObservation } from '../../../src/coordinator/shard-check.ts';
import type { ShardState } from '../../../src/coordinator/state.ts';

const root = (b: number): Uint8Array => new Uint8Array(32).fill(b);

function ok(size: number): { ok: true; value: ShardObservation } {
  return {
    ok: true,
    value: {
      status: 'ok',
      checkpoint: { size, root: root(size), note: `note ${size}` },
      consistency: [],
    },
  };
}

const missedOnce = {
  global_root_id: 6,
  interval_start_ns: '100',
  interval_end_ns: '200',
  status: 'missing' as const,
  reason: 'timeout',
};

function input(over: Partial<RoundInput> = {}): RoundInput {
  const shards = new Map<number, ShardState>([
    [
      0,
      {
        sealed: {
          size: 10,
          root: root(10),
          index: 3,
          sealedAtNs: '200',
          checkpointNs: undefined,
        },
        open: [],
        lastStatus: 'ok',
        lastReason: undefined,
      },
    ],
    [1, { sealed: undefined, open: [missedOnce], lastStatus: 'missing', lastReason: 'timeout' }],
  ]);
  return {
    ids: [0, 1, 2],
    observations: [ok(25), ok(4), { ok: false, reason: 'no answer within 500 ms', timedOut: true }],
    state: {
      shards,
      nextId: 7,
      lastRoot: { id: 6, index: 3, root: 'ab'.repeat(32), interval_end_ns: '200' },
    },
    routing: initialEpochTable(3),
    intervalStartNs: '200',
    endNs: 300n,
    ...over,
  };
}

describe('planRound', () => {
  it('plans one global root over every shard, and a reconstruction for a shard that came back', () => {
    const plan = planRound(input());
    expect(plan.intervalEndNs).toBe('300');
    expect(plan.prevGlobalRoot).toBe('ab'.repeat(32));
    expect(plan.globalRoot).toMatchObject({
      id: 7,
      timestampNs: '300',
      intervalStartNs: '200',
      intervalEndNs: '300',
      prevGlobalRoot: 'ab'.repeat(32),
    });
    expect(plan.shards.map((r) => [r.shard_id, r.observation.status])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
      [2, 'missing'],
    ]);
    expect(plan.shards[0]?.sealed?.size).toBe(10);
    expect(plan.shards[2]?.observation).toEqual({
      status: 'missing',
      reason: 'no answer within 500 ms',
    });
    expect(plan.reconstructions.map((r) => [r.shard_id, r.open])).toEqual([[1, [missedOnce]]]);
    expect(planRound(input())).toEqual(plan);
  });

  it('never ends an interval before it started, even if the clock stepped back', () => {
    expect(planRound(input({ endNs: 150n })).intervalEndNs).toBe('200');
  });

  it('marks a shard with no result as missing, and plans the first root with no previous one', () => {
    const plan = planRound(
      input({
        observations: [ok(25)],
        state: { shards: new Map(), nextId: 0, lastRoot: undefined },
      }),
    );
    expect(plan.globalRoot.id).toBe(0);
    expect(plan.prevGlobalRoot).toBeNull();
    expect(plan.shards[1]?.observation).toEqual({ status: 'missing', reason: 'not checked' });
    expect(plan.reconstructions).toEqual([]);
  });
});

describe('summarizeRound', () => {
  it('counts statuses and the records sealed since each shard was last sealed', () => {
    expect(summarizeRound(planRound(input()))).toEqual({
      statuses: { 0: 'ok', 1: 'ok', 2: 'missing' },
      counts: { ok: 2, missing: 1, unverified: 0 },
      newRecords: 25 - 10 + 4,
      unsealed: [{ shard_id: 2, status: 'missing', reason: 'no answer within 500 ms' }],
    });
  });
});
