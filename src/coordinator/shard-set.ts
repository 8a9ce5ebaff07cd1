// Which shards a round aggregates: every shard of the routing epoch in force, plus every
// shard retired by a later epoch until a checkpoint it signed at or after the boundary has been
// sealed (it signs one once retired and appends nothing after, so that checkpoint covers every
// record it acknowledged; a round merely ending after the boundary proves nothing).

import { epochAt, validateEpochTable } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import { WatchedJsonFile } from './watched-file.ts';
import type { ReloadListener } from './watched-file.ts';
import type { CoordinatorState } from './state.ts';

export function openRoutingFile(
  path: string,
  onReload?: ReloadListener,
): WatchedJsonFile<EpochTable> {
  return new WatchedJsonFile(path, validateEpochTable, 'bad_routing', onReload);
}

const cmpNs = (a: string, b: string): number =>
  a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;

/** Shard ids to aggregate at `nowNs`, ascending. */
export function shardsToAggregate(
  table: EpochTable,
  nowNs: bigint,
  state: CoordinatorState,
): number[] {
  const now = nowNs.toString();
  const first = table.epochs[0];
  if (first === undefined) return [];
  // Before the first epoch takes effect, its shards are the ones that will receive records.
  const current = cmpNs(first.effective_from_ns, now) > 0 ? first : epochAt(table, now);
  const ids = new Set<number>();
  for (let i = 0; i < current.shards; i++) ids.add(i);
  // A shard leaves when an epoch with fewer shards takes effect; remember when that was.
  const retiredAt = new Map<number, string>();
  let prevShards = 0;
  for (const e of table.epochs) {
    if (cmpNs(e.effective_from_ns, now) > 0) break;
    for (let i = e.shards; i < prevShards; i++)
      if (!retiredAt.has(i)) retiredAt.set(i, e.effective_from_ns);
    for (let i = 0; i < e.shards; i++) retiredAt.delete(i);
    prevShards = Math.max(prevShards, e.shards);
  }
  for (const [id, at] of retiredAt) {
    if (ids.has(id)) continue;
    const s = state.shards.get(id);
    const done =
      s !== undefined &&
      s.open.length === 0 &&
      s.sealed?.checkpointNs !== undefined &&
      cmpNs(s.sealed.checkpointNs, at) >= 0;
    if (!done) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
