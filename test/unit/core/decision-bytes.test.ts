// The canonical-bytes recognizer (ingest's fast path) against the full path: whatever it
// accepts, the full path accepts unchanged with the same record_id, timestamp and routing keys
// (soundness, on generated and damaged records); and it accepts the canonical form of every
// valid record in the forms producers write (completeness, on upstream fixtures and generated
// records).
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, utf8 } from '../../../src/core/bytes.ts';
import {
  acceptCanonicalDecision,
  acceptCanonicalDecisionTransient,
  type AcceptedDecision,
} from '../../../src/core/decision-bytes.ts';
import {
  decisionLimits,
  parseDecisionLine,
  type DecisionLimits,
} from '../../../src/core/decision.ts';
import { canonicalBytes } from '../../../src/core/jcs.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';
import { routingSourceOf } from '../../../src/core/routing.ts';
import { upstreamRecord } from '../../fixtures/records.ts';
import { editByte } from './byte-edit.ts';

type Obj = Record<string, unknown>;
type Verdict = 'accepted' | 'declined' | 'invalid';

const DEFAULTS = decisionLimits();
const POINTERS = [
  '/record_id',
  '/entity_id',
  '/ctx/entity_id',
  '/ctx/session_id',
  '/ctx',
  '/timestamp_ns',
  '/ctx/list/1',
  '/ppp_triplet/place',
  '/nope',
  '/ctx/a~1b',
];
const show = (bytes: Uint8Array): string => JSON.stringify(Buffer.from(bytes).toString('utf8'));

/** Runs both paths on `bytes` and checks that whatever is accepted agrees with the full path. */
function judge(bytes: Uint8Array, limits: DecisionLimits = DEFAULTS): Verdict {
  const fast = acceptCanonicalDecision(bytes, limits);
  const full = parseDecisionLine(bytes, limits);
  if (fast === undefined) return full.ok ? 'declined' : 'invalid';
  if (!full.ok)
    expect.fail(
      `accepted, but the full path rejects ${show(bytes)}: ${JSON.stringify(full.problems)}`,
    );
  const p = full.prepared;
  if (!bytesEqual(p.canonical, bytes)) expect.fail(`accepted non-canonical ${show(bytes)}`);
  expect(fast.record_id).toBe(p.recordId);
  expect(utf8.decode(bytes.subarray(fast.recordIdStart, fast.recordIdEnd))).toBe(p.recordId);
  expect(fast.timestampNs).toBe(p.timestampNs);
  const source = routingSourceOf(p.decision);
  for (const pointer of POINTERS)
    expect(fast.keyAt(pointer), pointer).toEqual(source.keyAt(pointer));
  // Ingest passes Buffers (views into request bodies): the same answer.
  expect(acceptCanonicalDecision(Buffer.from(bytes), limits)?.record_id).toBe(p.recordId);
  // The shard's transient result, for the bytes where they lie in a larger body: the same.
  const body = new Uint8Array(bytes.length + 10).fill(0x20);
  body.set(bytes, 7);
  const view = body.subarray(7, 7 + bytes.length);
  const transient = acceptCanonicalDecisionTransient(view, limits);
  if (transient === undefined) expect.fail(`only the owned result accepts ${show(bytes)}`);
  expect(fieldsOf(transient)).toEqual(fieldsOf(fast));
  return 'accepted';
}

/** What a caller reads of an accepted decision. */
function fieldsOf(d: AcceptedDecision): unknown[] {
  return [
    d.record_id,
    d.recordIdStart,
    d.recordIdEnd,
    d.timestampNs,
    ...POINTERS.map((pointer) => d.keyAt(pointer)),
  ];
}

const fixtureDir = new URL('../../fixtures/upstream/', import.meta.url);
const fixtureValues: [string, Obj][] = ['sdk', 'spec'].flatMap((dir) =>
  readdirSync(new URL(dir, fixtureDir))
    .filter((f) => f.endsWith('.json'))
    .map((f): [string, Obj] => [
      `${dir}/${f}`,
      parseJsonExact(readFileSync(new URL(`${dir}/${f}`, fixtureDir), 'utf8')) as Obj,
    ]),
);

