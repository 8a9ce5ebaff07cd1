import { readdirSync, readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import {
  DECISION_MEMBERS,
  DELTA_NODE_MEMBERS,
  PPP_MEMBERS,
  DecisionValidationError,
  parseDecisionLine,
  parseDecisionText,
  prepareDecision,
  tryPrepareDecision,
  validateDecision,
  type DecisionLimits,
  type DecisionProblem,
} from '../../../src/core/decision.ts';
import { canonicalJson } from '../../../src/core/jcs.ts';

const FIXTURES = new URL('../../fixtures/decisions/', import.meta.url);
const readJson = (rel: string): unknown => JSON.parse(readFileSync(new URL(rel, FIXTURES), 'utf8'));
const validNames = readdirSync(new URL('valid/', FIXTURES)).filter((f) => f.endsWith('.json'));
const invalidNames = readdirSync(new URL('invalid/', FIXTURES)).filter((f) => f.endsWith('.json'));

const minimal = (): Record<string, unknown> =>
  readJson('valid/minimal-autonomous.json') as Record<string, unknown>;
const codes = (problems: readonly DecisionProblem[]): [string, string][] =>
  problems.map((p) => [p.path, p.code]);

describe('member lists', () => {
  it('are in RFC 8785 order (the canonical serializer and the byte recognizer rely on it)', () => {
    for (const list of [DECISION_MEMBERS, PPP_MEMBERS, DELTA_NODE_MEMBERS]) {
      expect([...list].sort()).toEqual([...list]);
      expect(new Set(list).size).toBe(list.length);
    }
  });
});

describe('valid fixtures', () => {
  it('there are fixtures', () => expect(validNames.length).toBeGreaterThanOrEqual(3));
  it.each(validNames)('%s prepares, with canonical bytes equal to RFC 8785', (name) => {
    const input = readJson(`valid/${name}`);
    expect(validateDecision(input)).toEqual([]);
    const p = prepareDecision(input);
    expect(utf8.decode(p.canonical)).toBe(canonicalize(input));
    const d = input as Record<string, string>;
    expect(p.recordId).toBe(d.record_id);
    expect(p.timestampNs).toBe(BigInt(d.timestamp_ns as string));
    expect([p.entityId, p.sessionId, p.domain]).toEqual([d.entity_id, d.session_id, d.domain]);
    expect(p.decision).toBe(input);
  });
  it('the maximum u64 timestamp survives as a bigint', () => {
    const p = prepareDecision(readJson('valid/unicode-halt.json'));
    expect(p.timestampNs).toBe(2n ** 64n - 1n);
  });
});

describe('invalid fixtures: every problem, with its JSON path', () => {
  it('there are fixtures', () => expect(invalidNames.length).toBeGreaterThanOrEqual(15));
  it.each(invalidNames)('%s', (name) => {
    const fixture = readJson(`invalid/${name}`) as {
      input: unknown;
      problems: { path: string; code: string }[];
    };
    const problems = validateDecision(fixture.input);
    expect(codes(problems)).toEqual(fixture.problems.map((p) => [p.path, p.code]));
    for (const p of problems) expect(p.message.length).toBeGreaterThan(0);
    let caught: unknown;
    try {
      prepareDecision(fixture.input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecisionValidationError);
    expect((caught as DecisionValidationError).problems).toEqual(problems);
    expect((caught as DecisionValidationError).path).toBe(problems[0]?.path);
  });
});

describe('non-JSON values inside free-form fields', () => {
  it('are problems at their path (the first per field), with structural problems', () => {
    const d = minimal();
    d.ctx = { ok: 1, bad: [1, Number.NaN], lone: '\ud800' };
    d.output = ['\udfff'];
    d.model_id = '';
    expect(codes(validateDecision(d))).toEqual([
      ['$.model_id', 'empty'],
      ['$.ctx.bad[1]', 'not_json'],
      ['$.output[0]', 'not_json'],
    ]);
  });
  it('undefined, bigint and class instances are rejected, not dropped', () => {
    for (const bad of [undefined, 1n, new Date(0), () => 0]) {
      const d = minimal();
      d.output = { v: bad };
      expect(codes(validateDecision(d))).toEqual([['$.output.v', 'not_json']]);
    }
  });
});

describe('limits', () => {
  it('nesting deeper than maxDepth', () => {
    const d = minimal();
    d.ctx = { a: { b: { c: {} } } };
    expect(validateDecision(d, { maxDepth: 5 })).toEqual([]);
    expect(codes(validateDecision(d, { maxDepth: 4 }))).toEqual([['$.ctx.a.b.c', 'too_deep']]);
  });
  it('canonical size, id length, chain length and text length', () => {
    const d = minimal();
    const size = prepareDecision(d).canonical.length;
    expect(validateDecision(d, { maxRecordBytes: size })).toEqual([]);
    expect(codes(validateDecision(d, { maxRecordBytes: size - 1 }))).toEqual([['$', 'too_large']]);
    expect(codes(validateDecision(d, { maxIdLength: 8 }))).toEqual([
      ['$.record_id', 'too_long'],
      ['$.model_id', 'too_long'],
      ['$.entity_id', 'too_long'],
      ['$.session_id', 'too_long'],
    ]);
    expect(codes(validateDecision(d, { maxTextLength: 5 }))).toEqual([
      ['$.ppp_triplet.provenance', 'too_long'],
      ['$.ppp_triplet.purpose', 'too_long'],
      ['$.human_delta_chain[0].authority_ref', 'too_long'],
    ]);
    expect(codes(validateDecision(d, { maxChainLength: 0 }))).toEqual([
      ['$.human_delta_chain', 'chain_too_long'],
    ]);
  });
});

describe('chain rules that pass', () => {
  const node = (sequence: number, kind: string, extra: object = {}): object => ({
    sequence,
    kind,
    timestamp_ns: String(100 + sequence),
    ...(kind === 'autonomous'
      ? { authority_ref: 'policy:p' }
      : { actor: { name: 'A', role: 'r' } }),
    ...extra,
  });
  it.each([
    ['escalation then halt', [node(0, 'escalation'), node(1, 'halt')]],
    ['escalation then FOI', [node(0, 'escalation'), node(1, 'foi', { outcome: 'halted' })]],
    [
      'escalation, escalation resolved',
      [node(0, 'delta'), node(1, 'escalation'), node(2, 'delta')],
    ],
    ['autonomous then a delta', [node(0, 'autonomous'), node(5, 'delta')]],
    ['FOI modified', [node(0, 'foi', { outcome: 'modified', modification: { x: 1 } })]],
  ])('%s', (_name, chain) => {
    const d = minimal();
    d.human_delta_chain = chain;
    expect(validateDecision(d)).toEqual([]);
  });
  it('escalation followed by escalation is rejected', () => {
    const d = minimal();
    d.human_delta_chain = [node(0, 'escalation'), node(1, 'escalation'), node(2, 'delta')];
    expect(codes(validateDecision(d))).toEqual([
      ['$.human_delta_chain[0].kind', 'chain_escalation_unresolved'],
    ]);
  });
  it('fields that do not belong to a kind are rejected', () => {
    const d = minimal();
    d.human_delta_chain = [node(0, 'halt', { outcome: 'halted', modification: { a: 1 } })];
    expect(codes(validateDecision(d))).toEqual([
      ['$.human_delta_chain[0].outcome', 'chain_field_not_allowed'],
      ['$.human_delta_chain[0].modification', 'chain_field_not_allowed'],
    ]);
  });
});

describe('parseDecisionLine (NDJSON)', () => {
  const line = JSON.stringify(minimal());
  it('parses a valid line, with or without the trailing CR/LF', () => {
    for (const text of [line, `${line}\n`, `${line}\r\n`]) {
      const r = parseDecisionLine(utf8.encode(text));
      expect(r.ok).toBe(true);
    }
  });
  it('invalid UTF-8 is a problem, not an exception', () => {
    const bytes = utf8.encode(line);
    const bad = new Uint8Array([...bytes.slice(0, 20), 0xc3, 0x28, ...bytes.slice(20)]);
    expect(parseDecisionLine(bad)).toEqual({
      ok: false,
      problems: [{ path: '$', code: 'invalid_utf8', message: 'input is not valid UTF-8' }],
    });
  });
  it('strict UTF-8: encoded surrogates, overlong forms and truncated sequences are rejected', () => {
    const prefix = utf8.encode('{"record_id":"');
    for (const bad of [
      [0xed, 0xa0, 0x80],
      [0xc0, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      const r = parseDecisionLine(new Uint8Array([...prefix, ...bad, 0x22, 0x7d]));
      expect(!r.ok && r.problems[0]?.code).toBe('invalid_utf8');
    }
  });
  it('a leading byte order mark is ignored', () => {
    const r = parseDecisionLine(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8.encode(line)]));
    expect(r.ok).toBe(true);
  });
  it('malformed JSON and empty lines are problems with a clear message', () => {
    const r = parseDecisionLine(utf8.encode(line.slice(0, -1)));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems[0]?.code).toBe('malformed_json');
      expect(r.problems[0]?.message).toMatch(/^input is not JSON: /);
    }
    const empty = parseDecisionText('  ');
    expect(!empty.ok && empty.problems[0]?.message).toBe('input is not JSON: empty input');
  });
  it('oversize input is refused before decoding', () => {
    const r = parseDecisionLine(utf8.encode(line), { maxInputBytes: 10 });
    expect(!r.ok && r.problems[0]?.code).toBe('too_large');
  });
  it('never throws on arbitrary bytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseDecisionLine(bytes);
        expect(r.ok).toBe(false);
      }),
    );
  });
  it('never throws on arbitrary single-byte corruptions of a valid line (fast-check)', () => {
    const bytes = utf8.encode(line);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const copy = bytes.slice();
        copy[i] = b;
        const r = parseDecisionLine(copy);
        if (r.ok) expect(utf8.decode(r.prepared.canonical)).toBe(canonicalize(r.prepared.decision));
      }),
    );
  });
});

