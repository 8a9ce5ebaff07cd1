// The shard's configuration: built once by `agdr shard` (or an embedding runner) and passed down.
import { CodedError } from '../core/errors.ts';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DecisionLimits } from '../core/decision.ts';
import type { Signer } from '../core/signer.ts';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '../http-server/server-limits.ts';
import { DEFAULT_BATCH_BYTES } from '../log-store/index.ts';
import { NO_CALLER_AUTH, type CallerAuthConfig } from './caller-auth.ts';
import type { BodyBudget } from './request-body.ts';

export interface ShardLimits extends ServerLimits {
  /** Largest POST /v1/decisions body, bytes. */
  maxBodyBytes: number;
  /** Largest POST /v1/decisions:batch body, bytes. */
  maxBatchBodyBytes: number;
  /** Most NDJSON lines in one batch request. */
  maxBatchLines: number;
  /** Field and record limits applied to every decision. */
  decision: Partial<DecisionLimits>;
  /**
   * Request body bytes held in memory at once by the process (all requests, all connections;
   * one connection reads one body at a time, so it holds at most the largest body limit).
   */
  maxInflightBodyBytes: number;
  /** A request body that sends nothing for this long is cut (408), ms. */
  bodyIdleTimeoutMs: number;
}

export const DEFAULT_SHARD_LIMITS: Readonly<ShardLimits> = Object.freeze({
  maxBodyBytes: 4 << 20,
  maxBatchBodyBytes: 64 << 20,
  maxBatchLines: 20_000,
  decision: {},
  maxInflightBodyBytes: 128 << 20,
  bodyIdleTimeoutMs: 10_000,
  ...DEFAULT_SERVER_LIMITS,
});

export interface ShardConfig {
  /** Data directory: the log, the record_id index and (by default) the key file. */
  dataDir: string;
  shardId: number;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Routing epoch table (JSON file), reloaded when it changes. */
  routingFile: string;
  /** Ed25519 key file for the local signer (created 0600 if missing). Ignored if `signer` is set. */
  keyFile: string;
  /** A signer supplied by the embedder (e.g. a Vault transit signer); its name must be the origin. */
  signer?: Signer;
  namespace: string;
  cluster: string;
  checkpointIntervalMs: number;
  /** How often the routing file is checked for changes. */
  routingPollMs: number;
  limits: ShardLimits;
  /**
   * Browser origins (`https://app.example`) whose requests are served. A request from a browser
   * (it carries `Origin` or `Sec-Fetch-Site`) from any other origin is refused (403).
   */
  allowOrigins: string[];
  /**
   * Host names the shard answers to besides IP literals and `localhost` (a leading `*.` matches
   * any subdomain). Empty: any Host, except for browser requests, which must name an IP literal,
   * `localhost` or one of these (a defence against DNS rebinding).
   */
  allowHosts: string[];
  /** Who may append and read records (default: anyone who reaches the port). */
  auth: CallerAuthConfig;
  /** The in-flight body budget, when the embedder shares one among several shards. */
  bodyBudget?: BodyBudget;
  /** Group commit: most entries and bytes per batch, how long an idle writer waits for more. */
  maxBatchEntries: number;
  maxBatchBytes: number;
  maxBatchWaitMs: number;
  /** Re-check the whole log on start instead of its tail. */
  fullCheck: boolean;
  /** Records per second the background scrub re-checks (0: no scrub). */
  scrubRecordsPerSecond: number;
  /** Worker threads that parse, validate and canonicalize batches (0: on the main thread). */
  workers: number;
  logger: Logger;
}

/** What an embedder must give; everything else has a default (see `shardConfig`). */
export type ShardOptions = Pick<ShardConfig, 'dataDir' | 'shardId' | 'routingFile'> &
  Partial<Omit<ShardConfig, 'limits'>> & { limits?: Partial<ShardLimits> };

export const SHARD_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  namespace: 'default',
  cluster: 'local',
  checkpointIntervalMs: 1000,
  routingPollMs: 1000,
  maxBatchEntries: 16384,
  maxBatchBytes: DEFAULT_BATCH_BYTES,
  maxBatchWaitMs: 0,
  fullCheck: false,
  allowOrigins: [] as string[],
  allowHosts: [] as string[],
  auth: NO_CALLER_AUTH as CallerAuthConfig,
  scrubRecordsPerSecond: 1000,
});

/**
 * Longest record_id the shard accepts at most: the record_id index keys on it, and LMDB (as the
 * `lmdb` package builds it) takes keys of up to 1,978 bytes; record_ids are ASCII.
 */
export const MAX_INDEXABLE_ID_LENGTH = 1978;

export class ShardConfigError extends CodedError<'invalid_config'> {
  override name = 'ShardConfigError';
  declare readonly path: string;
  constructor(path: string, message: string) {
    super('invalid_config', message, path);
  }
}

/**
 * Fills defaults: key file `<dataDir>/key.json`, silent logger, one prepare worker per spare
 * core. Throws ShardConfigError for limits the shard could not honour.
 */
export function shardConfig(
  opts: ShardOptions,
  defaults: { workers: number; logger: Logger },
): ShardConfig {
  const given = stripUndefined(opts);
  const idLength = opts.limits?.decision?.maxIdLength;
  if (idLength !== undefined && idLength > MAX_INDEXABLE_ID_LENGTH) {
    // Such a record would be appended, then fail every index commit and every re-index on start.
    throw new ShardConfigError(
      'limits.decision.maxIdLength',
      `limits.decision.maxIdLength ${idLength} is longer than the record_id index can key (${MAX_INDEXABLE_ID_LENGTH})`,
    );
  }
  return {
    ...SHARD_DEFAULTS,
    keyFile: path.join(opts.dataDir, 'key.json'),
    workers: defaults.workers,
    logger: defaults.logger,
    ...given,
    dataDir: opts.dataDir,
    shardId: opts.shardId,
    routingFile: opts.routingFile,
    limits: { ...DEFAULT_SHARD_LIMITS, ...stripUndefined(opts.limits ?? {}) },
  } as ShardConfig;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
