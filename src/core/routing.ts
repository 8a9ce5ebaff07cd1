// Deterministic routing of decisions to shards, shared by clients, shards and the coordinator.
//
//   keyHash(key)   = first 8 bytes, big-endian, of BLAKE3(UTF-8(key)), as an unsigned 64-bit int
//   modulo(h, N)   = h mod N                      (the seed's formula)
//   jump(h, N)     = Lamping & Veach jump consistent hash (arXiv:1406.2294)
//
// Routing is versioned in epochs; a decision routes under the epoch in force at ITS timestamp,
// so the assignment of a record never changes once written. See docs/spec/40-routing.md.
import { toHex } from './bytes.ts';
import { compareU64Text, isCanonicalU64 } from './decision/timestamp.ts';
import { blake3 } from './hash.ts';
import { canonicalBytes, memberPath } from './jcs.ts';
import { isIndex, isJsonObject } from './json-shape.ts';

export type RoutingStrategy =
  'hash-by-entity' | 'hash-by-session' | 'time-partitioned' | 'domain-partitioned';
export const ROUTING_STRATEGIES: readonly RoutingStrategy[] = [
  'hash-by-entity',
  'hash-by-session',
  'time-partitioned',
  'domain-partitioned',
];

export type BucketFunction = 'modulo' | 'jump';
export const BUCKET_FUNCTIONS: readonly BucketFunction[] = ['modulo', 'jump'];

/** Parameters per strategy: `{}` for the hash strategies. */
export interface RoutingParams {
  /** time-partitioned: window length in nanoseconds, canonical decimal string, > 0. */
  window_ns?: string;
  /** domain-partitioned: domain -> shard id. */
  map?: Record<string, number>;
  /** domain-partitioned: shard id for a domain not in `map` (required). */
  default?: number;
}

export interface RoutingEpoch {
  epoch: number;
  strategy: RoutingStrategy;
  /** Ignored by domain-partitioned, which maps domains to shards directly. */
  bucket: BucketFunction;
  /** Shard ids are 0..shards-1 (StatefulSet ordinals). */
  shards: number;
  params: RoutingParams;
  /** First decision timestamp (ns, canonical decimal) this epoch applies to. */
  effective_from_ns: string;
}

export interface EpochTable {
  epochs: RoutingEpoch[];
}

/** The routing fields of a decision. */
export interface RoutableDecision {
  entity_id: string;
  session_id: string;
  domain: string;
  timestamp_ns: string;
}

export interface RouteResult {
  shard: number;
  epoch: number;
  strategy: RoutingStrategy;
  /** The key the strategy used: entity_id, session_id, decimal window index, or domain. */
  key: string;
}

export interface RoutingProblem {
  path: string;
  code: 'required' | 'type' | 'range' | 'enum' | 'order' | 'unknown_field';
  message: string;
}

export type RoutingErrorCode = 'invalid_epoch_table' | 'no_epoch' | 'unmapped_domain';

export class RoutingError extends Error {
  override readonly name = 'RoutingError';
  readonly code: RoutingErrorCode;
  readonly path: string;
  readonly problems: readonly RoutingProblem[];
  constructor(code: RoutingErrorCode, message: string, problems: readonly RoutingProblem[] = []) {
    super(message);
    this.code = code;
    this.problems = problems;
    this.path = problems[0]?.path ?? '$';
  }
}

// ---------------------------------------------------------------- key hash and bucket functions

