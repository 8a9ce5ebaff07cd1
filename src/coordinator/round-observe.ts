// Observing one round: every covered shard's latest checkpoint fetched and verified at once,
// within a bounded pool and the round's deadline. One bad shard gives one `missing` or
// `unverified` observation, never a failed round.
import { mapPool } from '../clients/pool.ts';
import type { Settled } from '../clients/pool.ts';
import { shardUrl } from '../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import { keysForOrigin } from '../clients/trust.ts';
import type { TrustBundle } from '../clients/trust.ts';
import { shardOrigin } from '../core/checkpoint.ts';
import { checkShard } from './shard-check.ts';
import type { CheckpointVerification, ShardObservation, ShardReader } from './shard-check.ts';
import type { CoordinatorState } from './state.ts';

export interface ObserveContext {
  namespace: string;
  cluster: string;
  shards: ShardDirectory;
  trust: TrustBundle;
  /** The coordinator's clock when the round started: which keys are valid. */
  nowNs: bigint;
  state: Pick<CoordinatorState, 'shards'>;
  readerFor(id: number, url: string): ShardReader;
  verification: CheckpointVerification;
  concurrency: number;
  shardTimeoutMs: number;
  /** Absolute time (Date.now clock) after which no fetch may still run. */
  deadlineMs: number;
  stop: AbortSignal;
}

/** One observation (or why there is none) per id, in the order of `ids`. */
export function observeShards(
  ids: readonly number[],
  ctx: ObserveContext,
): Promise<Settled<ShardObservation>[]> {
  return mapPool(
    ids,
    (id, signal) => {
      const url = shardUrl(ctx.shards, id);
      if (url === undefined) {
        return Promise.resolve<ShardObservation>({
          status: 'missing',
          reason: `no URL configured for shard ${id}`,
        });
      }
      const origin = shardOrigin(ctx.namespace, ctx.cluster, id);
      return checkShard(
        ctx.readerFor(id, url),
        origin,
        keysForOrigin(ctx.trust, origin, ctx.nowNs),
        ctx.state.shards.get(id)?.sealed,
        ctx.verification,
        signal,
      );
    },
    {
      concurrency: ctx.concurrency,
      itemTimeoutMs: ctx.shardTimeoutMs,
      deadlineMs: ctx.deadlineMs,
      now: Date.now,
      stop: ctx.stop,
    },
  );
}
