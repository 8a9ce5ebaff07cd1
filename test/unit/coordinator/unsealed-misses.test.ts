import { describe, expect, it } from 'vitest';
import type { Settled } from '../../../src/clients/pool.ts';
import type { ShardObservation } from '../../../src/coordinator/shard-check.ts';
import { gapObservations, rememberMisses } from '../../../src/coordinator/unsealed-misses.ts';

const ok = { ok: true, value: { status: 'ok' } } as unknown as Settled<ShardObservation>;
const down: Settled<ShardObservation> = {
  ok: false,
  reason: 'connect ECONNREFUSED',
  timedOut: false,
};
const unsigned: Settled<ShardObservation> = {
  ok: true,
  value: { status: 'missing', reason: 'HTTP 503 checkpoint_unsigned' },
};
const forged: Settled<ShardObservation> = {
  ok: true,
  value: { status: 'unverified', reason: 'signature does not verify' },
};

describe('misses of rounds that could not be sealed', () => {
  it('nothing to remember while every shard answered', () => {
    expect(rememberMisses(undefined, [0, 1], [ok, ok])).toBeUndefined();
  });

  it("keeps each shard's first miss across failed rounds", () => {
    const first = rememberMisses(undefined, [0, 1, 2], [unsigned, ok, undefined]);
    const second = rememberMisses(first, [0, 1, 2], [down, forged, ok]);
    expect([...second!.entries()]).toEqual([
      [0, { status: 'missing', reason: 'HTTP 503 checkpoint_unsigned' }],
      [2, { status: 'missing', reason: 'not checked' }],
      [1, { status: 'unverified', reason: 'signature does not verify' }],
    ]);
  });

  it("the gap's root: remembered misses, this round's answers for the other shards", () => {
    const misses = rememberMisses(undefined, [0, 2], [unsigned, forged])!;
    const gap = gapObservations(misses, [0, 1, 2, 3], [ok, ok, ok, down]);
    expect(gap[1]).toBe(ok);
    expect(gap[3]).toBe(down);
    expect(gap[0]).toEqual({
      ok: true,
      value: {
        status: 'missing',
        reason: 'HTTP 503 checkpoint_unsigned (while the coordinator could not sign a global root)',
      },
    });
    expect(gap[2]).toMatchObject({ ok: true, value: { status: 'unverified' } });
  });
});
