// Reporting a sealed round: metrics, one log line per unsealed shard and one for the round,
// and the RoundResult callers (agdr local's console line, tests, benchmarks) get.
import type { Logger } from 'pino';
import type { CoordinatorMetrics } from './metrics.ts';
import type { RoundPlan } from './round-plan.ts';
import { summarizeRound } from './round-plan.ts';
import type { ShardObservation } from './shard-check.ts';

export interface RoundResult {
  globalRootId: number;
  /** global_merkle_root of the record, lowercase hex. */
  globalMerkleRoot: string;
  totalRecords: number;
  logSize: number;
  statuses: Record<number, ShardObservation['status']>;
  reconstructions: number[];
  durationMs: number;
}

export interface SealedRound {
  plan: RoundPlan;
  globalMerkleRoot: string;
  logSize: number;
  openMissedIntervals: number;
  durationMs: number;
}

export function reportRound(
  sealed: SealedRound,
  metrics: CoordinatorMetrics,
  logger: Logger,
): RoundResult {
  const { plan, durationMs } = sealed;
  const summary = summarizeRound(plan);
  for (const u of summary.unsealed) {
    logger.warn(
      { shard_id: u.shard_id, status: u.status, reason: u.reason },
      'shard not sealed this interval',
    );
  }
  for (const status of ['ok', 'missing', 'unverified'] as const)
    metrics.shards.set({ status }, summary.counts[status]);
  const reconstructed = plan.reconstructions.map((r) => r.shard_id);
  metrics.intervalDuration.observe(durationMs / 1000);
  metrics.rounds.inc({ result: 'sealed' });
  metrics.reconstructions.inc(reconstructed.length);
  metrics.globalLogSize.set(sealed.logSize);
  metrics.openMissedIntervals.set(sealed.openMissedIntervals);
  const id = plan.globalRoot.id;
  logger.info(
    {
      global_root_id: id,
      log_size: sealed.logSize,
      ...summary.counts,
      reconstructed,
      duration_ms: durationMs,
    },
    'global root sealed',
  );
  return {
    globalRootId: id,
    globalMerkleRoot: sealed.globalMerkleRoot,
    totalRecords: summary.newRecords,
    logSize: sealed.logSize,
    statuses: summary.statuses,
    reconstructions: reconstructed,
    durationMs,
  };
}
