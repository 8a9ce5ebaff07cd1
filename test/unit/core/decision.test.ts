import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import {
  parseDecisionLine,
  parseDecisionText,
  prepareDecision,
  validateDecision,
} from '../../../src/core/decision.ts';
import { canonicalJson } from '../../../src/core/jcs.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';
import { sdkLine } from '../../fixtures/records.ts';

type Obj = Record<string, unknown>;

const fixtureDir = new URL('../../fixtures/upstream/', import.meta.url);
const fixtures = (dir: string): [string, string][] =>
  readdirSync(new URL(dir, fixtureDir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [`${dir}/${f}`, readFileSync(new URL(`${dir}/${f}`, fixtureDir), 'utf8')]);
const sdkFixtures = fixtures('sdk');
const specFixtures = fixtures('spec');

/** A fresh copy of an SDK fixture, parsed exactly, for editing. */
const sdk = (name: string): Obj =>
  parseJsonExact(readFileSync(new URL(`sdk/${name}.json`, fixtureDir), 'utf8')) as Obj;
const chainOf = (r: Obj): Obj => r.human_delta_chain as Obj;
const deltasOf = (r: Obj): Obj[] => chainOf(r).deltas as Obj[];

/** [path, code] of every problem of a record written as the SDK's users write it. */
function problemsOf(record: Obj): [string, string][] {
  const r = parseDecisionText(sdkLine(record));
  return r.ok ? [] : r.problems.map((p) => [p.path, p.code]);
}

describe('records written by upstream AgDR are accepted as they are', () => {
  it('there are the SDK and spec fixtures', () => {
    expect(sdkFixtures.length).toBeGreaterThanOrEqual(10);
    expect(specFixtures.length).toBeGreaterThanOrEqual(4);
  });
  it.each([...sdkFixtures, ...specFixtures])('%s', (_name, text) => {
    const r = parseDecisionLine(utf8.encode(text));
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    const canonical = utf8.decode(r.prepared.canonical);
    // The canonical bytes are the record, members sorted, every integer digit kept.
    expect(canonical).toBe(canonicalJson(parseJsonExact(text)));
    for (const digits of text.match(/\d{16,}/g) ?? []) expect(canonical).toContain(digits);
    const value = parseJsonExact(text) as Obj;
    expect(r.prepared.timestampNs).toBe(String(value.timestamp_ns));
    expect(r.prepared.recordId).toBe(value.record_id);
    // Canonical on arrival: kept byte for byte, a view of the input.
    const again = parseDecisionLine(r.prepared.canonical);
    expect(again.ok && again.prepared.canonical.buffer).toBe(r.prepared.canonical.buffer);
  });
  it('a 19-digit timestamp keeps every digit (a double would make it ...600)', () => {
    const text = sdkLine({ ...sdk('autonomous'), timestamp_ns: 1796569260694147634n });
    const r = parseDecisionText(text);
    expect(r.ok && r.prepared.timestampNs).toBe('1796569260694147634');
    expect(r.ok && utf8.decode(r.prepared.canonical)).toContain(
      '"timestamp_ns":1796569260694147634}',
    );
    expect(String(JSON.parse('1796569260694147634'))).toBe('1796569260694147600');
  });
  it('what upstream allows and this product accepts too', () => {
    const r = sdk('approved-as-is');
    // model_id null or absent; any reasoning_trace; output null; further members anywhere.
    for (const edit of [
      (x: Obj) => (x.model_id = null),
      (x: Obj) => delete x.model_id,
      (x: Obj) => (x.reasoning_trace = 'plain text'),
      (x: Obj) => (x.reasoning_trace = [1, 'two']),
      (x: Obj) => (x.reasoning_trace = null),
      (x: Obj) => (x.output = null),
      (x: Obj) => (x.entity_id = 'customer-42'),
      (x: Obj) => ((x.ppp_triplet as Obj).extra = { any: ['thing'] }),
      (x: Obj) => (chainOf(x).vendor_note = 'kept'),
      (x: Obj) => ((deltasOf(x)[0] as Obj).vendor = 1),
      (x: Obj) => (((deltasOf(x)[0] as Obj).actor as Obj).badge = 7),
      (x: Obj) => delete chainOf(x).resolved,
      (x: Obj) => (x.merkle_position = 18446744073709551616n),
      (x: Obj) => delete x.merkle_hash,
      (x: Obj) => delete x.committed,
    ]) {
      const copy = structuredClone(r);
      edit(copy);
      expect(problemsOf(copy)).toEqual([]);
    }
  });
});

describe('invalid upstream records: every problem, with its JSON path', () => {
  const cases: [string, string, (r: Obj) => void, [string, string][]][] = [
    [
      'approved-as-is',
      'missing PPP member',
      (r) => delete (r.ppp_triplet as Obj).purpose,
      [['$.ppp_triplet.purpose', 'required']],
    ],
    [
      'approved-as-is',
      'whitespace-only PPP member',
      (r) => ((r.ppp_triplet as Obj).place = ' \t '),
      [['$.ppp_triplet.place', 'empty']],
    ],
    [
      'approved-as-is',
      'empty PPP member',
      (r) => ((r.ppp_triplet as Obj).provenance = ''),
      [['$.ppp_triplet.provenance', 'empty']],
    ],
    [
      'approved-as-is',
      'PPP member not a string',
      (r) => ((r.ppp_triplet as Obj).place = 3),
      [['$.ppp_triplet.place', 'type']],
    ],
    [
      'approved-as-is',
      'wrong spec_version',
      (r) => (r.spec_version = '0.1'),
      [['$.spec_version', 'unsupported_version']],
    ],
    [
      'approved-as-is',
      'spec_version as a number',
      (r) => (r.spec_version = 0.2),
      [['$.spec_version', 'unsupported_version']],
    ],
    [
      'approved-as-is',
      'halt not terminal',
      (r) => {
        const d = deltasOf(r);
        const first = structuredClone(d[0] as Obj);
        Object.assign(d[0] as Obj, { action: -1, action_label: 'halted' });
        d.push({ ...first, sequence: 1, delta_id: 'x_1' });
      },
      [['$.human_delta_chain.deltas[0].action', 'chain_halt_not_last']],
    ],
    [
      'halted',
      'FOI review after a halt',
      (r) =>
        (chainOf(r).foi_escalation = {
          actor: { name: 'C', title: 'CCO' },
          decision: 'x',
          decision_code: 1,
          timestamp_ns: 1796569260694152634n + 10n ** 6n,
        }),
      [
        ['$.human_delta_chain.foi_escalation', 'chain_foi_without_escalation'],
        ['$.human_delta_chain.terminal_node', 'chain_terminal_node'],
      ],
    ],
    [
      'escalated-twice-then-foi',
      'an escalation that nothing follows, in a chain that says it is resolved',
      (r) => (chainOf(r).foi_escalation = null),
      [
        ['$.human_delta_chain.deltas[1].action', 'chain_escalation_unresolved'],
        ['$.human_delta_chain.terminal_node', 'chain_terminal_node'],
      ],
    ],
    [
      'escalation-pending',
      'resolved false with a final node',
      (r) => ((deltasOf(r)[0] as Obj).action = 1),
      [['$.human_delta_chain.resolved', 'chain_resolved']],
    ],
    [
      'escalated-twice-then-foi',
      'FOI without its actor title',
      (r) => delete ((chainOf(r).foi_escalation as Obj).actor as Obj).title,
      [['$.human_delta_chain.foi_escalation.actor.title', 'required']],
    ],
    [
      'escalated-twice-then-foi',
      'FOI decision code',
      (r) => ((chainOf(r).foi_escalation as Obj).decision_code = 2),
      [['$.human_delta_chain.foi_escalation.decision_code', 'enum']],
    ],
    [
      'escalated-twice-then-foi',
      'FOI earlier than the last delta',
      (r) => ((chainOf(r).foi_escalation as Obj).timestamp_ns = 1n),
      [['$.human_delta_chain.foi_escalation.timestamp_ns', 'chain_time_order']],
    ],
    [
      'escalated-twice-then-foi',
      'a gap in sequence',
      (r) => ((deltasOf(r)[1] as Obj).sequence = 2),
      [['$.human_delta_chain.deltas[1].sequence', 'chain_sequence']],
    ],
    [
      'escalated-twice-then-foi',
      'time going back',
      (r) => ((deltasOf(r)[1] as Obj).timestamp_ns = 5),
      [['$.human_delta_chain.deltas[1].timestamp_ns', 'chain_time_order']],
    ],
    [
      'escalated-twice-then-foi',
      'escalation without a reason',
      (r) => delete (deltasOf(r)[0] as Obj).escalation_reason,
      [['$.human_delta_chain.deltas[0].escalation_reason', 'chain_escalation_reason_required']],
    ],
    [
      'approved-with-modification',
      'modification missing',
      (r) => delete (deltasOf(r)[0] as Obj).modification,
      [['$.human_delta_chain.deltas[0].modification', 'chain_modification_required']],
    ],
    [
      'approved-as-is',
      'unknown action',
      (r) => ((deltasOf(r)[0] as Obj).action = 3),
      [['$.human_delta_chain.deltas[0].action', 'enum']],
    ],
    [
      'approved-as-is',
      'actor without role',
      (r) => delete ((deltasOf(r)[0] as Obj).actor as Obj).role,
      [['$.human_delta_chain.deltas[0].actor.role', 'required']],
    ],
    [
      'approved-as-is',
      'deltas not an array',
      (r) => (chainOf(r).deltas = {}),
      [['$.human_delta_chain.deltas', 'type']],
    ],
    [
      'approved-as-is',
      'chain as an array (the old shape)',
      (r) => (r.human_delta_chain = []),
      [['$.human_delta_chain', 'type']],
    ],
    [
      'autonomous',
      'autonomous false with no deltas',
      (r) => (chainOf(r).autonomous = false),
      [['$.human_delta_chain.autonomous', 'chain_autonomous']],
    ],
    [
      'approved-as-is',
      'terminal_node that is not the end',
      (r) => (chainOf(r).terminal_node = 'foi'),
      [['$.human_delta_chain.terminal_node', 'chain_terminal_node']],
    ],
    ['autonomous', 'committed false', (r) => (r.committed = false), [['$.committed', 'const']]],
    [
      'autonomous',
      'timestamp as a string',
      (r) => (r.timestamp_ns = '1796569260694147634'),
      [['$.timestamp_ns', 'type']],
    ],
    [
      'autonomous',
      'timestamp beyond u64',
      (r) => (r.timestamp_ns = 18446744073709551616n),
      [['$.timestamp_ns', 'timestamp']],
    ],
    [
      'autonomous',
      'negative timestamp',
      (r) => (r.timestamp_ns = -1),
      [['$.timestamp_ns', 'timestamp']],
    ],
    [
      'autonomous',
      'timestamp with a fraction',
      (r) => (r.timestamp_ns = 1.5),
      [['$.timestamp_ns', 'type']],
    ],
    [
      'autonomous',
      'record_id with a space',
      (r) => (r.record_id = 'a b'),
      [['$.record_id', 'pattern']],
    ],
    ['autonomous', 'model_id a number', (r) => (r.model_id = 7), [['$.model_id', 'type']]],
    [
      'autonomous',
      'no reasoning_trace',
      (r) => delete r.reasoning_trace,
      [['$.reasoning_trace', 'required']],
    ],
    ['autonomous', 'no output', (r) => delete r.output, [['$.output', 'required']]],
    ['autonomous', 'ctx not an object', (r) => (r.ctx = 'x'), [['$.ctx', 'type']]],
  ];
  it.each(cases)('%s: %s', (fixture, _what, edit, want) => {
    const r = sdk(fixture);
    edit(r);
    expect(problemsOf(r)).toEqual(want);
  });
  it('several problems at once, in field order', () => {
    const r = sdk('escalated-twice-then-foi');
    delete r.record_id;
    (r.ppp_triplet as Obj).place = '';
    ((deltasOf(r)[0] as Obj).actor as Obj).name = 5;
    r.timestamp_ns = 'now';
    expect(problemsOf(r)).toEqual([
      ['$.record_id', 'required'],
      ['$.ppp_triplet.place', 'empty'],
      ['$.human_delta_chain.deltas[0].actor.name', 'type'],
      ['$.timestamp_ns', 'type'],
    ]);
  });
});

describe('JSON the record reader refuses (400 with the path)', () => {
  const text = readFileSync(new URL('sdk/autonomous.json', fixtureDir), 'utf8').trim();
  const problem = (t: string | Uint8Array): [string, string] => {
    const r = typeof t === 'string' ? parseDecisionLine(utf8.encode(t)) : parseDecisionLine(t);
    if (r.ok) throw new Error('accepted');
    return [r.problems[0]?.path as string, r.problems[0]?.code as string];
  };
  it('a repeated record_id: not the last one silently', () => {
    expect(
      problem(text.replace('{"record_id": ', '{"record_id": "agdr_other", "record_id": ')),
    ).toEqual(['$.record_id', 'duplicate_member']);
  });
  it('a repeated member inside the chain', () => {
    expect(problem(text.replace('"chain_id": ', '"resolved": true, "chain_id": '))).toEqual([
      '$.human_delta_chain.resolved',
      'duplicate_member',
    ]);
  });
  it('a leading UTF-8 byte order mark', () => {
    expect(problem(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8.encode(text)]))).toEqual(['$', 'bom']);
    expect(parseDecisionText(`\ufeff${text}`)).toMatchObject({
      ok: false,
      problems: [{ code: 'bom' }],
    });
  });
  it('numbers canonical JSON would change', () => {
    expect(problem(text.replace('"output": {', '"output": {"tiny": 1e-400, '))).toEqual([
      '$.output.tiny',
      'inexact_number',
    ]);
    expect(problem(text.replace('"output": {', '"output": {"z": -0, '))).toEqual([
      '$.output.z',
      'inexact_number',
    ]);
    expect(
      problem(
        text.replace(/"timestamp_ns": (\d+), "committed"/, '"timestamp_ns": $1.0, "committed"'),
      ),
    ).toEqual(['$.timestamp_ns', 'inexact_number']);
  });
  it('malformed JSON and empty lines, with a clear message', () => {
    const r = parseDecisionLine(utf8.encode(text.slice(0, -1)));
    expect(!r.ok && r.problems[0]?.code).toBe('malformed_json');
    expect(!r.ok && r.problems[0]?.message).toMatch(/^input is not JSON: /);
    const empty = parseDecisionText('  ');
    expect(!empty.ok && empty.problems[0]?.message).toBe('input is not JSON: empty input');
  });
  it('invalid and non-strict UTF-8', () => {
    const prefix = utf8.encode('{"record_id":"');
    for (const bad of [
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0xc0, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      expect(problem(new Uint8Array([...prefix, ...bad, 0x22, 0x7d]))).toEqual([
        '$',
        'invalid_utf8',
      ]);
    }
  });
  it('oversize input is refused before decoding; nesting and size limits', () => {
    const r = parseDecisionLine(utf8.encode(text), { maxInputBytes: 10 });
    expect(!r.ok && r.problems[0]?.code).toBe('too_large');
    const big = parseDecisionLine(utf8.encode(text), { maxRecordBytes: 100 });
    expect(!big.ok && big.problems[0]?.code).toBe('too_large');
    const deep = parseDecisionLine(
      utf8.encode(text.replace('"output": {', '"output": {"d": [[[[[[[[]]]]]]]], ')),
      { maxDepth: 6 },
    );
    expect(!deep.ok && deep.problems[0]).toMatchObject({ code: 'too_deep' });
  });
  it('never throws on arbitrary bytes or one-byte corruptions (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(parseDecisionLine(bytes).ok).toBe(false);
      }),
    );
    const bytes = utf8.encode(text);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const copy = bytes.slice();
        copy[i] = b;
        const r = parseDecisionLine(copy);
        if (r.ok)
          expect(utf8.decode(r.prepared.canonical)).toBe(canonicalJson(r.prepared.decision));
      }),
    );
  });
});

