import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../src/core/bytes.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { canonicalBytes } from '../../../src/core/jcs.ts';
import {
  epochAt,
  epochTableHash,
  epochTableProblems,
  bucketOfHalves,
  jumpBucket,
  keyHash,
  keyHashHalves,
  moduloBucket,
  nonStringKey,
  defaultKeyPointers,
  routeDecision,
  routeInEpoch,
  routingSourceOf,
  RoutingError,
  validateEpochTable,
  type EpochTable,
  type RoutingEpoch,
  type RoutingStrategy,
} from '../../../src/core/routing.ts';

/** The key hash computed independently: @noble BLAKE3, first 8 bytes big-endian. */
function referenceKeyHash(key: string): bigint {
  const d = blake3Reference.digest(utf8.encode(key));
  return BigInt(`0x${toHex(d.subarray(0, 8))}`);
}

/** hi and lo 32-bit halves of a 64-bit value. */
function halves(h: bigint): [number, number] {
  return [Number(h >> 32n), Number(h & 0xffff_ffffn)];
}

/** A record's routing members (top level, as our own producers may write them). */
const decision = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  record_id: 'agdr_1',
  entity_id: 'customer-42',
  session_id: 'sess-7f3a',
  domain: 'credit',
  timestamp_ns: 1767225600000000000n,
  ...over,
});
const route = routeDecision;

const epoch = (over: Partial<RoutingEpoch>): RoutingEpoch => ({
  epoch: 0,
  strategy: 'hash-by-entity',
  key_pointers: defaultKeyPointers((over.strategy ?? 'hash-by-entity') as RoutingStrategy),
  bucket: 'jump',
  shards: 4,
  params: {},
  effective_from_ns: '0',
  ...over,
});

describe('key hash', () => {
  it('is the first 8 bytes of BLAKE3(UTF-8 key), big-endian (checked with @noble)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (key) => {
        expect(keyHash(key)).toBe(referenceKeyHash(key));
      }),
      { numRuns: 200 },
    );
    expect(keyHash('')).toBe(0xaf1349b9f5f9a1a6n); // BLAKE3("") = af1349b9f5f9a1a6a040...
  });
  it('is the same for ASCII, non-ASCII, lone surrogates, and keys about one chunk long', () => {
    // The hot path hashes up to 1024 UTF-8 bytes itself and hands longer keys to the WASM
    // hasher: keys on both sides of that edge, in 1, 2, 3 and 4 byte characters.
    const keys = [
      '',
      'a',
      'entity-0042',
      'kunde-ø',
      '顧客-42',
      'id-😀',
      'lone-\ud800-surrogate',
      'x'.repeat(64),
      'x'.repeat(65),
      'x'.repeat(1023),
      'x'.repeat(1024),
      'x'.repeat(1025),
      'x'.repeat(5000),
      'é'.repeat(512),
      'é'.repeat(513),
      '€'.repeat(341),
      '€'.repeat(342),
      '€'.repeat(1024),
      '😀'.repeat(256),
      '😀'.repeat(257),
      `${'x'.repeat(1023)}é`,
    ];
    for (const key of keys) expect(keyHash(key), key.slice(0, 20)).toBe(referenceKeyHash(key));
  });
  it('does not carry bytes of one key into the next (the encode buffer is reused)', () => {
    // Each key is hashed after a longer one and after a non-ASCII one of the same length.
    const keys = ['x'.repeat(900), 'abc', '€'.repeat(300), 'abc', '€€€', 'abc', 'ab', ''];
    const want = keys.map(referenceKeyHash);
    expect(keys.map((k) => keyHash(k))).toEqual(want);
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 1100 }), { maxLength: 8 }),
        (ks) => {
          for (const k of ks) expect(keyHash(k)).toBe(referenceKeyHash(k));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('jump consistent hash', () => {
  // Golden values of Guava's Hashing.consistentHash, the same LCG and constants as the paper.
  it('matches the Guava golden values', () => {
    const golden100 = [
      0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83,
    ];
    const cases: [bigint, number, number][] = [
      ...golden100.map((want, i): [bigint, number, number] => [BigInt(i), 100, want]),
      [10863919174838991n, 11, 6],
      [2016238256797177309n, 11, 3],
      [1673758223894951030n, 11, 5],
      [2n, 100001, 80343],
      [2201n, 100001, 22152],
      [2202n, 100001, 15018],
    ];
    for (const [h, n, want] of cases) {
      expect(jumpBucket(h, n)).toBe(want);
      expect(bucketOfHalves('jump', ...halves(h), n)).toBe(want);
    }
  });
  it('gives the same buckets without BigInt (the hot path) as the BigInt reference', () => {
    const h64 = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.constantFrom(0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n),
    );
    const n = fc.oneof(
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.constantFrom(1, 2, 2 ** 16, 2 ** 31 - 1),
    );
    fc.assert(
      fc.property(h64, n, (h, buckets) => {
        expect(bucketOfHalves('jump', ...halves(h), buckets)).toBe(jumpBucket(h, buckets));
        expect(bucketOfHalves('modulo', ...halves(h), buckets)).toBe(moduloBucket(h, buckets));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (key) => {
        const [hi, lo] = keyHashHalves(key);
        expect((BigInt(hi) << 32n) | BigInt(lo)).toBe(referenceKeyHash(key));
      }),
      { numRuns: 200 },
    );
  });
  it('growing N to N+1 keeps a key or moves it to the new bucket N', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 1, max: 500 }),
        (h, n) => {
          const a = jumpBucket(h, n);
          const b = jumpBucket(h, n + 1);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThan(n);
          expect(b === a || b === n).toBe(true);
        },
      ),
    );
  });
  it('rejects bucket counts outside 1..2^31-1', () => {
    for (const n of [0, -1, 1.5, 2 ** 31]) expect(() => jumpBucket(1n, n)).toThrow(RangeError);
    expect(() => moduloBucket(1n, 0)).toThrow(RangeError);
    for (const n of [0, 2 ** 31]) expect(() => bucketOfHalves('jump', 0, 1, n)).toThrow(RangeError);
  });
});

