import { describe, expect, it } from 'vitest';
import { Lane } from '../../../src/client/lane.ts';
import { HeldDecision } from '../../../src/client/prepare.ts';
import { SlabPool } from '../../../src/client/slabs.ts';

const item = (n: number, size = 10): HeldDecision =>
  new HeldDecision(new Uint8Array(size), `r${n}`, undefined as never);

function lane(limits: Partial<ConstructorParameters<typeof Lane>[2]> = {}) {
  const sent: string[][] = [];
  const answers: (() => void)[] = [];
  const l = new Lane(
    0,
    'http://x',
    { lingerMs: 5, maxBatchDecisions: 3, maxBatchBytes: 1000, maxRequests: 1, ...limits },
    (_lane, batch) => {
      sent.push(batch.map((b) => b.recordId));
      return new Promise<void>((resolve) => answers.push(resolve));
    },
    new SlabPool(4),
  );
  return { l, sent, answers };
}
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Lane (one shard’s batching)', () => {
  it('sends a lone decision after the linger time, a full batch at once', async () => {
    const { l, sent } = lane({ maxRequests: 4 });
    l.push(item(1));
    expect(sent).toEqual([]);
    await tick(20);
    expect(sent).toEqual([['r1']]);
    for (const n of [2, 3, 4]) l.push(item(n));
    expect(sent).toEqual([['r1'], ['r2', 'r3', 'r4']]);
  });

  it('cuts batches by bytes, and sends what queued while a request was out as one batch', async () => {
    const { l, sent, answers } = lane({ maxBatchDecisions: 100, maxBatchBytes: 25 });
    l.push(item(1));
    await tick(20);
    for (const n of [2, 3, 4, 5]) l.push(item(n));
    // One request in flight at most: everything else waits for it.
    expect(sent).toEqual([['r1']]);
    answers.shift()?.();
    await tick(0);
    // 11 bytes a line (with its newline): two fit in 25.
    expect(sent).toEqual([['r1'], ['r2', 'r3']]);
    answers.shift()?.();
    await tick(0);
    expect(sent.at(-1)).toEqual(['r4', 'r5']);
    expect(l.idle).toBe(false);
    answers.shift()?.();
    await tick(0);
    expect(l.idle).toBe(true);
  });

  it('sends every queued decision once, in order, however long the queue grew', async () => {
    // A shard that answers slowly lets thousands queue; each batch taken from the front must
    // leave the rest as they were (the queue drops its sent front now and then, not per batch).
    const { l, sent, answers } = lane({ maxBatchDecisions: 7, maxRequests: 1 });
    const n = 12_000;
    for (let i = 0; i < n; i++) l.push(item(i));
    while (answers.length > 0) {
      answers.shift()?.();
      await new Promise(setImmediate);
    }
    expect(sent.every((b) => b.length <= 7)).toBe(true);
    expect(sent.flat()).toEqual(Array.from({ length: n }, (_, i) => `r${i}`));
    expect(l.idle).toBe(true);
  });

  it('sends a decision bigger than the byte limit alone', async () => {
    const { l, sent } = lane({ maxBatchBytes: 50, maxRequests: 2 });
    l.push(item(1, 100));
    l.push(item(2, 5));
    expect(sent).toEqual([['r1']]);
    await tick(20);
    expect(sent).toEqual([['r1'], ['r2']]);
  });
});