describe('prepareDecision', () => {
  it('is pure: does not modify its input and gives the same bytes twice', () => {
    const input = sdk('escalated-twice-then-foi');
    const before = canonicalJson(input);
    const a = prepareDecision(input);
    const b = prepareDecision(input);
    expect(canonicalJson(input)).toBe(before);
    expect(a.canonical).toEqual(b.canonical);
  });
  it('non-JSON values anywhere are problems at their path', () => {
    const r = sdk('autonomous');
    (r.output as Obj).when = new Date(0);
    (r.ctx as Obj).n = NaN;
    expect(validateDecision(r).map((p) => [p.path, p.code])).toEqual([['$.ctx.n', 'not_json']]);
  });
});

describe('examples/decisions.ndjson (the quickstart input)', () => {
  const text = readFileSync(new URL('../../../examples/decisions.ndjson', import.meta.url), 'utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  it('every line is a valid upstream record as the SDK writes it, with unique record ids', () => {
    expect(lines.length).toBeGreaterThanOrEqual(20);
    const ids = new Set<string>();
    for (const line of lines) {
      const r = parseDecisionLine(utf8.encode(line));
      expect(r.ok ? [] : r.problems).toEqual([]);
      if (r.ok) ids.add(r.prepared.recordId);
      expect(line).toContain('", "'); // json.dumps separators, not canonical
    }
    expect(ids.size).toBe(lines.length);
  });
});
