// Client for the coordinator's HTTP API (docs/API.md), and discovery of the shards through it.
// Every answer is checked before it is returned: global log records with core's record
// checker, routing tables with core's validator, the trust bundle with its validator.
import { checkGlobalLogRecord, checkMissedInterval } from '../core/global-root/index.ts';
import type {
  GlobalLogRecord,
  GlobalRootRecord,
  MissedInterval,
  ShardStatus,
} from '../core/global-root/index.ts';
import { SHARD_STATUSES } from '../core/global-root/index.ts';
import { checkKeyHistory, type KeyHistory } from '../core/key-history.ts';
import { validateEpochTable } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import { HttpError } from './errors.ts';
import { getJson, getText, joinUrl } from './http.ts';
import { validateTrustBundle } from './trust.ts';
import type { TrustBundle } from './trust.ts';
import type { ShapeChecks } from '../core/json-shape.ts';
import { bodyChecks, checked, proofHashes } from './wire.ts';

/** One global log entry as GET /v1/records/:index and the global-root endpoints serve it. */
export interface GlobalLogEntry<R extends GlobalLogRecord = GlobalLogRecord> {
  /** Index of the entry in the global log (its leaf index). */
  index: number;
  leaf_hash: string;
  /** The record as stored (a global root record or a reconstruction record). */
  record: R;
}

/** One shard as GET /v1/shards lists it. */
export interface ShardListing {
  shard_id: number;
  /** Where the coordinator reads it; null when no URL is configured for it. */
  url: string | null;
  /** Its status in the latest round that covered it; null before any. */
  status: ShardStatus | null;
  reason: string | null;
  sealed_size: number | null;
  sealed_root: string | null;
  /**
   * timestamp_ns signed in the sealed checkpoint (the shard's clock), decimal; null when none
   * is sealed. A retired shard is drained once this is at or after its retirement boundary.
   */
  sealed_checkpoint_ns: string | null;
  open_intervals: number;
}

/** One shard with open missed intervals, as GET /v1/missing lists it. */
export interface MissingShardListing {
  shard_id: number;
  /** How the latest round recorded it, when a round has covered it. */
  status?: ShardStatus;
  reason?: string;
  /** The intervals no global root sealed it in, oldest first, awaiting reconstruction. */
  intervals: MissedInterval[];
}

/** One reconstruction record, as GET /v1/missing lists it. */
export interface ReconstructionListing {
  /** Index of the reconstruction record in the global log. */
  index: number;
  shard_id: number;
  /** The intervals it covers. */
  missed: MissedInterval[];
  /** The shard tree size it sealed. */
  size: number;
}

/** GET /v1/missing: shards with open missed intervals, and the latest reconstructions. */
export interface MissingReport {
  open: MissingShardListing[];
  /** The latest reconstructions (at most 100), oldest first. */
  reconstructed: ReconstructionListing[];
}

function parseEntry(url: string, body: unknown): GlobalLogEntry {
  const c: ShapeChecks = bodyChecks(url);
  const o = c.object(body, '$');
  c.index(o.index, '$.index');
  c.hash(o.leaf_hash, '$.leaf_hash');
  return {
    index: o.index,
    leaf_hash: o.leaf_hash as string,
    record: checked(url, o.record, checkGlobalLogRecord),
  };
}

function parseRootEntry(url: string, body: unknown): GlobalLogEntry<GlobalRootRecord> {
  const e = parseEntry(url, body);
  if (e.record.type !== 'global_root') {
    throw new HttpError('http_body', url, `${url}: entry ${e.index} is not a global root record`);
  }
  return e as GlobalLogEntry<GlobalRootRecord>;
}

const nullOr = <T>(v: unknown, check: (v: unknown) => T): T | null =>
  v === null ? null : check(v);

function parseListing(url: string, body: unknown): ShardListing[] {
  const c: ShapeChecks = bodyChecks(url);
  const shards = c.object(body, '$').shards;
  if (!Array.isArray(shards)) throw new HttpError('http_body', url, `${url}: no shards array`);
  return shards.map((s: unknown, i): ShardListing => {
    const p = `$.shards[${i}]`;
    const o = c.object(s, p);
    c.index(o.shard_id, `${p}.shard_id`);
    c.index(o.open_intervals, `${p}.open_intervals`);
    const text = (v: unknown, name: string): string => {
      if (typeof v !== 'string') {
        throw new HttpError('http_body', url, `${url}: ${p}.${name} must be a string or null`);
      }
      return v;
    };
    const status = nullOr(o.status, (v) => {
      if (!(SHARD_STATUSES as readonly unknown[]).includes(v)) {
        throw new HttpError('http_body', url, `${url}: ${p}.status is not a shard status`);
      }
      return v as ShardStatus;
    });
    return {
      shard_id: o.shard_id,
      url: nullOr(o.url, (v) => text(v, 'url')),
      status,
      reason: nullOr(o.reason, (v) => text(v, 'reason')),
      sealed_size: nullOr(o.sealed_size, (v) => {
        c.index(v, `${p}.sealed_size`);
        return v;
      }),
      sealed_root: nullOr(o.sealed_root, (v) => text(v, 'sealed_root')),
      sealed_checkpoint_ns: nullOr(o.sealed_checkpoint_ns ?? null, (v) => {
        if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(v)) {
          throw new HttpError(
            'http_body',
            url,
            `${url}: ${p}.sealed_checkpoint_ns must be a decimal string or null`,
          );
        }
        return v;
      }),
      open_intervals: o.open_intervals,
    };
  });
}

