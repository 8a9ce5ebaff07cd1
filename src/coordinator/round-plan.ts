// Planning one round, purely: from the shard ids the round covers, what was observed of each,
// the state before the round and the interval's end, which records to seal. No clock, no
// network, no log: the same inputs always give the same plan (tests build them by hand).
import type { Settled } from '../clients/pool.ts';
import type { EpochTable } from '../core/routing.ts';
import type { GlobalRootRound, ShardRound } from './records.ts';
import type { ShardObservation } from './shard-check.ts';
import type { CoordinatorState } from './state.ts';

export interface RoundPlan {
  /** The interval this round's global root covers. */
  intervalStartNs: string;
  intervalEndNs: string;
  /** global_merkle_root of the previous global root; null for the first. */
  prevGlobalRoot: string | null;
  /** Every covered shard, in id order: what was observed and what was held before. */
  shards: ShardRound[];
  /** Shards verified again after missed intervals: each gets a reconstruction record first. */
  reconstructions: ShardRound[];
  /** The global root record to sign, after the reconstruction records. */
  globalRoot: GlobalRootRound;
}

export interface RoundInput {
  ids: readonly number[];
  /** One per id, in the same order (a pool result: a value or why there is none). */
  observations: readonly (Settled<ShardObservation> | undefined)[];
  state: Pick<CoordinatorState, 'shards' | 'nextId' | 'lastRoot'>;
  routing: EpochTable;
  intervalStartNs: string;
  /** The coordinator's clock at the end of the round. */
  endNs: bigint;
}

export function planRound(input: RoundInput): RoundPlan {
  // An interval never ends before it started, even if the wall clock stepped back.
  const startNs = BigInt(input.intervalStartNs);
  const intervalEndNs = (input.endNs > startNs ? input.endNs : startNs).toString();
  const shards = input.ids.map((id, i): ShardRound => {
    const r = input.observations[i];
    const observation: ShardObservation =
      r === undefined
        ? { status: 'missing', reason: 'not checked' }
        : r.ok
          ? r.value
          : { status: 'missing', reason: r.reason };
    const s = input.state.shards.get(id);
    return { shard_id: id, observation, sealed: s?.sealed, open: s?.open ?? [] };
  });
  const prevGlobalRoot = input.state.lastRoot?.root ?? null;
  return {
    intervalStartNs: input.intervalStartNs,
    intervalEndNs,
    prevGlobalRoot,
    shards,
    reconstructions: shards.filter((r) => r.observation.status === 'ok' && r.open.length > 0),
    globalRoot: {
      id: input.state.nextId,
      timestampNs: intervalEndNs,
      intervalStartNs: input.intervalStartNs,
      intervalEndNs,
      prevGlobalRoot,
      routing: input.routing,
      shards,
    },
  };
}

export interface RoundSummary {
  statuses: Record<number, ShardObservation['status']>;
  counts: Record<ShardObservation['status'], number>;
  /** Records newly sealed: the growth of every ok shard since its last seal. */
  newRecords: number;
  /** The shards not sealed this interval, with why. */
  unsealed: { shard_id: number; status: 'missing' | 'unverified'; reason: string }[];
}

/** What a sealed round reports: per-shard statuses, counts and newly sealed records. */
export function summarizeRound(plan: RoundPlan): RoundSummary {
  const statuses: Record<number, ShardObservation['status']> = {};
  const counts = { ok: 0, missing: 0, unverified: 0 };
  const unsealed: RoundSummary['unsealed'] = [];
  let newRecords = 0;
  for (const r of plan.shards) {
    const o = r.observation;
    statuses[r.shard_id] = o.status;
    counts[o.status]++;
    if (o.status === 'ok') newRecords += o.checkpoint.size - (r.sealed?.size ?? 0);
    else unsealed.push({ shard_id: r.shard_id, status: o.status, reason: o.reason });
  }
  return { statuses, counts, newRecords, unsealed };
}
