import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { prepareDecision } from '../../../src/core/decision.ts';
import {
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeInto,
  envelopeMaxLength,
  EnvelopeError,
  EnvelopeTemplate,
  matchJsonChars,
  RoutingJsonReader,
  routingJson,
  routingJsonMaxLength,
  writeRoutingJson,
  type EnvelopeMeta,
  type EnvelopeRouting,
} from '../../../src/core/envelope.ts';
import { canonicalBytes } from '../../../src/core/jcs.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';

// An SDK record: its 19-digit integers must survive the splice and the strict decode.
const decision = parseJsonExact(
  readFileSync(
    new URL('../../fixtures/upstream/sdk/escalated-twice-then-foi.json', import.meta.url),
    'utf8',
  ),
);

const meta: EnvelopeMeta = {
  shard: 2,
  seq: 41,
  timestamp_ns: '1773532800500000000',
  routing: { epoch: 1, key: 'client-8812', pointer: '/ctx/entity_id', strategy: 'hash-by-entity' },
};

const whole = (m: EnvelopeMeta, d: unknown): Uint8Array =>
  canonicalBytes({
    decision: d,
    routing: m.routing,
    seq: m.seq,
    shard: m.shard,
    timestamp_ns: m.timestamp_ns,
  });

const arbMeta: fc.Arbitrary<EnvelopeMeta> = fc.record({
  shard: fc.nat(),
  seq: fc.maxSafeNat(),
  timestamp_ns: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => b.toString()),
  routing: fc.oneof(
    fc.record({
      epoch: fc.nat(),
      key: fc.string({ unit: 'grapheme' }),
      pointer: fc.string({ unit: 'grapheme' }),
      strategy: fc.string({ unit: 'grapheme', minLength: 1 }),
    }),
    fc.record({
      epoch: fc.nat(),
      key: fc.constant(null),
      pointer: fc.constant(null),
      strategy: fc.string({ unit: 'grapheme', minLength: 1 }),
    }),
  ),
});

describe('encodeEnvelope (splice) equals RFC 8785 of the whole envelope', () => {
  it('for the fixture decision', () => {
    const p = prepareDecision(decision);
    expect(encodeEnvelope(meta, p.canonical)).toEqual(whole(meta, decision));
  });
  it('for arbitrary metadata (unicode routing keys) and arbitrary JSON decisions', () => {
    fc.assert(
      fc.property(arbMeta, fc.jsonValue(), (m, d) => {
        expect(encodeEnvelope(m, canonicalBytes(d))).toEqual(whole(m, d));
      }),
      { numRuns: 300 },
    );
  });
  it('rejects metadata that has no canonical form', () => {
    const p = prepareDecision(decision);
    const cases: [Partial<EnvelopeMeta>, string][] = [
      [{ shard: -1 }, '$.shard'],
      [{ seq: 1.5 }, '$.seq'],
      [{ timestamp_ns: '01' }, '$.timestamp_ns'],
      [{ routing: { epoch: 0, key: '\ud800', pointer: '/k', strategy: 'x' } }, '$.routing.key'],
      [{ routing: { epoch: 0, key: 'k', pointer: '/k', strategy: '' } }, '$.routing.strategy'],
    ];
    for (const [patch, path] of cases) {
      expect(() => encodeEnvelope({ ...meta, ...patch }, p.canonical)).toThrow(
        expect.objectContaining({ path }),
      );
    }
  });
});

/** Metadata with no canonical form, and the path the error names. */
const badMeta: [Partial<EnvelopeMeta>, string][] = [
  [{ shard: -1 }, '$.shard'],
  [{ seq: 2 ** 53 }, '$.seq'],
  [{ timestamp_ns: '-1' }, '$.timestamp_ns'],
  [{ routing: { epoch: 1.5, key: 'k', pointer: '/k', strategy: 'x' } }, '$.routing.epoch'],
  [{ routing: { epoch: 0, key: 'k\udc00', pointer: '/k', strategy: 'x' } }, '$.routing.key'],
  [{ routing: { epoch: 0, key: 'k', pointer: '/k', strategy: '\ud800' } }, '$.routing.strategy'],
  [{ routing: { epoch: 0, key: 'k', pointer: '/k', strategy: '' } }, '$.routing.strategy'],
  [{ routing: { epoch: 0, key: null, pointer: '/k', strategy: 'x' } }, '$.routing.pointer'],
];

/**
 * What `write` puts at `offset` of a pre-filled buffer with exactly `room` bytes after it;
 * checks nothing else in the buffer changed.
 */