describe('distribution and movement over 100k keys', () => {
  const N = 10;
  const hashes = Array.from({ length: 100_000 }, (_, i) => keyHash(`entity-${i}`));
  // Chi-square with N-1 = 9 degrees of freedom; 27.88 is the 0.999 quantile.
  const chiSquare = (buckets: number[]): number => {
    const counts = new Array<number>(N).fill(0);
    for (const b of buckets) counts[b] = (counts[b] as number) + 1;
    const expected = hashes.length / N;
    return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  };
  const modN = hashes.map((h) => moduloBucket(h, N));
  const jumpN = hashes.map((h) => jumpBucket(h, N));
  it('modulo is uniform (chi-square)', () => expect(chiSquare(modN)).toBeLessThan(27.88));
  it('jump is uniform (chi-square)', () => expect(chiSquare(jumpN)).toBeLessThan(27.88));
  it('N -> N+1: jump moves ~1/(N+1) of keys, all to the new shard', () => {
    let moved = 0;
    hashes.forEach((h, i) => {
      const b = jumpBucket(h, N + 1);
      if (b !== jumpN[i]) {
        moved++;
        expect(b).toBe(N);
      }
    });
    const share = moved / hashes.length;
    expect(share).toBeGreaterThan(1 / (N + 1) - 0.01);
    expect(share).toBeLessThan(1 / (N + 1) + 0.01);
  });
  it('N -> N+1: modulo moves ~N/(N+1) of keys', () => {
    const moved = hashes.filter((h, i) => moduloBucket(h, N + 1) !== modN[i]).length;
    const share = moved / hashes.length;
    expect(share).toBeGreaterThan(N / (N + 1) - 0.01);
    expect(share).toBeLessThan(N / (N + 1) + 0.01);
  });
});

