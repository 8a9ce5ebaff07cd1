// Deterministic routing of decisions to shards, shared by clients, shards and the coordinator.
//
//   keyHash(key)   = first 8 bytes, big-endian, of BLAKE3(UTF-8(key)), as an unsigned 64-bit int
//   modulo(h, N)   = h mod N                      (the seed's formula)
//   jump(h, N)     = Lamping & Veach jump consistent hash (arXiv:1406.2294)
//
// Routing is versioned in epochs; a decision routes under the epoch in force at ITS timestamp,
// so the assignment of a record never changes once written. See docs/spec/40-routing.md.
import { CodedError } from './errors.ts';
import { toHex } from './bytes.ts';
import { compareU64Text, isCanonicalU64 } from './decision/timestamp.ts';
import { blake3 } from './hash.ts';
import { blake3Prefix64, CHUNK_LENGTH } from './blake3-chunk.ts';
import { canonicalBytes, memberPath } from './jcs.ts';
import { isIndex, isJsonObject } from './json-shape.ts';
import { isKeyPointer, pointerPath, resolvePointer } from './json-pointer.ts';

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
  /**
   * domain-partitioned: shard id for a domain not in `map` and for a decision with no domain
   * at any key pointer. Without it such decisions are refused (unmapped_domain,
   * routing_key_missing).
   */
  default?: number;
}