function intoPrefilled(
  room: number,
  offset: number,
  write: (target: Uint8Array) => number,
): Uint8Array {
  const target = new Uint8Array(offset + room).fill(0xa5);
  const n = write(target);
  expect(target.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
  expect(target.subarray(offset + n).every((b) => b === 0xa5)).toBe(true);
  return target.slice(offset, offset + n);
}

/** encodeEnvelopeInto at `offset` of a buffer with exactly the room it asks for, pre-filled. */
function encodeInto(m: EnvelopeMeta, canonical: Uint8Array, offset: number): Uint8Array {
  return intoPrefilled(envelopeMaxLength(m, canonical.length), offset, (target) =>
    encodeEnvelopeInto(m, canonical, target, offset),
  );
}

describe('encodeEnvelopeInto (splice into a buffer) equals RFC 8785 of the whole envelope', () => {
  it('for the fixture decision', () => {
    const p = prepareDecision(decision);
    expect(encodeInto(meta, p.canonical, 7)).toEqual(whole(meta, decision));
  });
  it('for arbitrary metadata (unicode routing keys), decisions and offsets', () => {
    fc.assert(
      fc.property(arbMeta, fc.jsonValue(), fc.nat(64), (m, d, offset) => {
        expect(encodeInto(m, canonicalBytes(d), offset)).toEqual(whole(m, d));
      }),
      { numRuns: 300 },
    );
  });
  it('for routing keys that need escapes or are not ASCII', () => {
    const keys = fc.string({
      unit: fc.constantFrom('"', '\\', '\n', '\u001f', '\u007f', 'é', '😀', 'a'),
    });
    fc.assert(
      fc.property(keys, keys, (key, strategy) => {
        const m = { ...meta, routing: { epoch: 3, key, pointer: key, strategy: strategy || 's' } };
        expect(encodeInto(m, canonicalBytes(decision), 1)).toEqual(whole(m, decision));
      }),
      { numRuns: 200 },
    );
  });
  it('rejects metadata that has no canonical form, and a target without room', () => {
    const p = prepareDecision(decision);
    const target = new Uint8Array(envelopeMaxLength(meta, p.canonical.length));
    for (const [patch, path] of badMeta) {
      expect(() => encodeEnvelopeInto({ ...meta, ...patch }, p.canonical, target, 0)).toThrow(
        expect.objectContaining({ path }),
      );
    }
    expect(() => encodeEnvelopeInto(meta, p.canonical, target, 1)).toThrow(RangeError);
  });
});

/**
 * EnvelopeTemplate.encodeRoutedInto of `canonical` placed at `at` of a larger source, with the
 * routing rendered by routingJson inside a larger buffer too.
 */
function templateInto(
  m: EnvelopeMeta,
  canonical: Uint8Array,
  at: number,
  offset: number,
  template = new EnvelopeTemplate(m.shard, m.timestamp_ns),
): Uint8Array {
  const source = new Uint8Array(at + canonical.length + 3).fill(0x7b);
  source.set(canonical, at);
  const routing = utf8.encode(`xy${routingJson(m.routing)}z`);
  const rEnd = routing.length - 1;
  const room = template.maxRoutedLength(rEnd - 2, canonical.length);
  return intoPrefilled(room, offset, (target) =>
    template.encodeRoutedInto(
      routing,
      2,
      rEnd,
      m.seq,
      source,
      at,
      at + canonical.length,
      target,
      offset,
    ),
  );
}

describe('EnvelopeTemplate (shard and timestamp encoded once, routing as bytes) equals RFC 8785 of the whole envelope', () => {
  it('for the fixture decision', () => {
    const p = prepareDecision(decision);
    expect(templateInto(meta, p.canonical, 5, 3)).toEqual(whole(meta, decision));
  });
  it('for arbitrary metadata (unicode routing keys), decisions, positions in the source and offsets', () => {
    fc.assert(
      fc.property(arbMeta, fc.jsonValue(), fc.nat(64), fc.nat(64), (m, d, at, offset) => {
        expect(templateInto(m, canonicalBytes(d), at, offset)).toEqual(whole(m, d));
      }),
      { numRuns: 300 },
    );
  });
  it('one template for many entries: each with its own routing and seq', () => {
    const template = new EnvelopeTemplate(meta.shard, meta.timestamp_ns);
    const p = prepareDecision(decision);
    for (const [seq, key] of [
      [0, 'a'],
      [9, 'é"\\'],
      [2 ** 53 - 1, '😀'],
    ] as const) {
      const m = { ...meta, seq, routing: { ...meta.routing, key } };
      expect(templateInto(m, p.canonical, 0, 0, template)).toEqual(whole(m, decision));
    }
  });
  it('rejects metadata that has no canonical form, bad ranges and a target without room', () => {
    for (const [patch, path] of badMeta) {
      const m = { ...meta, ...patch };
      // Routing problems are caught where the routing is rendered, the rest by the template.
      const render = (): unknown => templateInto(m, prepareDecision(decision).canonical, 0, 0);
      expect(render).toThrow(expect.objectContaining({ path }));
    }
    const p = prepareDecision(decision);
    const routing = utf8.encode(routingJson(meta.routing));
    const template = new EnvelopeTemplate(meta.shard, meta.timestamp_ns);
    const room = template.maxRoutedLength(routing.length, p.canonical.length);
    const encode = (seq: number, rEnd: number, end: number, target: Uint8Array): number =>
      template.encodeRoutedInto(routing, 0, rEnd, seq, p.canonical, 0, end, target, 0);
    const target = new Uint8Array(room);
    const len = p.canonical.length;
    const n = encode(meta.seq, routing.length, len, target);
    expect(target.slice(0, n)).toEqual(whole(meta, decision));
    expect(() => encode(-1, routing.length, len, target)).toThrow(
      expect.objectContaining({ path: '$.seq' }),
    );
    expect(() => encode(1, routing.length + 1, len, target)).toThrow(RangeError);
    expect(() => encode(1, 0, len, target)).toThrow(RangeError);
    expect(() => encode(1, routing.length, len + 1, target)).toThrow(RangeError);
    expect(() => encode(1, routing.length, len, new Uint8Array(room - 1))).toThrow(RangeError);
  });
});

describe('routing JSON rendered as bytes', () => {
  it('writeRoutingJson and routingJson are RFC 8785 of the routing object', () => {
    fc.assert(
      fc.property(arbMeta, fc.nat(32), (m, at) => {
        const want = canonicalBytes(m.routing);
        expect(utf8.encode(routingJson(m.routing))).toEqual(want);
        const target = new Uint8Array(at + routingJsonMaxLength(m.routing));
        const end = writeRoutingJson(m.routing, target, at);
        expect(target.slice(at, end)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RoutingJsonReader reads back what writeRoutingJson writes', () => {
  // One reader for all (it keeps the pointer-and-strategy bytes of one routing for the next).
  const reader = new RoutingJsonReader();
  const read = (b: Uint8Array, at = 0): EnvelopeRouting | undefined =>
    reader.read(Buffer.from(b.buffer, b.byteOffset, b.length), at);

  /** Whether writeJsonString writes `s` with no escape (what the reader reads). */
  const plain = (s: string | null): boolean =>
    s === null || [...s].every((c) => c >= ' ' && c !== '"' && c !== '\\' && c !== '\ufffd');

  it('reads every routing written with no escape as JSON.parse does, and sets its end', () => {
    fc.assert(
      fc.property(arbMeta, fc.nat(8), (m, at) => {
        const r = m.routing;
        const target = new Uint8Array(at + routingJsonMaxLength(r) + 2).fill(0x7d);
        const end = writeRoutingJson(r, target, at);
        const got = read(target, at);
        if (plain(r.key) && plain(r.pointer) && plain(r.strategy)) {
          expect(got).toEqual(JSON.parse(utf8.decode(target.subarray(at, end))));
          expect(got).toEqual(r);
          expect(reader.end).toBe(end);
        } else expect(got).toBeUndefined();
        // Not a byte shorter, nor one later.
        expect(read(target.subarray(0, end - 1), at)).toBeUndefined();
        expect(read(target, at + 1)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('reads routings in a row that share, and then change, pointer and strategy', () => {
    const routings: EnvelopeRouting[] = [
      meta.routing,
      { ...meta.routing, key: 'client-9', epoch: 7 },
      { epoch: 2, key: null, pointer: null, strategy: 'domain-partitioned' },
      { epoch: 2, key: 'k', pointer: '/ctx/domain', strategy: 'domain-partitioned' },
      { ...meta.routing, strategy: 'hash-by-entity-2' },
      meta.routing,
    ];
    const texts = routings.map((r) => routingJson(r));
    const bytes = utf8.encode(texts.join(''));
    let at = 0;
    routings.forEach((r) => {
      expect(read(bytes, at)).toEqual(r);
      at = reader.end;
    });
    expect(at).toBe(bytes.length);
  });

  it('keeps its own copy of the bytes it compares with (a body may be reused)', () => {
    const r1 = { ...meta.routing, strategy: 'hash-by-entity-a' };
    const r2 = { ...meta.routing, strategy: 'hash-by-entity-b' };
    const body = Buffer.from(routingJson(r1));
    expect(reader.read(body, 0)).toEqual(r1);
    // The same memory now holds another answer.
    body.write(routingJson(r2));
    expect(reader.read(Buffer.from(routingJson(r2)), 0)).toEqual(r2);
  });

  it('declines other spellings and what checkRouting refuses', () => {
    const text = routingJson(meta.routing);
    expect(read(utf8.encode(text))).toEqual(meta.routing);
    for (const other of [
      text.replace('"epoch":1', '"epoch":01'),
      text.replace('"epoch":1', '"epoch":1.0'),
      text.replace('"epoch":1', '"epoch":-1'),
      text.replace('"epoch":1', '"epoch":9007199254740992'),
      text.replace('"epoch":1', '"epoch": 1'),
      text.replace('"client-8812"', '"client\\u002d8812"'),
      text.replace('"client-8812"', '"client-8812\t"'),
      text.replace('"/ctx/entity_id"', '"\\/ctx/entity_id"'),
      text.replace('"hash-by-entity"', '""'),
      text.replace('"hash-by-entity"', 'null'),
      text.replace('"client-8812"', 'null'),
      text.replace('"/ctx/entity_id"', 'null'),
      text.replace('{"epoch":1,"key":"client-8812"', '{"key":"client-8812","epoch":1'),
      text.replace('}', ',"x":1}'),
      text.replace('}', ' }'),
    ]) {
      expect(other).not.toBe(text);
      expect(read(utf8.encode(other))).toBeUndefined();
    }
    // Bytes that are not UTF-8 (JSON.parse of their text would read U+FFFD).
    const broken = utf8.encode(text.replace('client', 'cli\u00e9nt'));
    const k = broken.indexOf(0xc3);
    broken[k + 1] = 0x41;
    expect(read(broken)).toBeUndefined();
  });

  it('matchJsonChars compares UTF-8 of every width and declines what needs an escape', () => {
    const chars = (s: string): Uint8Array => utf8.encode(`${JSON.stringify(s).slice(1, -1)}"`);
    for (const s of ['', 'a', 'é', '中', '😀', 'a\u007fé中😀z']) {
      const bytes = chars(s);
      expect(matchJsonChars(bytes, 0, s)).toBe(bytes.length - 1);
      if (s !== '') expect(matchJsonChars(bytes.subarray(0, bytes.length - 2), 0, s)).toBe(-1);
      expect(matchJsonChars(chars(`${s.slice(0, -1)}x`), 0, s)).toBe(s === '' ? 0 : -1);
    }
    // A lone surrogate: never the bytes of U+FFFD that a lenient decoder would read.
    expect(matchJsonChars(utf8.encode('\ufffd'), 0, '\ud800')).toBe(-1);
    expect(matchJsonChars(utf8.encode('\ufffd'), 0, '\udc00')).toBe(-1);
    for (const s of ['"', '\\', '\n', '\u0000']) {
      expect(matchJsonChars(utf8.encode(s), 0, s)).toBe(-1);
      expect(matchJsonChars(chars(s), 0, s)).toBe(-1);
    }
  });
});

describe('decodeEnvelope', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(arbMeta, fc.jsonValue(), (m, d) => {
        const bytes = encodeEnvelope(m, canonicalBytes(d));
        const out = decodeEnvelope(bytes);
        expect(out.meta).toEqual(m);
        expect(out.decisionBytes).toEqual(canonicalBytes(d));
      }),
      { numRuns: 200 },
    );
  });
  const good = utf8.decode(encodeEnvelope(meta, prepareDecision(decision).canonical));
  it.each([
    ['whitespace', good.replace('"seq":41', '"seq": 41'), 'not_canonical'],
    [
      'member order',
      good.replace(/^\{"decision":(.*),"routing":(\{[^}]*\})/, '{"routing":$2,"decision":$1'),
      'not_canonical',
    ],
    ['number spelling', good.replace('"seq":41', '"seq":4.1e1'), 'not_canonical'],
    ['escaped character', good.replace('client-8812"', 'client-881\\u0032"'), 'not_canonical'],
    ['extra member', good.replace('"seq":41', '"extra":1,"seq":41'), 'malformed'],
    ['missing member', good.replace(',"seq":41', ''), 'malformed'],
    [
      'timestamp as number',
      good.replace('"timestamp_ns":"1773532800500000000"', '"timestamp_ns":1'),
      'malformed',
    ],
    ['trailing newline', `${good}\n`, 'not_canonical'],
    ['not JSON', good.slice(1), 'malformed'],
  ])('rejects %s', (_name, text, code) => {
    expect(text).not.toBe(good);
    let caught: unknown;
    try {
      decodeEnvelope(utf8.encode(text));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EnvelopeError);
    expect((caught as EnvelopeError).code).toBe(code);
  });
  it('rejects invalid UTF-8', () => {
    const bytes = utf8.encode(good);
    bytes[20] = 0xff;
    expect(() => decodeEnvelope(bytes)).toThrow(EnvelopeError);
  });
});
