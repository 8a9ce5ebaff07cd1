// The shard runtime: one AgDR shard (durable Merkle log of decisions with an HTTP API).
export { startShard, defaultWorkers, ShardStartError, type RunningShard } from './shard.ts';
export {
  DEFAULT_SHARD_LIMITS,
  MAX_INDEXABLE_ID_LENGTH,
  SHARD_DEFAULTS,
  ShardConfigError,
  shardConfig,
  type ShardConfig,
  type ShardLimits,
  type ShardOptions,
} from './config.ts';
export type { Receipt } from './ingest.ts';
export { RoutingTableError } from './routing-table.ts';
export {
  AUTH_MODES,
  CallerAuthError,
  READ_ACCESS,
  checkCallerAuthConfig,
  type AuthMode,
  type CallerAuthConfig,
  type ReadAccess,
} from './caller-auth.ts';
export { BodyBudget } from './request-body.ts';