describe('strategies', () => {
  it('hash-by-entity and hash-by-session hash their key with the epoch bucket function', () => {
    for (const bucketFn of ['modulo', 'jump'] as const) {
      const byEntity: EpochTable = { epochs: [epoch({ bucket: bucketFn, shards: 7 })] };
      const bySession: EpochTable = {
        epochs: [epoch({ bucket: bucketFn, shards: 7, strategy: 'hash-by-session' })],
      };
      const h = referenceKeyHash('customer-42');
      const want = bucketFn === 'jump' ? jumpBucket(h, 7) : Number(h % 7n);
      expect(route(decision(), byEntity)).toEqual({
        shard: want,
        epoch: 0,
        strategy: 'hash-by-entity',
        key: 'customer-42',
        pointer: '/entity_id',
      });
      const r = route(decision(), bySession);
      expect(r.key).toBe('sess-7f3a');
      expect(r.shard).toBe(
        bucketFn === 'jump'
          ? jumpBucket(referenceKeyHash('sess-7f3a'), 7)
          : Number(referenceKeyHash('sess-7f3a') % 7n),
      );
    }
  });
  it('time-partitioned: the key is the decimal window index of the decision timestamp', () => {
    const table: EpochTable = {
      epochs: [epoch({ strategy: 'time-partitioned', params: { window_ns: '3600000000000' } })],
    };
    const t = 1767225600000000000n; // a multiple of one hour
    const at = (ns: bigint) => route(decision({ timestamp_ns: ns }), table);
    expect(at(t).key).toBe((t / 3600000000000n).toString());
    expect(at(t).pointer).toBe('/timestamp_ns');
    expect(at(t + 3599999999999n)).toEqual(at(t));
    expect(at(t + 3600000000000n).key).toBe((t / 3600000000000n + 1n).toString());
    // u64 timestamps beyond 2^53 are exact.
    expect(at(2n ** 64n - 1n).key).toBe(((2n ** 64n - 1n) / 3600000000000n).toString());
  });
  it('domain-partitioned: the map, then the default', () => {
    const table = validateEpochTable({
      epochs: [
        epoch({
          strategy: 'domain-partitioned',
          params: { map: { credit: 3, trading: 1 }, default: 0 },
        }),
      ],
    });
    expect(route(decision(), table)).toMatchObject({ shard: 3, key: 'credit' });
    expect(route(decision({ domain: 'support' }), table).shard).toBe(0);
    // Inherited object members are not domains.
    expect(route(decision({ domain: 'constructor' }), table).shard).toBe(0);
  });
  it('domain-partitioned without a default refuses unmapped and missing domains', () => {
    const e = epoch({ strategy: 'domain-partitioned', params: { map: { credit: 1 } } });
    expect(epochTableProblems({ epochs: [e] })).toEqual([]);
    expect(() => route(decision({ domain: 'x' }), { epochs: [e] })).toThrow(
      expect.objectContaining({ code: 'unmapped_domain', path: '$.domain' }),
    );
    expect(() => route(decision({ domain: undefined }), { epochs: [e] })).toThrow(
      expect.objectContaining({ code: 'routing_key_missing', path: '$.domain' }),
    );
  });
  it('domain-partitioned with a default puts a decision without a domain there, key null', () => {
    const e = epoch({ strategy: 'domain-partitioned', params: { map: { credit: 1 }, default: 2 } });
    expect(route({ record_id: 'a', timestamp_ns: 5 }, { epochs: [e] })).toEqual({
      shard: 2,
      epoch: 0,
      strategy: 'domain-partitioned',
      key: null,
      pointer: null,
    });
    expect(route({ timestamp_ns: 5, ctx: { domain: 'credit' } }, { epochs: [e] })).toMatchObject({
      shard: 1,
      key: 'credit',
      pointer: '/ctx/domain',
    });
  });
});