/** First 8 bytes of BLAKE3(UTF-8(key)), big-endian, as an unsigned 64-bit integer. */
export function keyHash(key: string): bigint {
  const [hi, lo] = keyHashHalves(key);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * The key hash as two unsigned 32-bit halves (hi, lo), for the hot path: BigInt conversion
 * and arithmetic cost several times the hash itself for short keys. Same value as keyHash.
 */
export function keyHashHalves(key: string): [hi: number, lo: number] {
  // Buffer.from encodes short strings several times faster than TextEncoder (same bytes).
  const d = blake3.digest(Buffer.from(key, 'utf8'));
  const hi =
    (((d[0] as number) << 24) |
      ((d[1] as number) << 16) |
      ((d[2] as number) << 8) |
      (d[3] as number)) >>>
    0;
  const lo =
    (((d[4] as number) << 24) |
      ((d[5] as number) << 16) |
      ((d[6] as number) << 8) |
      (d[7] as number)) >>>
    0;
  return [hi, lo];
}

/** h mod n. */
export function moduloBucket(h: bigint, n: number): number {
  checkBuckets(n);
  return Number(h % BigInt(n));
}

const U64 = 0xffff_ffff_ffff_ffffn;
const LCG_MULTIPLIER = 2862933555777941757n;
const TWO_POW_31 = 2147483648; // double(1LL << 31)

/**
 * Jump consistent hash, exactly the published algorithm:
 *
 *   b = -1; j = 0
 *   while j < n: b = j; key = key * 2862933555777941757 + 1 (mod 2^64)
 *                j = floor((b + 1) * (2^31 / ((key >> 33) + 1)))
 *   return b
 *
 * The LCG is exact 64-bit arithmetic (BigInt); the division is IEEE double as in the reference.
 */
export function jumpBucket(h: bigint, n: number): number {
  checkBuckets(n);
  let key = h & U64;
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    key = (key * LCG_MULTIPLIER + 1n) & U64;
    j = Math.floor((b + 1) * (TWO_POW_31 / (Number(key >> 33n) + 1)));
  }
  return b;
}

// The jump hash LCG multiplier in 16-bit limbs, least significant first.
const M0 = 0xb0fd;
const M1 = 0x87b0;
const M2 = 0x2ee6;
const M3 = 0x27bb;
const B16 = 0x1_0000;

/**
 * moduloBucket and jumpBucket of h = hi * 2^32 + lo without BigInt: the same results (tests
 * compare them with the BigInt versions above, which stay the readable reference).
 */
export function bucketOfHalves(fn: BucketFunction, hi: number, lo: number, n: number): number {
  checkBuckets(n);
  if (fn === 'modulo') {
    // 16 bits at a time so every intermediate stays below 2^53.
    let r = hi % n;
    r = (r * B16 + (lo >>> 16)) % n;
    return (r * B16 + (lo & 0xffff)) % n;
  }
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    // (key * M + 1) mod 2^64 in 16-bit limbs; each column sum stays below 2^35.
    const a0 = lo & 0xffff;
    const a1 = lo >>> 16;
    const a2 = hi & 0xffff;
    const a3 = hi >>> 16;
    let t = a0 * M0 + 1;
    const r0 = t % B16;
    t = Math.floor(t / B16) + a0 * M1 + a1 * M0;
    const r1 = t % B16;
    t = Math.floor(t / B16) + a0 * M2 + a1 * M1 + a2 * M0;
    const r2 = t % B16;
    t = Math.floor(t / B16) + a0 * M3 + a1 * M2 + a2 * M1 + a3 * M0;
    const r3 = t % B16;
    lo = r1 * B16 + r0;
    hi = r3 * B16 + r2;
    // key >> 33 is hi >> 1.
    j = Math.floor((b + 1) * (TWO_POW_31 / ((hi >>> 1) + 1)));
  }
  return b;
}

/** Largest bucket count: jump returns an int32 in the reference. */
export const MAX_SHARDS = 0x7fff_ffff;

function checkBuckets(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SHARDS) {
    throw new RangeError(`bucket count must be an integer in 1..${MAX_SHARDS}, got ${n}`);
  }
}

// ---------------------------------------------------------------- routing

/** The epoch in force at `timestampNs`: the last one with effective_from_ns <= timestampNs. */
export function epochAt(table: EpochTable, timestampNs: string | bigint): RoutingEpoch {
  const ts = typeof timestampNs === 'bigint' ? timestampNs.toString(10) : timestampNs;
  const epochs = table.epochs;
  for (let i = epochs.length - 1; i >= 0; i--) {
    const e = epochs[i] as RoutingEpoch;
    if (compareU64Text(e.effective_from_ns, ts) <= 0) return e;
  }
  throw new RoutingError(
    'no_epoch',
    `no routing epoch is in force at ${ts} ns (the first starts at ${epochs[0]?.effective_from_ns ?? 'never'})`,
  );
}

