// The client layer's public surface: what the coordinator, the CLI and the operator use to
// talk to running shards and coordinators (docs/ARCHITECTURE.md, "Clients").
export {
  CoordinatorClient,
  shardUrls,
  type GlobalLogEntry,
  type ShardListing,
} from './coordinator-api.ts';
export { ShardClient, type ShardReceipt, type ShardRecord } from './shard-api.ts';
export { checkToken, tokenFile, type TokenSource } from './bearer-token.ts';
export { ClientError, HttpError, type ClientErrorCode } from './errors.ts';
export { getJson, getText, joinUrl, postBody, redactUrl, request } from './http.ts';
export type { HttpResponse, RequestOptions } from './http.ts';
export { mapPool, ItemTimeoutError, type PoolOptions, type Settled } from './pool.ts';
export {
  parseShardDirectory,
  shardUrl,
  type ShardDirectory,
  type ShardEndpoint,
} from './shard-endpoints.ts';
export {
  keysForOrigin,
  trustedKey,
  validateTrustBundle,
  type TrustBundle,
  type TrustedKey,
} from './trust.ts';