describe('key pointers', () => {
  const upstream = { record_id: 'agdr_9', timestamp_ns: 1796569260694147634n, ctx: {} };
  it('are tried in order: the record member, then ctx, then record_id', () => {
    const table: EpochTable = { epochs: [epoch({})] };
    expect(route(decision(), table)).toMatchObject({ key: 'customer-42', pointer: '/entity_id' });
    expect(route({ ...upstream, ctx: { entity_id: 'c-1' } }, table)).toMatchObject({
      key: 'c-1',
      pointer: '/ctx/entity_id',
    });
    expect(route(upstream, table)).toMatchObject({
      key: 'agdr_9',
      pointer: '/record_id',
      shard: jumpBucket(referenceKeyHash('agdr_9'), 4),
    });
    const bySession: EpochTable = { epochs: [epoch({ strategy: 'hash-by-session' })] };
    expect(route({ ...upstream, ctx: { session_id: 's-1' } }, bySession)).toMatchObject({
      key: 's-1',
      pointer: '/ctx/session_id',
    });
  });
  it('a table without the fallback refuses a record without the key, naming the pointers', () => {
    const table: EpochTable = {
      epochs: [epoch({ key_pointers: ['/entity_id', '/ctx/entity_id'] })],
    };
    let err: unknown;
    try {
      route(upstream, table);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RoutingError);
    expect(err).toMatchObject({ code: 'routing_key_missing', path: '$.entity_id' });
    expect((err as Error).message).toContain('/entity_id, /ctx/entity_id');
  });
  it('a key that is not a string is refused at its path', () => {
    const table: EpochTable = { epochs: [epoch({})] };
    expect(() => route({ ...upstream, ctx: { entity_id: 42 } }, table)).toThrow(
      expect.objectContaining({ code: 'routing_key_type', path: '$.ctx.entity_id' }),
    );
  });
  it('escaped tokens and array elements (RFC 6901)', () => {
    const table: EpochTable = { epochs: [epoch({ key_pointers: ['/ctx/a~1b~0c/1'] })] };
    expect(route({ ...upstream, ctx: { 'a/b~c': ['x', 'y'] } }, table).key).toBe('y');
  });
  it('only the key of the strategy in force is read', () => {
    const table: EpochTable = {
      epochs: [epoch({ strategy: 'time-partitioned', params: { window_ns: '10' } })],
    };
    const reads: string[] = [];
    const source = { timestampNs: '25', keyAt: (p: string) => (reads.push(p), undefined) };
    expect(routeInEpoch(source, table.epochs[0] as RoutingEpoch).key).toBe('2');
    expect(reads).toEqual([]);
    const byEntity = epoch({});
    expect(() => routeInEpoch(source, byEntity)).toThrow(
      expect.objectContaining({ code: 'routing_key_missing' }),
    );
    expect(reads).toEqual(defaultKeyPointers('hash-by-entity'));
  });
  it('are validated: RFC 6901 syntax, no repeats, none for time-partitioned, some otherwise', () => {
    const problems = epochTableProblems({
      epochs: [
        epoch({ key_pointers: ['entity_id', '/a~2', '/ok', '/ok', ''] }),
        epoch({ epoch: 1, effective_from_ns: '5', key_pointers: [] }),
        epoch({
          epoch: 2,
          effective_from_ns: '9',
          strategy: 'time-partitioned',
          params: { window_ns: '10' },
          key_pointers: ['/entity_id'],
        }),
        { ...epoch({ epoch: 3, effective_from_ns: '12' }), key_pointers: undefined },
      ],
    });
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['$.epochs[0].key_pointers[0]', 'pointer'],
      ['$.epochs[0].key_pointers[1]', 'pointer'],
      ['$.epochs[0].key_pointers[3]', 'order'],
      ['$.epochs[0].key_pointers[4]', 'pointer'],
      ['$.epochs[1].key_pointers', 'range'],
      ['$.epochs[2].key_pointers', 'range'],
      ['$.epochs[3].key_pointers', 'required'],
    ]);
  });
});