export interface RoutingEpoch {
  epoch: number;
  strategy: RoutingStrategy;
  /**
   * Where the routing key is read: RFC 6901 JSON pointers into the decision, tried in order;
   * the first that is present gives the key. Empty for time-partitioned (its key is the window
   * of /timestamp_ns).
   */
  key_pointers: string[];
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

/** The pointers an epoch of `strategy` uses unless its table names others. */
export function defaultKeyPointers(strategy: RoutingStrategy): string[] {
  switch (strategy) {
    case 'hash-by-entity':
      return ['/entity_id', '/ctx/entity_id', '/record_id'];
    case 'hash-by-session':
      return ['/session_id', '/ctx/session_id', '/record_id'];
    case 'domain-partitioned':
      return ['/domain', '/ctx/domain'];
    case 'time-partitioned':
      return [];
  }
}

/** The pointer time-partitioned reads; its key is the window index, not the value itself. */
export const TIME_POINTER = '/timestamp_ns';

/** A value at a pointer that is present but not a string (it cannot be a routing key). */
export interface NonStringKey {
  readonly nonString: string;
}

/** The NonStringKey of a JSON value whose text starts with byte `c` (not a string's quote). */
export function nonStringKey(c: number | undefined): NonStringKey {
  const kind =
    c === 0x7b // {
      ? 'object'
      : c === 0x5b // [
        ? 'array'
        : c === 0x74 || c === 0x66 // t, f
          ? 'boolean'
          : c === 0x6e // n
            ? 'null'
            : 'number';
  return { nonString: kind };
}

/**
 * What routing reads of a decision: its timestamp and, for the strategy in force only, the
 * value at each key pointer in turn. Implemented over a parsed decision (`routingSourceOf`)
 * and over canonical bytes (decision-bytes.ts), so that the fast path parses nothing.
 */
export interface RoutingSource {
  /** timestamp_ns in canonical decimal. */
  readonly timestampNs: string;
  /** The string at `pointer`, undefined when nothing is there, or what is there instead. */
  keyAt(pointer: string): string | undefined | NonStringKey;
}

/** The routing source of a decision already parsed (and validated: timestamp_ns an integer). */
export function routingSourceOf(decision: Record<string, unknown>): RoutingSource {
  const t = decision.timestamp_ns;
  return {
    timestampNs:
      typeof t === 'bigint'
        ? t.toString(10)
        : typeof t === 'number'
          ? BigInt(t).toString(10)
          : String(t),
    keyAt(pointer) {
      const v = resolvePointer(decision, pointer);
      if (v === undefined || typeof v === 'string') return v;
      return {
        nonString:
          v === null
            ? 'null'
            : Array.isArray(v)
              ? 'array'
              : typeof v === 'bigint'
                ? 'number'
                : typeof v,
      };
    },
  };
}

export interface RouteResult {
  shard: number;
  epoch: number;
  strategy: RoutingStrategy;
  /**
   * The key the strategy used: the string at `pointer`, or the decimal window index for
   * time-partitioned; null when domain-partitioned found no domain and used its default shard.
   */
  key: string | null;
  /** The pointer that gave the key (TIME_POINTER for time-partitioned); null with a null key. */
  pointer: string | null;
}

export interface RoutingProblem {
  path: string;
  code: 'required' | 'type' | 'range' | 'enum' | 'order' | 'unknown_field' | 'pointer';
  message: string;
}

export type RoutingErrorCode =
  | 'invalid_epoch_table'
  | 'no_epoch'
  | 'unmapped_domain'
  | 'routing_key_missing'
  | 'routing_key_type';

export class RoutingError extends CodedError<RoutingErrorCode> {
  override name = 'RoutingError';
  /** JSON path of the field at fault: in the table, or in the decision for the key codes. */
  declare readonly path: string;
  readonly problems: readonly RoutingProblem[];
  constructor(
    code: RoutingErrorCode,
    message: string,
    problems: readonly RoutingProblem[] = [],
    path?: string,
  ) {
    super(code, message, path ?? problems[0]?.path ?? '$');
    this.problems = problems;
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
  hashKey(key);
  return [halves[0] as number, halves[1] as number];
}

// The key's UTF-8 bytes and its hash halves, reused by every call (hashing is synchronous). Room
// for every key of up to one BLAKE3 chunk in UTF-16 units: at most 3 UTF-8 bytes each.
const keyBytes = Buffer.allocUnsafeSlow(3 * CHUNK_LENGTH);
const halves = new Uint32Array(2);

/**
 * keyHashHalves into `halves` without allocating: the key is encoded into a reused buffer (ASCII
 * by a loop, anything else by Buffer's encoder, the same bytes as Buffer.from) and hashed by the
 * one-chunk BLAKE3; a key longer than a chunk goes to the WASM hasher.
 */
function hashKey(key: string): void {
  let length = key.length;
  if (length <= CHUNK_LENGTH) {
    for (let k = 0; k < length; k++) {
      const c = key.charCodeAt(k);
      if (c > 0x7f) {
        length = keyBytes.write(key, 'utf8');
        break;
      }
      keyBytes[k] = c;
    }
    if (length <= CHUNK_LENGTH) {
      blake3Prefix64(keyBytes, length, halves);
      return;
    }
  }
  const d = blake3.digest(Buffer.from(key, 'utf8'));
  const view = new DataView(d.buffer, d.byteOffset, 8);
  halves[0] = view.getUint32(0);
  halves[1] = view.getUint32(4);
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

/** The shard, epoch and key of a decision under the epoch in force at its timestamp_ns. */
export function route(source: RoutingSource, table: EpochTable): RouteResult {
  return routeInEpoch(source, epochAt(table, source.timestampNs));
}

/** `route` of a decision already parsed. */
export function routeDecision(decision: Record<string, unknown>, table: EpochTable): RouteResult {
  return route(routingSourceOf(decision), table);
}

/**
 * Routing of a decision under one given epoch. Only the key the strategy needs is read: the
 * epoch's pointers in order, the first one present giving the key.
 */
export function routeInEpoch(source: RoutingSource, e: RoutingEpoch): RouteResult {
  if (e.strategy === 'time-partitioned') {
    const window = BigInt(e.params.window_ns ?? '0');
    if (window <= 0n) throw new RoutingError('invalid_epoch_table', 'window_ns must be > 0');
    return hashed(e, (BigInt(source.timestampNs) / window).toString(10), TIME_POINTER);
  }
  const pointers = e.key_pointers;
  for (let i = 0; i < pointers.length; i++) {
    const pointer = pointers[i] as string;
    const key = source.keyAt(pointer);
    if (key === undefined) continue;
    if (typeof key !== 'string') {
      throw new RoutingError(
        'routing_key_type',
        `the routing key at ${pointer} must be a string, got ${key.nonString}`,
        [],
        pointerPath(pointer),
      );
    }
    if (e.strategy !== 'domain-partitioned') return hashed(e, key, pointer);
    const map = e.params.map ?? {};
    const shard = Object.hasOwn(map, key) ? map[key] : e.params.default;
    if (shard === undefined) {
      throw new RoutingError(
        'unmapped_domain',
        `domain ${JSON.stringify(key)} is not in the epoch ${e.epoch} map and the epoch has no default shard`,
        [],
        pointerPath(pointer),
      );
    }
    return { shard, epoch: e.epoch, strategy: e.strategy, key, pointer };
  }
  if (e.strategy === 'domain-partitioned' && e.params.default !== undefined) {
    return {
      shard: e.params.default,
      epoch: e.epoch,
      strategy: e.strategy,
      key: null,
      pointer: null,
    };
  }
  throw new RoutingError(
    'routing_key_missing',
    `the decision has no routing key for ${e.strategy} (epoch ${e.epoch}): nothing at ${pointers.join(', ')}`,
    [],
    pointerPath(pointers[0] ?? ''),
  );
}

function hashed(e: RoutingEpoch, key: string, pointer: string): RouteResult {
  hashKey(key);
  return {
    shard: bucketOfHalves(e.bucket, halves[0] as number, halves[1] as number, e.shards),
    epoch: e.epoch,
    strategy: e.strategy,
    key,
    pointer,
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
  'key_pointers',
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
    checkKeyPointers(e.key_pointers, e.strategy, `${p}.key_pointers`, add);
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
      if (params.default !== undefined && !inRange(params.default)) {
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

function checkKeyPointers(
  value: unknown,
  strategy: unknown,
  path: string,
  add: (path: string, code: RoutingProblem['code'], message: string) => void,
): void {
  if (!Array.isArray(value)) {
    add(path, value === undefined ? 'required' : 'type', 'must be an array of JSON pointers');
    return;
  }
  if (strategy === 'time-partitioned') {
    if (value.length > 0) add(path, 'range', 'must be empty: time-partitioned reads /timestamp_ns');
    return;
  }
  if (value.length === 0) add(path, 'range', 'must name at least one JSON pointer');
  const seen = new Set<unknown>();
  value.forEach((v: unknown, i: number) => {
    if (typeof v !== 'string' || !isKeyPointer(v)) {
      add(
        `${path}[${i}]`,
        'pointer',
        'must be an RFC 6901 JSON pointer to a member, such as "/ctx/entity_id"',
      );
    } else if (seen.has(v)) {
      add(`${path}[${i}]`, 'order', 'names a pointer already in the list');
    }
    seen.add(v);
  });
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