/** The shard, epoch and key of `decision` under the epoch in force at its timestamp_ns. */
export function route(decision: RoutableDecision, table: EpochTable): RouteResult {
  const e = epochAt(table, decision.timestamp_ns);
  return routeInEpoch(decision, e);
}

/** Routing of `decision` under one given epoch. */
export function routeInEpoch(decision: RoutableDecision, e: RoutingEpoch): RouteResult {
  switch (e.strategy) {
    case 'hash-by-entity':
      return hashed(e, decision.entity_id);
    case 'hash-by-session':
      return hashed(e, decision.session_id);
    case 'time-partitioned': {
      const window = BigInt(e.params.window_ns ?? '0');
      if (window <= 0n) throw new RoutingError('invalid_epoch_table', 'window_ns must be > 0');
      return hashed(e, (BigInt(decision.timestamp_ns) / window).toString(10));
    }
    case 'domain-partitioned': {
      const map = e.params.map ?? {};
      const shard = Object.hasOwn(map, decision.domain) ? map[decision.domain] : e.params.default;
      if (shard === undefined) {
        throw new RoutingError(
          'unmapped_domain',
          `domain ${JSON.stringify(decision.domain)} is not in the epoch ${e.epoch} map and the epoch has no default shard`,
        );
      }
      return { shard, epoch: e.epoch, strategy: e.strategy, key: decision.domain };
    }
  }
}

function hashed(e: RoutingEpoch, key: string): RouteResult {
  const [hi, lo] = keyHashHalves(key);
  return {
    shard: bucketOfHalves(e.bucket, hi, lo, e.shards),
    epoch: e.epoch,
    strategy: e.strategy,
    key,
  };
}

/** BLAKE3 of the canonical JSON of the whole table, lowercase hex. */
export function epochTableHash(table: EpochTable): string {
  return toHex(blake3.digest(canonicalBytes(table)));
}

/** BLAKE3 of the canonical JSON of one epoch entry, lowercase hex. */
export function epochHash(epoch: RoutingEpoch): string {
  return toHex(blake3.digest(canonicalBytes(epoch)));
}

// ---------------------------------------------------------------- validation

const EPOCH_MEMBERS = new Set([
  'epoch',
  'strategy',
  'bucket',
  'shards',
  'params',
  'effective_from_ns',
]);
const PARAM_MEMBERS: Record<RoutingStrategy, ReadonlySet<string>> = {
  'hash-by-entity': new Set(),
  'hash-by-session': new Set(),
  'time-partitioned': new Set(['window_ns']),
  'domain-partitioned': new Set(['map', 'default']),
};

