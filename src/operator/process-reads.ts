// What the operator reads from the running processes over HTTP, through the shared client layer:
// each shard's checkpoint size, the coordinator's view of the shards, its latest global root and
// its missing shards, which routing table each process serves (a migration waits for it), and a
// signer's latest checkpoint (a key trim waits for it to carry the kept version).
// Kept behind one small interface so status planning sees plain data.
import { CoordinatorClient, ShardClient } from '../clients/index.ts';
import type { MissingReport } from '../clients/coordinator-api.ts';
import { parseCheckpointNote } from '../core/checkpoint.ts';
import { CodedError } from '../core/errors.ts';
import { epochTableHash } from '../core/routing.ts';
import type { CoordinatorShardView, GlobalRootView } from './plan/observation.ts';

export interface ProcessReader {
  /** Tree size of the shard's latest signed checkpoint. */
  shardTreeSize(shardUrl: string): Promise<number>;
  /** The coordinator's record of every shard (`GET /v1/shards`). */
  coordinatorShards(coordinatorUrl: string): Promise<Map<number, CoordinatorShardView>>;
  /** The latest global root, or undefined before the first. */
  latestGlobalRoot(coordinatorUrl: string): Promise<GlobalRootView | undefined>;
  /** Shards with open missed intervals and the latest reconstructions (`GET /v1/missing`). */
  coordinatorMissing(coordinatorUrl: string): Promise<MissingReport>;
  /** `epochTableHash` of the routing table the process serves (`GET /v1/routing`). */
  routingHash(url: string, role: 'shard' | 'coordinator'): Promise<string>;
  /** The signed note of the process's latest checkpoint (`GET /v1/checkpoint`). */
  latestCheckpoint(url: string, role: 'shard' | 'coordinator'): Promise<string>;
}

export class ProcessReadError extends CodedError<'bad_checkpoint'> {
  override name = 'ProcessReadError';
}

/** ProcessReader over HTTP with a per-request time limit. */
export function httpProcessReader(timeoutMs = 2_000): ProcessReader {
  return {
    async shardTreeSize(shardUrl) {
      const note = await new ShardClient(shardUrl, timeoutMs).latestCheckpoint();
      try {
        return parseCheckpointNote(note).size;
      } catch (err) {
        throw new ProcessReadError(
          'bad_checkpoint',
          `${shardUrl}/v1/checkpoint: not a checkpoint: ${(err as Error).message}`,
        );
      }
    },
    async coordinatorShards(coordinatorUrl) {
      const listing = await new CoordinatorClient(coordinatorUrl, timeoutMs).shards();
      return new Map(
        listing.map((s) => [
          s.shard_id,
          {
            status: s.status,
            reason: s.reason,
            sealedSize: s.sealed_size,
            sealedRoot: s.sealed_root,
            sealedCheckpointNs: s.sealed_checkpoint_ns,
            openIntervals: s.open_intervals,
          },
        ]),
      );
    },
    coordinatorMissing(coordinatorUrl) {
      return new CoordinatorClient(coordinatorUrl, timeoutMs).missing();
    },
    async latestGlobalRoot(coordinatorUrl) {
      const entry = await new CoordinatorClient(coordinatorUrl, timeoutMs).latestGlobalRoot();
      if (entry === undefined) return undefined;
      const r = entry.record;
      return { id: r.global_root_id, root: r.global_merkle_root, timestampNs: r.timestamp_ns };
    },
    async routingHash(url, role) {
      const table =
        role === 'shard'
          ? await new ShardClient(url, timeoutMs).routing()
          : await new CoordinatorClient(url, timeoutMs).routing();
      return epochTableHash(table);
    },
    latestCheckpoint(url, role) {
      return role === 'shard'
        ? new ShardClient(url, timeoutMs).latestCheckpoint()
        : new CoordinatorClient(url, timeoutMs).latestCheckpoint();
    },
  };
}