// Member names the recognizer reads as they are (printable ASCII, no escapes); values of any
// JSON type with such names (strings may hold anything).
const plainName = fc.string({
  unit: fc.constantFrom('a', 'z', '_', '0', '~', '/', ' '),
  minLength: 1,
});
const plainValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    fc.string({ unit: 'grapheme' }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc
      .bigInt({ min: -(2n ** 70n), max: 2n ** 70n })
      .filter((b) => b < -(2n ** 53n) || b > 2n ** 53n),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(plainName, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Generated valid records: every chain shape and optional member the format allows. */
const arbRecord: fc.Arbitrary<Obj> = fc
  .record({
    i: fc.nat(10_000),
    chain: fc.constantFrom('autonomous', 'approved', 'escalated-foi') as fc.Arbitrary<
      'autonomous' | 'approved' | 'escalated-foi'
    >,
    entity: fc.option(
      fc.string({ unit: fc.constantFrom('a', 'Z', '"', '\\', 'é', '😀', '\n', '/') }),
      { nil: undefined },
    ),
    ctxEntity: fc.option(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), {
      nil: undefined,
    }),
    drop: fc.subarray([
      'model_id',
      'merkle_hash',
      'merkle_position',
      'prev_merkle_hash',
      'signature',
      'committed',
      'resolved',
      'terminal_node',
      'autonomous',
      'resolution',
      'initiated_at_ns',
    ]),
    extra: fc.dictionary(plainName, plainValue, { maxKeys: 2 }),
    trace: plainValue,
  })
  .map(({ i, chain, entity, ctxEntity, drop, extra, trace }) => {
    const r = upstreamRecord(i, {
      chain,
      ...(entity === undefined ? {} : { entity }),
      ctx: {
        ...(ctxEntity === undefined ? {} : { entity_id: ctxEntity }),
        list: ['x', 'y'],
        'a/b': 'slash',
      },
      reasoningTrace: trace,
    });
    const c = r.human_delta_chain as Obj;
    for (const name of drop) {
      delete r[name];
      delete c[name];
    }
    for (const [k, v] of Object.entries(extra)) if (!(k in r)) r[`x_${k}`] = v;
    return r;
  });

describe('completeness: canonical forms of valid records are accepted', () => {
  it.each(fixtureValues)('upstream fixture %s', (_name, value) => {
    expect(judge(canonicalBytes(value))).toBe('accepted');
  });
  it('generated records (fast-check)', () => {
    fc.assert(
      fc.property(arbRecord, (r) => {
        expect(judge(canonicalBytes(r))).toBe('accepted');
      }),
      { numRuns: 400 },
    );
  });
  it('non-canonical input is never accepted (the full path re-serializes it)', () => {
    for (const [, value] of fixtureValues) {
      const spaced = utf8.encode(
        JSON.stringify(JSON.parse(utf8.decode(canonicalBytes(value))), null, 1),
      );
      expect(acceptCanonicalDecision(spaced, DEFAULTS)).toBeUndefined();
    }
  });
});

describe('soundness: whatever is accepted, the full path accepts the same', () => {
  it('damaged records: one byte replaced, inserted or removed (fast-check)', () => {
    const goods = fixtureValues.map(([, v]) => canonicalBytes(v));
    fc.assert(
      fc.property(
        fc.nat(goods.length - 1),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'remove'),
        (k, at, byte, edit) => {
          const good = goods[k] as Uint8Array;
          judge(editByte(good, at % (good.length + 1), byte, edit as 'replace'));
        },
      ),
      { numRuns: 3000 },
    );
  });
  it('records with a member removed or replaced anywhere (fast-check)', () => {
    const paths = (v: unknown, at: (string | number)[] = []): (string | number)[][] =>
      typeof v === 'object' && v !== null
        ? Object.entries(v).flatMap(([k, x]) => {
            const p = [...at, Array.isArray(v) ? Number(k) : k];
            return [p, ...paths(x, p)];
          })
        : [];
    fc.assert(
      fc.property(
        arbRecord,
        fc.nat(),
        fc.option(
          fc.oneof(
            fc.jsonValue({ maxDepth: 1 }),
            fc.constantFrom(
              -1,
              0,
              1,
              2,
              3,
              'halted',
              '',
              ' ',
              true,
              null,
              {},
              [],
              18446744073709551616n,
              2n ** 60n,
            ),
          ),
          { nil: undefined },
        ),
        (r, pick, value) => {
          const all = paths(r);
          const path = all[pick % all.length] as (string | number)[];
          let parent = r as Record<string | number, unknown>;
          for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
          const last = path[path.length - 1] as string | number;
          if (value === undefined) {
            if (Array.isArray(parent)) parent.splice(last as number, 1);
            else delete parent[last];
          } else {
            parent[last] = value;
          }
          judge(canonicalBytes(r));
        },
      ),
      { numRuns: 1500 },
    );
  });
  it('limits are applied alike', () => {
    const bytes = canonicalBytes(upstreamRecord(3, { chain: 'escalated-foi', entity: 'e' }));
    for (const limits of [
      { maxChainLength: 1 },
      { maxIdLength: 3 },
      { maxRecordBytes: 100 },
      { maxInputBytes: 100 },
      { maxDepth: 3 },
      { maxDepth: 4 },
    ]) {
      expect(judge(bytes, decisionLimits(limits)), JSON.stringify(limits)).toBe('invalid');
    }
    expect(judge(bytes, decisionLimits({ maxDepth: 5 }))).toBe('accepted');
  });
  it('a PPP member of whitespace written as escapes is refused, as the full path refuses it', () => {
    const record = (provenance: string): Uint8Array => {
      const r = upstreamRecord(4, { chain: 'approved' });
      (r.ppp_triplet as Obj).provenance = provenance;
      return canonicalBytes(r);
    };
    // Canonical JSON writes these characters as escapes (\t, \n, \u000b, ...).
    for (const text of [' \t', '\n', '\r\n', '\u000b', '\f ', ' \u000b\t']) {
      expect(judge(record(text)), JSON.stringify(text)).toBe('invalid');
    }
    // Text behind an escape, or around one, is a statement.
    for (const text of ['"', '\\', '\ta', 'a\n', '\b']) {
      expect(judge(record(text)), JSON.stringify(text)).not.toBe('invalid');
    }
  });
  it('a transient result is rebound by the next call; an owned one stays as it was', () => {
    const one = canonicalBytes(upstreamRecord(1, { entity: 'first' }));
    const two = canonicalBytes(upstreamRecord(2, { entity: 'second' }));
    const owned = acceptCanonicalDecision(one, DEFAULTS) as AcceptedDecision;
    const kept = fieldsOf(owned);
    const transient = acceptCanonicalDecisionTransient(one, DEFAULTS) as AcceptedDecision;
    expect(fieldsOf(transient)).toEqual(kept);
    const next = acceptCanonicalDecisionTransient(two, DEFAULTS) as AcceptedDecision;
    expect(next).toBe(transient);
    expect(transient.keyAt('/entity_id')).toBe('second');
    // A declined line leaves the last result as it was; the owned one never changes.
    expect(acceptCanonicalDecisionTransient(utf8.encode('{"a":1}'), DEFAULTS)).toBeUndefined();
    expect(transient.keyAt('/entity_id')).toBe('second');
    acceptCanonicalDecision(two, DEFAULTS);
    expect(fieldsOf(owned)).toEqual(kept);
    expect(owned.keyAt('/entity_id')).toBe('first');
  });
  it('keys with escapes are decoded as the full path reads them', () => {
    const r = upstreamRecord(1, { entity: 'a"b\\c\u00e9\ud83d\ude00', ctx: { entity_id: 'x\ny' } });
    const fast = acceptCanonicalDecision(canonicalBytes(r), DEFAULTS);
    expect(fast?.keyAt('/entity_id')).toBe('a"b\\c\u00e9\ud83d\ude00');
    expect(fast?.keyAt('/ctx/entity_id')).toBe('x\ny');
    expect(fast?.keyAt('/ctx')).toEqual({ nonString: 'object' });
  });
});