function parseMissing(url: string, body: unknown): MissingReport {
  const c: ShapeChecks = bodyChecks(url);
  const o = c.object(body, '$');
  const list = (v: unknown, p: string): unknown[] => {
    if (!Array.isArray(v)) throw new HttpError('http_body', url, `${url}: ${p} must be an array`);
    return v;
  };
  const intervals = (v: unknown, p: string): MissedInterval[] =>
    list(v, p).map((m, i) => checked(url, m, (x) => checkMissedInterval(x, `${p}[${i}]`)));
  return {
    open: list(o.open, '$.open').map((s, i): MissingShardListing => {
      const p = `$.open[${i}]`;
      const e = c.object(s, p);
      c.index(e.shard_id, `${p}.shard_id`);
      if (e.status !== undefined && !(SHARD_STATUSES as readonly unknown[]).includes(e.status))
        throw new HttpError('http_body', url, `${url}: ${p}.status is not a shard status`);
      if (e.reason !== undefined && typeof e.reason !== 'string')
        throw new HttpError('http_body', url, `${url}: ${p}.reason must be a string`);
      return {
        shard_id: e.shard_id,
        ...(e.status !== undefined ? { status: e.status as ShardStatus } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        intervals: intervals(e.intervals, `${p}.intervals`),
      };
    }),
    reconstructed: list(o.reconstructed, '$.reconstructed').map((r, i): ReconstructionListing => {
      const p = `$.reconstructed[${i}]`;
      const e = c.object(r, p);
      c.index(e.index, `${p}.index`);
      c.index(e.shard_id, `${p}.shard_id`);
      c.index(e.size, `${p}.size`);
      return {
        index: e.index,
        shard_id: e.shard_id,
        missed: intervals(e.missed, `${p}.missed`),
        size: e.size,
      };
    }),
  };
}

export class CoordinatorClient {
  readonly url: string;
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs = 30_000) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
  }

  async #get<T>(path: string, parse: (url: string, body: unknown) => T): Promise<T> {
    const url = joinUrl(this.url, path);
    return parse(url, await getJson(url, this.timeoutMs));
  }

  /** The routing epoch table in force. */
  routing(): Promise<EpochTable> {
    return this.#get('/v1/routing', (url, body) => checked(url, body, validateEpochTable));
  }

  /** A routing epoch table a global root was built under, by its hash. */
  routingTable(hash: string): Promise<EpochTable> {
    return this.#get(`/v1/routing-tables/${encodeURIComponent(hash)}`, (url, body) =>
      checked(url, body, validateEpochTable),
    );
  }

  keys(): Promise<TrustBundle> {
    return this.#get('/v1/keys', (url, body) => checked(url, body, validateTrustBundle));
  }

  /** The coordinator key's history: its first version and a signed transition per rotation. */
  keyHistory(): Promise<KeyHistory> {
    return this.#get('/v1/key-history', (url, body) => checked(url, body, checkKeyHistory));
  }

  shards(): Promise<ShardListing[]> {
    return this.#get('/v1/shards', parseListing);
  }

  /** Shards with open missed intervals and the latest reconstructions. */
  missing(): Promise<MissingReport> {
    return this.#get('/v1/missing', parseMissing);
  }

  latestGlobalRoot(): Promise<GlobalLogEntry<GlobalRootRecord> | undefined> {
    return orUndefined(this.#get('/v1/global-roots/latest', parseRootEntry));
  }

  /** The earliest global root that sealed `shard` at a size >= `size`, if any yet. */
  sealing(shard: number, size: number): Promise<GlobalLogEntry<GlobalRootRecord> | undefined> {
    return orUndefined(this.#get(`/v1/sealed?shard=${shard}&size=${size}`, parseRootEntry));
  }

  latestCheckpoint(): Promise<string> {
    return getText(joinUrl(this.url, '/v1/checkpoint'), this.timeoutMs);
  }

  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return this.#get(`/v1/proofs/inclusion?index=${index}&size=${size}`, proofHashes);
  }

  consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return this.#get(`/v1/proofs/consistency?from=${from}&to=${to}`, proofHashes);
  }
}

/** The answer, or undefined when the server says 404 (not there, or not yet). */
async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return undefined;
    throw err;
  }
}

/** Shard id -> URL as the coordinator knows them. */
export async function shardUrls(coordinator: CoordinatorClient): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const s of await coordinator.shards()) if (s.url !== null) out.set(s.shard_id, s.url);
  return out;
}
