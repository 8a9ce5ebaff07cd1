// The library's value types: receipts, per-decision outcomes, options.
import type { ShardReceipt } from '../clients/shard-api.ts';
import type { EpochTable } from '../core/routing.ts';
import type { ShardEndpoint } from '../clients/shard-endpoints.ts';
import type { BackoffPolicy } from './backoff.ts';
import type { SubmitError } from './errors.ts';

/**
 * A shard's acknowledgement: the decision is durable (fdatasync'ed) in shard `shard_id`'s log at
 * leaf `seq`, whose envelope hashes to `leaf_hash`.
 */
export type Receipt = ShardReceipt;

/** What `submitMany` yields per input item, as each settles; `index` is its 0-based position. */
export type SubmitOutcome =
  { index: number; ok: true; receipt: Receipt } | { index: number; ok: false; error: SubmitError };

/** A bearer token, or a function giving the current one (called for every request). */
export type TokenOption = string | (() => string | Promise<string>);

export interface AgdrClientOptions {
  /** The coordinator: the routing table and the shard URLs come from it. */
  coordinator?: string;
  /**
   * Or the shards themselves: URLs in shard-id order, `{id, url}` pairs, or one URL template
   * with `{i}` (e.g. `http://agdr-shard-{i}.agdr-shard:7070`).
   */
  shards?: string | readonly string[] | readonly ShardEndpoint[];
  /** With `shards`: the routing epoch table (default: the one shard 0 serves). */
  routing?: EpochTable;
  /**
   * Sent as `Authorization: Bearer <token>` with every request to a shard; a function is asked
   * anew for each request (a projected ServiceAccount token rotates in place).
   */
  token?: TokenOption;
  /** How long a decision waits for company before its batch goes (default 5 ms). */
  lingerMs?: number;
  /** Decisions per request at most (default 2000; a shard takes 20,000 by default). */
  maxBatchDecisions?: number;
  /** Body bytes per request at most (default 4 MiB; a shard takes 64 MiB by default). */
  maxBatchBytes?: number;
  /** Requests in flight per shard (default 2). */
  requestsPerShard?: number;
  /** Canonical bytes of decisions submitted and not yet settled, at most (default 32 MiB). */
  maxInFlightBytes?: number;
  /** Per-request time limit (default 60 s). */
  timeoutMs?: number;
  /** How long one decision is retried (503, connection errors, stale routing) (default 120 s). */
  retryForMs?: number;
  /** Retry delays: exponential with full jitter (default 100 ms doubling up to 5 s). */
  backoff?: BackoffPolicy;
}
