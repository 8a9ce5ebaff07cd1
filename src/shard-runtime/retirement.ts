// Whether the routing epoch in force now has retired this shard: it was in an epoch already in
// force, and the one in force now no longer includes it. A retired shard appends nothing more and
// signs one last checkpoint dated at or after the boundary, so that everything it acknowledged is
// covered by a checkpoint the coordinator can seal before it stops collecting from the shard.
import { compareU64Text } from '../core/decision/timestamp.ts';
import type { EpochTable } from '../core/routing.ts';

export interface Retirement {
  /** The epoch in force now (which has no shard with this id). */
  epoch: number;
  /** effective_from_ns of the epoch that retired the shard (the boundary). */
  retiredFromNs: string;
}

/** The retirement of shard `shardId` at `nowNs`, or undefined while it is live or not yet used. */
export function retirementAt(
  table: EpochTable,
  shardId: number,
  nowNs: string,
): Retirement | undefined {
  let included = false;
  let retiredFromNs: string | undefined;
  let epoch: number | undefined;
  for (const e of table.epochs) {
    if (compareU64Text(e.effective_from_ns, nowNs) > 0) break;
    epoch = e.epoch;
    if (shardId < e.shards) {
      included = true;
      retiredFromNs = undefined;
    } else if (included && retiredFromNs === undefined) {
      retiredFromNs = e.effective_from_ns;
    }
  }
  return epoch !== undefined && retiredFromNs !== undefined ? { epoch, retiredFromNs } : undefined;
}