describe('prepareDecision is pure', () => {
  it('does not modify its input and gives the same bytes twice', () => {
    const input = readJson('valid/escalated-foi.json');
    const before = JSON.stringify(input);
    const a = prepareDecision(input);
    const b = prepareDecision(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(a.canonical).toEqual(b.canonical);
  });
});

describe('examples/decisions.ndjson (the quickstart input)', () => {
  const text = readFileSync(new URL('../../../examples/decisions.ndjson', import.meta.url), 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  it('every line is a valid decision, with unique record ids', () => {
    expect(lines.length).toBeGreaterThanOrEqual(20);
    const ids = new Set<string>();
    for (const line of lines) {
      const r = parseDecisionLine(utf8.encode(line));
      expect(r.ok ? [] : r.problems).toEqual([]);
      if (r.ok) ids.add(r.prepared.recordId);
    }
    expect(ids.size).toBe(lines.length);
  });
});

describe('parseDecisionLine keeps input that is already canonical', () => {
  /** A decision as the shard tests send it: about 400 bytes, printable ASCII throughout. */
  const shardStyle = (i: number): Record<string, unknown> => ({
    ctx: {},
    domain: 'd',
    entity_id: `entity-${i % 1000}`,
    human_delta_chain: [
      { authority_ref: 'p', kind: 'autonomous', sequence: 0, timestamp_ns: `${1767225600 + i}` },
    ],
    model_id: 'm1',
    output: 'y',
    ppp_triplet: { place: 'CA', provenance: 'model v3', purpose: 'q' },
    reasoning_trace: 'x'.repeat(150),
    record_id: `r-${i}`,
    session_id: 's',
    spec_version: '0.2',
    timestamp_ns: `${1767225600 + i}`,
  });
  const valid = (): [string, unknown][] => [
    ['shard-style', shardStyle(7)],
    ['minimal', minimal()],
    ...validNames.map((n): [string, unknown] => [n, readJson(`valid/${n}`)]),
  ];

  /** Same members, every object's members in reverse canonical order. */
  const reversed = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(reversed);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v).sort().reverse();
    return Object.fromEntries(keys.map((k) => [k, reversed((v as Record<string, unknown>)[k])]));
  };
  const forms = (v: unknown): [string, string][] => {
    const canonical = canonicalJson(v);
    return [
      ['canonical', canonical],
      ['compact, members as given', JSON.stringify(v)],
      ['pretty-printed', JSON.stringify(v, null, 2)],
      ['members reversed', JSON.stringify(reversed(v))],
      // The first letter of a string value as \u00xx, and "/" as "\/".
      [
        'escaped letter',
        canonical.replace(
          /":"([A-Za-z])/,
          (_m, c: string) => `":"\\u00${c.charCodeAt(0).toString(16)}`,
        ),
      ],
      ['escaped solidus', canonical.replaceAll('/', '\\/')],
      ['trailing space', `${canonical} `],
    ];
  };
  /** Before the fast path, parseDecisionLine was exactly this (the serializer's result). */
  const reference = (text: string, limits?: Partial<DecisionLimits>) =>
    tryPrepareDecision(JSON.parse(text), limits);

  it.each(valid())('%s: the same result in every form; canonical input is kept', (_n, d) => {
    for (const [form, text] of forms(d)) {
      const bytes = utf8.encode(text);
      const r = parseDecisionLine(bytes);
      expect(r, form).toEqual(reference(text));
      expect(r.ok, form).toBe(true);
      if (!r.ok) continue;
      expect(utf8.decode(r.prepared.canonical)).toBe(canonicalize(d));
      expect(r.prepared.canonical.constructor).toBe(Uint8Array);
      const isCanonical = text === canonicalJson(d);
      expect(isCanonical || form !== 'canonical').toBe(true);
      expect(Buffer.from(r.prepared.canonical).equals(bytes), form).toBe(isCanonical);
    }
  });

  it('canonical input is a view of the input bytes, not a copy', () => {
    const text = canonicalJson(shardStyle(1));
    const body = Buffer.from(`xx${text}yy`);
    const bytes = body.subarray(2, body.length - 2);
    const r = parseDecisionLine(bytes);
    expect(r.ok && r.prepared.canonical.buffer).toBe(bytes.buffer);
    expect(r.ok && r.prepared.canonical.byteOffset).toBe(bytes.byteOffset);
    expect(r.ok && r.prepared.canonical.length).toBe(text.length);
    // A form the fast path declines (a member name outside ASCII) is serialized into new bytes.
    const declined = canonicalJson({ ...shardStyle(1), ctx: { é: 1 } });
    const rd = parseDecisionLine(utf8.encode(declined));
    expect(rd.ok && utf8.decode(rd.prepared.canonical)).toBe(declined);
    expect(rd).toEqual(reference(declined));
  });

  it('invalid decisions written canonically get the same problems', () => {
    const base = shardStyle(2);
    const cases: Record<string, unknown>[] = [
      { ...base, zzz: 1 },
      { ...base, ctx: 'not an object' },
      { ...base, record_id: 'a b' },
      { ...base, spec_version: '0.1', human_delta_chain: [] },
      Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'output')),
      { ...base, human_delta_chain: [{ kind: 'halt', sequence: -1, timestamp_ns: '01' }] },
    ];
    for (const d of cases) {
      const text = canonicalJson(d);
      const r = parseDecisionLine(utf8.encode(text));
      expect(r.ok, text).toBe(false);
      expect(r, text).toEqual(reference(text));
    }
  });

  it('texts JSON.parse accepts but that have no canonical form as written', () => {
    const text = canonicalJson(shardStyle(3));
    for (const variant of [
      text.replace('"ctx":{}', '"ctx":{"a":1,"a":2}'), // duplicate: the last one counts
      text.replace('"ctx":{}', '"ctx":{"b":1,"a":2}'),
      text.replace('"ctx":{}', '"ctx":{"x":1e400}'), // Infinity: not JSON
      text.replace('"ctx":{}', '"ctx":{"x":-0}'),
      text.replace('"ctx":{}', '"ctx":{"x":1.0}'),
      text.replace('"ctx":{}', '"ctx":{"x":"\\ud800"}'), // lone surrogate: not JSON
      text.replace('"ctx":{}', '"ctx":{"x":"\\u001F"}'),
    ]) {
      expect(variant).not.toBe(text);
      const r = parseDecisionLine(utf8.encode(variant));
      expect(r, variant).toEqual(reference(variant));
    }
  });

  it('nesting and size limits are the same as before, at and around the limit', () => {
    const d = { ...shardStyle(4), ctx: { a: { b: { c: {} } } } };
    const text = canonicalJson(d);
    const size = utf8.encode(text).length;
    const limits: Partial<DecisionLimits>[] = [
      { maxDepth: 3 },
      { maxDepth: 4 },
      { maxDepth: 5 },
      { maxRecordBytes: size },
      { maxRecordBytes: size - 1 },
      { maxInputBytes: size },
      { maxInputBytes: size - 1 },
    ];
    const outcomes = limits.map((l) => {
      const r = parseDecisionLine(utf8.encode(text), l);
      if (l.maxInputBytes === undefined) expect(r, JSON.stringify(l)).toEqual(reference(text, l));
      return r.ok ? 'ok' : r.problems.map((p) => `${p.path} ${p.code}`).join();
    });
    expect(outcomes).toEqual([
      '$.ctx.a.b too_deep',
      '$.ctx.a.b.c too_deep',
      'ok',
      'ok',
      '$ too_large',
      'ok',
      '$ too_large',
    ]);
  });

  it('the same result as the serializer for random decisions in random forms (fast-check)', () => {
    // Mostly names the fast path handles; some it declines (escapes, non-ASCII).
    const name = fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '_', '1', ' ') }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
    );
    const json = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(name, tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    const decision = fc.record({
      ctx: fc.dictionary(name, json, { maxKeys: 3 }),
      output: json,
      ext: fc.option(fc.dictionary(name, json, { maxKeys: 2 }), { nil: undefined }),
      reasoning_trace: fc.oneof(fc.string({ unit: 'binary' }), fc.array(json, { maxLength: 3 })),
      purpose: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
    });
    // Half the texts in canonical form, the rest spread over the other forms.
    const form = fc.oneof(fc.constant(0), fc.nat(6));
    let kept = 0;
    let serialized = 0;
    fc.assert(
      fc.property(decision, form, fc.integer({ min: 2, max: 8 }), (parts, formIndex, maxDepth) => {
        const d: Record<string, unknown> = {
          ...shardStyle(5),
          ctx: parts.ctx,
          output: parts.output,
          reasoning_trace: parts.reasoning_trace,
          ppp_triplet: { place: 'CA', provenance: 'p', purpose: parts.purpose },
        };
        if (parts.ext !== undefined) d.ext = parts.ext;
        const text = (forms(d)[formIndex] as [string, string])[1];
        const bytes = utf8.encode(text);
        const r = parseDecisionLine(bytes, { maxDepth });
        expect(r).toEqual(reference(text, { maxDepth }));
        if (r.ok) {
          const same = Buffer.from(r.prepared.canonical).equals(bytes);
          expect(same).toBe(text === canonicalJson(JSON.parse(text)));
          if (r.prepared.canonical.buffer === bytes.buffer) kept++;
          else serialized++;
        }
      }),
      { numRuns: 300 },
    );
    // Both paths ran.
    expect(kept).toBeGreaterThan(20);
    expect(serialized).toBeGreaterThan(20);
  });
});