describe('epochs', () => {
  const table: EpochTable = {
    epochs: [
      epoch({ epoch: 0, shards: 3, effective_from_ns: '0' }),
      epoch({ epoch: 1, shards: 4, effective_from_ns: '1767225600000000000' }),
      epoch({ epoch: 5, shards: 5, bucket: 'modulo', effective_from_ns: '1767312000000000000' }),
    ],
  };
  it('epochAt picks the last epoch whose effective_from_ns <= t (boundaries inclusive)', () => {
    expect(epochAt(table, '0').epoch).toBe(0);
    expect(epochAt(table, '1767225599999999999').epoch).toBe(0);
    expect(epochAt(table, 1767225600000000000n).epoch).toBe(1);
    expect(epochAt(table, '1767311999999999999').epoch).toBe(1);
    expect(epochAt(table, '18446744073709551615').epoch).toBe(5);
  });
  it('route uses the epoch in force at the decision timestamp', () => {
    const old = route(decision({ timestamp_ns: 1000 }), table);
    expect(old.epoch).toBe(0);
    expect(old.shard).toBe(jumpBucket(referenceKeyHash('customer-42'), 3));
    const later = route(decision({ timestamp_ns: 1767312000000000000n }), table);
    expect(later).toMatchObject({ epoch: 5, shard: Number(referenceKeyHash('customer-42') % 5n) });
  });
  it('no epoch before the first one', () => {
    const late: EpochTable = { epochs: [epoch({ effective_from_ns: '100' })] };
    expect(() => epochAt(late, '99')).toThrow(RoutingError);
    expect(() => epochAt(late, '99')).toThrow(expect.objectContaining({ code: 'no_epoch' }));
  });
  it('is deterministic', () => {
    const a = Array.from({ length: 50 }, (_, i) => route(decision({ entity_id: `e${i}` }), table));
    const b = Array.from({ length: 50 }, (_, i) => route(decision({ entity_id: `e${i}` }), table));
    expect(a).toEqual(b);
  });
  it('epochTableHash is BLAKE3 of the canonical JSON, hex (checked with @noble)', () => {
    expect(epochTableHash(table)).toBe(toHex(blake3Reference.digest(canonicalBytes(table))));
    expect(epochTableHash(table)).toMatch(/^[0-9a-f]{64}$/);
    // Member insertion order does not matter: the hash is over canonical JSON.
    const reordered: EpochTable = {
      epochs: table.epochs.map((e) => {
        const { effective_from_ns, ...rest } = e;
        return { effective_from_ns, ...rest };
      }),
    };
    expect(epochTableHash(reordered)).toBe(epochTableHash(table));
  });
});

describe('validateEpochTable', () => {
  it('accepts a valid table and returns it', () => {
    const t = { epochs: [epoch({})] };
    expect(validateEpochTable(t)).toBe(t);
  });
  it('reports every problem with its field path', () => {
    const problems = epochTableProblems({
      epochs: [
        epoch({ epoch: 2, effective_from_ns: '10' }),
        { ...epoch({ epoch: 2, effective_from_ns: '10', shards: 0 }), bucket: 'ring', colour: 1 },
        epoch({ epoch: 3, effective_from_ns: '20', strategy: 'time-partitioned', params: {} }),
        epoch({
          epoch: 4,
          effective_from_ns: '030',
          strategy: 'domain-partitioned',
          params: { map: { a: 9 }, default: 0, extra: true } as never,
        }),
        { ...epoch({ epoch: 5, effective_from_ns: '40' }), strategy: 'random' },
      ],
      version: 1,
    });
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['$.version', 'unknown_field'],
      ['$.epochs[1].colour', 'unknown_field'],
      ['$.epochs[1].epoch', 'order'],
      ['$.epochs[1].effective_from_ns', 'order'],
      ['$.epochs[1].shards', 'range'],
      ['$.epochs[1].bucket', 'enum'],
      ['$.epochs[2].params.window_ns', 'required'],
      ['$.epochs[3].effective_from_ns', 'type'],
      ['$.epochs[3].params.extra', 'unknown_field'],
      ['$.epochs[3].params.map.a', 'range'],
      ['$.epochs[4].strategy', 'enum'],
    ]);
    expect(() => validateEpochTable({ epochs: [] })).toThrow(
      expect.objectContaining({ code: 'invalid_epoch_table', path: '$.epochs' }),
    );
    expect(epochTableProblems(null)).toEqual([
      expect.objectContaining({ path: '$', code: 'type' }),
    ]);
  });
});

describe('nonStringKey', () => {
  it('names the kind of a value from its first byte as routingSourceOf names the parsed value', () => {
    for (const v of [{}, { a: 1 }, [], [1], true, false, null, 0, -12, 3.5]) {
      const text = JSON.stringify(v);
      expect(nonStringKey(text.charCodeAt(0)), text).toEqual(
        routingSourceOf({ timestamp_ns: 1n, x: v }).keyAt('/x'),
      );
    }
  });
});