/** Every problem of `input` as an epoch table; empty when valid. */
export function epochTableProblems(input: unknown): RoutingProblem[] {
  const problems: RoutingProblem[] = [];
  const add = (path: string, code: RoutingProblem['code'], message: string): void => {
    problems.push({ path, code, message });
  };
  if (!isJsonObject(input)) {
    add('$', 'type', 'an epoch table must be an object {"epochs": [...]}');
    return problems;
  }
  for (const key of Object.keys(input)) {
    if (key !== 'epochs') add(memberPath('$', key), 'unknown_field', 'is not an epoch table field');
  }
  const epochs = input.epochs;
  if (!Array.isArray(epochs)) {
    add('$.epochs', epochs === undefined ? 'required' : 'type', 'must be an array of epochs');
    return problems;
  }
  if (epochs.length === 0) add('$.epochs', 'range', 'must contain at least one epoch');
  let prevEpoch: number | undefined;
  let prevFrom: string | undefined;
  epochs.forEach((e: unknown, i: number) => {
    const p = `$.epochs[${i}]`;
    if (!isJsonObject(e)) {
      add(p, 'type', 'must be an object');
      return;
    }
    for (const key of Object.keys(e)) {
      if (!EPOCH_MEMBERS.has(key))
        add(memberPath(p, key), 'unknown_field', 'is not an epoch field');
    }
    if (!isIndex(e.epoch)) {
      add(
        `${p}.epoch`,
        e.epoch === undefined ? 'required' : 'type',
        'must be a non-negative integer',
      );
    } else {
      if (prevEpoch !== undefined && e.epoch <= prevEpoch) {
        add(`${p}.epoch`, 'order', `must be greater than the previous epoch ${prevEpoch}`);
      }
      prevEpoch = e.epoch;
    }
    if (typeof e.effective_from_ns !== 'string' || !isCanonicalU64(e.effective_from_ns)) {
      add(`${p}.effective_from_ns`, 'type', 'must be a canonical u64 decimal string (nanoseconds)');
    } else {
      if (prevFrom !== undefined && compareU64Text(e.effective_from_ns, prevFrom) <= 0) {
        add(
          `${p}.effective_from_ns`,
          'order',
          `must be later than the previous epoch's effective_from_ns ${prevFrom}`,
        );
      }
      prevFrom = e.effective_from_ns;
    }
    const shards = e.shards;
    const shardsOk = isIndex(shards) && shards >= 1 && shards <= MAX_SHARDS;
    if (!shardsOk) add(`${p}.shards`, 'range', `must be an integer in 1..${MAX_SHARDS}`);
    if (!(BUCKET_FUNCTIONS as readonly unknown[]).includes(e.bucket)) {
      add(`${p}.bucket`, 'enum', `must be one of ${BUCKET_FUNCTIONS.join(', ')}`);
    }
    if (!(ROUTING_STRATEGIES as readonly unknown[]).includes(e.strategy)) {
      add(`${p}.strategy`, 'enum', `must be one of ${ROUTING_STRATEGIES.join(', ')}`);
    }
    const params = e.params;
    if (!isJsonObject(params)) {
      add(`${p}.params`, params === undefined ? 'required' : 'type', 'must be an object');
      return;
    }
    const strategy = e.strategy as RoutingStrategy;
    const allowed = PARAM_MEMBERS[strategy];
    if (allowed === undefined) return;
    for (const key of Object.keys(params)) {
      if (!allowed.has(key)) {
        add(memberPath(`${p}.params`, key), 'unknown_field', `is not a parameter of ${strategy}`);
      }
    }
    const inRange = (v: unknown): boolean => isIndex(v) && (!shardsOk || v < (shards as number));
    if (strategy === 'time-partitioned') {
      const w = params.window_ns;
      if (typeof w !== 'string' || !isCanonicalU64(w) || w === '0') {
        add(
          `${p}.params.window_ns`,
          w === undefined ? 'required' : 'type',
          'time-partitioned needs window_ns: a canonical decimal string of nanoseconds > 0',
        );
      }
    } else if (strategy === 'domain-partitioned') {
      if (params.default === undefined) {
        add(
          `${p}.params.default`,
          'required',
          'domain-partitioned needs a default shard for domains not in the map',
        );
      } else if (!inRange(params.default)) {
        add(`${p}.params.default`, 'range', 'must be a shard id in 0..shards-1');
      }
      const map = params.map;
      if (map === undefined) {
        add(`${p}.params.map`, 'required', 'domain-partitioned needs a map of domain -> shard');
      } else if (!isJsonObject(map)) {
        add(`${p}.params.map`, 'type', 'must be an object of domain -> shard id');
      } else {
        for (const [domain, shard] of Object.entries(map)) {
          if (!inRange(shard)) {
            add(
              memberPath(`${p}.params.map`, domain),
              'range',
              'must be a shard id in 0..shards-1',
            );
          }
        }
      }
    }
  });
  return problems;
}

/** `input` as an epoch table; throws `RoutingError` ('invalid_epoch_table') listing problems. */
export function validateEpochTable(input: unknown): EpochTable {
  const problems = epochTableProblems(input);
  if (problems.length > 0) {
    const first = problems[0] as RoutingProblem;
    throw new RoutingError(
      'invalid_epoch_table',
      `invalid epoch table: ${first.path}: ${first.message}` +
        (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
      problems,
    );
  }
  return input as unknown as EpochTable;
}
