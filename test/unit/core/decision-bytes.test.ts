import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, utf8 } from '../../../src/core/bytes.ts';
import {
  acceptCanonicalDecision,
  type AcceptedDecision,
} from '../../../src/core/decision-bytes.ts';
import {
  decisionLimits,
  parseDecisionLine,
  type Decision,
  type DecisionLimits,
} from '../../../src/core/decision.ts';
import { canonicalBytes, canonicalJson } from '../../../src/core/jcs.ts';
import { isCanonicalJsonBytes } from '../../../src/core/jcs-bytes.ts';
import { editByte } from './byte-edit.ts';

type Obj = Record<string, unknown>;
type Kind = 'delta' | 'escalation' | 'halt' | 'foi' | 'autonomous';
type Verdict = 'accepted' | 'declined' | 'invalid';

const DEFAULTS = decisionLimits();
const limitsOf = (overrides: Partial<DecisionLimits> = {}): DecisionLimits =>
  decisionLimits(overrides);
/** Small limits, so that generated and hand-made values reach them. */
const SMALL = limitsOf({ maxIdLength: 8, maxTextLength: 10, maxChainLength: 3, maxDepth: 6 });
const U64_MAX = 2n ** 64n - 1n;
const KINDS: readonly Kind[] = ['delta', 'escalation', 'halt', 'foi', 'autonomous'];
const PPP_MEMBERS = ['place', 'provenance', 'purpose'];

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (bytes: Uint8Array): string => JSON.stringify(Buffer.from(bytes).toString('utf8'));

// ---- the oracle ----------------------------------------------------------------------------

/** A string the recognizer can return as it is written: its JSON form needs no escapes. */
const isUnescaped = (s: unknown): boolean =>
  typeof s === 'string' && JSON.stringify(s) === `"${s}"`;
const isPlainName = (k: string): boolean => /^[\u0020-\u007f]*$/.test(k) && !/["\\]/.test(k);

/**
 * Conditions (a)-(d) of the recognizer's completeness promise, for a valid decision `d` whose
 * canonical bytes are `bytes`.
 */
function isRecognizedForm(d: Decision, bytes: Uint8Array, limits: DecisionLimits): boolean {
  return (
    [d.record_id, d.entity_id, d.session_id, d.domain].every(isUnescaped) &&
    d.human_delta_chain.every(
      (n) => n.actor === undefined || Object.keys(n.actor).every(isPlainName),
    ) &&
    d.human_delta_chain.every((n) => String(n.sequence).length <= 15) &&
    isCanonicalJsonBytes(bytes, limits.maxDepth)
  );
}

type Fields = Omit<AcceptedDecision, 'recordIdStart' | 'recordIdEnd'>;

/** The fields of an accepted decision as a plain object (they are read from its bytes lazily). */
function fieldsOf(a: AcceptedDecision | undefined): Fields | undefined {
  if (a === undefined) return undefined;
  const { record_id, timestamp_ns, entity_id, session_id, domain } = a;
  return { record_id, timestamp_ns, entity_id, session_id, domain };
}

/**
 * Runs the recognizer and the full path on `bytes` and asserts the contract both ways:
 * soundness (whatever is accepted, the full path accepts unchanged, with the same fields) and
 * completeness (canonical bytes of a valid decision in a recognized form are accepted).
 */
function judge(bytes: Uint8Array, limits: DecisionLimits = DEFAULTS): Verdict {
  const fast = fieldsOf(acceptCanonicalDecision(bytes, limits));
  // Ingest passes Buffers (views into a pooled or request buffer): the same answer.
  expect(fieldsOf(acceptCanonicalDecision(Buffer.from(bytes), limits))).toStrictEqual(fast);
  const full = parseDecisionLine(bytes, limits);
  if (fast !== undefined) {
    if (!full.ok) expect.fail(`accepted, but the full path rejects ${show(bytes)}`);
    const p = full.prepared;
    if (!bytesEqual(p.canonical, bytes)) expect.fail(`accepted non-canonical ${show(bytes)}`);
    expect(fast, show(bytes)).toStrictEqual({
      record_id: p.recordId,
      timestamp_ns: p.decision.timestamp_ns,
      entity_id: p.entityId,
      session_id: p.sessionId,
      domain: p.domain,
    });
    expect(BigInt(fast.timestamp_ns)).toBe(p.timestampNs);
    return 'accepted';
  }
  if (!full.ok) return 'invalid';
  const recognized =
    bytesEqual(full.prepared.canonical, bytes) &&
    isRecognizedForm(full.prepared.decision, bytes, limits);
  if (recognized) expect.fail(`declined a canonical valid decision ${show(bytes)}`);
  return 'declined';
}

const judgeValue = (d: unknown, limits: DecisionLimits = DEFAULTS): Verdict =>
  judge(canonicalBytes(d), limits);

/** Counts of verdicts, for checking that a property exercised each outcome. */
function tally(): { count: Record<Verdict, number>; add: (v: Verdict) => Verdict } {
  const count: Record<Verdict, number> = { accepted: 0, declined: 0, invalid: 0 };
  return { count, add: (v) => (count[v]++, v) };
}

// ---- fixtures ------------------------------------------------------------------------------

const FIXTURES = new URL('../../fixtures/decisions/', import.meta.url);
const readJson = (rel: string): unknown => JSON.parse(readFileSync(new URL(rel, FIXTURES), 'utf8'));
const validNames = readdirSync(new URL('valid/', FIXTURES)).filter((f) => f.endsWith('.json'));
const invalidNames = readdirSync(new URL('invalid/', FIXTURES)).filter((f) => f.endsWith('.json'));

describe('fixtures', () => {
  it('there are fixtures', () => {
    expect(validNames.length).toBeGreaterThanOrEqual(3);
    expect(invalidNames.length).toBeGreaterThanOrEqual(15);
  });

  it.each(validNames)('valid/%s canonicalized is accepted with its own fields', (name) => {
    const d = readJson(`valid/${name}`) as Obj;
    // unicode-halt's ctx has member names outside printable ASCII ("λ", "\u0001control"), a
    // form the byte recognizers decline; renamed, the rest of it (escapes in values, astral
    // characters, u64 max) is accepted.
    if (isObj(d.ctx) && Object.keys(d.ctx).some((k) => !isPlainName(k))) {
      expect(judgeValue(d)).toBe('declined');
      d.ctx = Object.fromEntries(Object.entries(d.ctx).map(([k, v]) => [k.replace(/\W/g, ''), v]));
    }
    const bytes = canonicalBytes(d);
    expect(fieldsOf(acceptCanonicalDecision(bytes, DEFAULTS))).toStrictEqual({
      record_id: d.record_id,
      timestamp_ns: d.timestamp_ns,
      entity_id: d.entity_id,
      session_id: d.session_id,
      domain: d.domain,
    });
    expect(judge(bytes)).toBe('accepted');
  });

  it.each(invalidNames)('invalid/%s canonicalized is never accepted', (name) => {
    const { input } = readJson(`invalid/${name}`) as { input: unknown };
    const bytes = canonicalBytes(input);
    expect(acceptCanonicalDecision(bytes, DEFAULTS)).toBeUndefined();
    expect(judge(bytes)).toBe('invalid');
    // Nor with the most generous limits.
    const wide = limitsOf({ maxIdLength: 1e6, maxTextLength: 1e6, maxChainLength: 1e6 });
    expect(acceptCanonicalDecision(bytes, wide)).toBeUndefined();
  });
});

// ---- hand-written lines --------------------------------------------------------------------

/** A minimal valid decision line (canonical), with its parts replaceable by text. */
const line = (over: Record<string, string> = {}): string => {
  const parts: Record<string, string> = {
    ctx: '{}',
    domain: '"d"',
    entity_id: '"e"',
    human_delta_chain:
      '[{"authority_ref":"p","kind":"autonomous","sequence":0,"timestamp_ns":"5"}]',
    model_id: '"m"',
    output: 'null',
    ppp_triplet: '{"place":"CA","provenance":"v3","purpose":"q"}',
    reasoning_trace: '""',
    record_id: '"r-1"',
    session_id: '"s"',
    spec_version: '"0.2"',
    timestamp_ns: '"7"',
    ...over,
  };
  return `{${Object.entries(parts)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
};
const accept = (text: string, limits = DEFAULTS): Fields | undefined =>
  fieldsOf(acceptCanonicalDecision(utf8.encode(text), limits));

describe('hand-written lines', () => {
  it('a minimal canonical line is accepted with its five fields', () => {
    expect(accept(line())).toStrictEqual({
      record_id: 'r-1',
      timestamp_ns: '7',
      entity_id: 'e',
      session_id: 's',
      domain: 'd',
    });
    expect(judge(utf8.encode(line()))).toBe('accepted');
  });

  it('non-ASCII ids are returned decoded; escaped ones are declined but valid', () => {
    const text = line({ entity_id: '"kä/😀"', session_id: '"€ 1"', domain: '"世界"' });
    expect(accept(text)).toMatchObject({ entity_id: 'kä/😀', session_id: '€ 1', domain: '世界' });
    for (const field of ['entity_id', 'session_id', 'domain']) {
      const escaped = line({ [field]: '"a\\nb"' });
      expect(accept(escaped), field).toBeUndefined();
      expect(judge(utf8.encode(escaped)), field).toBe('declined');
    }
    // model_id is not returned: escapes there are fine.
    expect(accept(line({ model_id: '"a\\"b\\u0001"' }))).toBeDefined();
  });

  it('a 16-digit sequence is valid but declined; 15 digits are accepted', () => {
    const chain = (seq: string): string =>
      `[{"authority_ref":"p","kind":"autonomous","sequence":${seq},"timestamp_ns":"5"}]`;
    expect(accept(line({ human_delta_chain: chain('999999999999999') }))).toBeDefined();
    const long = line({ human_delta_chain: chain('1000000000000000') });
    expect(accept(long)).toBeUndefined();
    expect(judge(utf8.encode(long))).toBe('declined');
  });

  it('the same decision not in canonical form is declined', () => {
    for (const text of [
      `${line()}\n`,
      `${line()}\r`,
      `${line()} `,
      ` ${line()}`,
      line().replace('"ctx":{}', '"ctx": {}'),
      line({ output: '1.0' }),
      line({ output: '"a\\/b"' }),
      line({ output: '"\\u001F"' }),
      line({ output: '"\\u0061"' }),
    ]) {
      expect(accept(text), text).toBeUndefined();
      expect(judge(utf8.encode(text)), text).toBe('declined');
    }
  });

  it('decisions that are invalid are declined', () => {
    for (const text of [
      '{}',
      '[]',
      '',
      line({ spec_version: '"0.3"' }),
      line({ spec_version: '0.2' }),
      line({ record_id: '"r 1"' }),
      line({ timestamp_ns: '"01"' }),
      line({ timestamp_ns: '"18446744073709551616"' }),
      line({ human_delta_chain: '[]' }),
      line({ human_delta_chain: '[{"kind":"autonomous","sequence":0,"timestamp_ns":"5"}]' }),
      line({ ppp_triplet: '{"place":"CA","provenance":"v3"}' }),
      line({ ctx: '[]' }),
    ]) {
      expect(accept(text), text).toBeUndefined();
      expect(judge(utf8.encode(text)), text).toBe('invalid');
    }
  });

  it('u64 max is a valid timestamp, returned as written', () => {
    expect(accept(line({ timestamp_ns: '"18446744073709551615"' }))?.timestamp_ns).toBe(
      '18446744073709551615',
    );
    expect(accept(line({ timestamp_ns: '"0"' }))?.timestamp_ns).toBe('0');
  });

  it('reads a line inside a larger buffer (a view with an offset)', () => {
    const text = line({ entity_id: '"kä"', domain: '"ドメイン"' });
    const body = Buffer.from(`xx\n${text}\nyy`);
    const view = body.subarray(3, 3 + Buffer.byteLength(text));
    expect(acceptCanonicalDecision(view, DEFAULTS)).toMatchObject({
      entity_id: 'kä',
      domain: 'ドメイン',
      record_id: 'r-1',
    });
    const plain = new Uint8Array(body.buffer, body.byteOffset + 3, view.length);
    expect(acceptCanonicalDecision(plain, DEFAULTS)).toMatchObject({ entity_id: 'kä' });
  });
});

// ---- generators of valid decisions ---------------------------------------------------------

/** Characters for text: mostly ones written literally, some that JSON escapes, astral ones. */
const literalChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '-', '/', '~', '\u007f') },
  { weight: 3, arbitrary: fc.constantFrom('é', 'ß', '€', '世', 'λ', '\u2028', '\uffff') },
  { weight: 2, arbitrary: fc.constantFrom('😀', '𝄞', '\u{10ffff}', '\u{1f600}') },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter(isUnescaped),
  },
);
const escapedChar = fc.constantFrom('"', '\\', '\n', '\t', '\b', '\u0001', '\u001f', '\u0000');
const anyChar = fc.oneof({ weight: 6, arbitrary: literalChar }, escapedChar);
const literalText = fc.string({ unit: literalChar, minLength: 1, maxLength: 8 });
const anyText = fc.string({ unit: anyChar, minLength: 1, maxLength: 8 });
/** Mostly texts the recognizer returns; some with escapes (valid, declined). */
const idText = fc.oneof({ weight: 19, arbitrary: literalText }, anyText);
const recordId = fc.string({
  unit: fc.constantFrom(...'aZ09._:-'.split(''), 'x', 'Q'),
  minLength: 1,
  maxLength: 12,
});
const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: U64_MAX }).map(String),
  fc.constantFrom('0', '1', String(U64_MAX), '9999999999999999999', '10000000000000000000'),
);

const plainName = fc.string({
  unit: fc.constantFrom('a', 'b', 'B', '_', '0', '9', ' ', '~', '-', '\u007f'),
  maxLength: 4,
});
/** Member names: mostly plain ASCII; some with escapes or outside ASCII (declined forms). */
const anyName = fc.oneof({ weight: 60, arbitrary: plainName }, anyText);
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 1e21, 1e-7, 1e-6, 5e-324, 2 ** 53, 123456789012345, 1234567890123456, 0.1),
);
/** Any JSON value, small. */
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    number,
    fc.string({ unit: anyChar, maxLength: 6 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(anyName, tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;
const object = fc.dictionary(anyName, json, { maxKeys: 3, noNullPrototype: true });
const optional = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(a, { nil: undefined, freq: 2 });

/** `o` without its undefined members (canonical JSON has no undefined). */
const compact = (o: Obj): Obj =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const actorArb = fc
  .record({
    name: anyText,
    role: anyText,
    extras: fc.dictionary(
      anyName.filter((k) => k !== 'name' && k !== 'role'),
      json,
      { maxKeys: 2, noNullPrototype: true },
    ),
  })
  .map(({ name, role, extras }) => ({ ...extras, name, role }));

/** A chain's kinds in a legal order: escalations resolved, halt and FOI only last. */
const kindsArb = fc
  .tuple(
    fc.array(fc.constantFrom<Kind[]>(['delta'], ['autonomous'], ['escalation', 'delta']), {
      maxLength: 3,
    }),
    fc.constantFrom<Kind[]>([], ['halt'], ['foi'], ['escalation', 'halt'], ['escalation', 'foi']),
  )
  .map(([body, end]) => [...body.flat(), ...end])
  .filter((kinds) => kinds.length > 0);

const sequenceArb = fc.oneof(
  { weight: 20, arbitrary: fc.nat(20) },
  { weight: 10, arbitrary: fc.nat() },
  { weight: 2, arbitrary: fc.integer({ min: 99_999_999_999_990, max: 100_000_000_000_010 }) },
  { weight: 1, arbitrary: fc.integer({ min: 999_999_999_999_990, max: 1_000_000_000_000_010 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: Number.MAX_SAFE_INTEGER - 10, max: Number.MAX_SAFE_INTEGER }),
  },
);
const sequencesArb = (n: number): fc.Arbitrary<number[]> =>
  fc.uniqueArray(sequenceArb, { minLength: n, maxLength: n }).map((xs) => xs.sort((a, b) => a - b));
/** Non-decreasing node timestamps: spread over the u64 range, or close together (ties). */
const timesArb = (n: number): fc.Arbitrary<string[]> =>
  fc.oneof(
    fc
      .array(fc.bigInt({ min: 0n, max: U64_MAX }), { minLength: n, maxLength: n })
      .map((xs) => xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String)),
    fc
      .tuple(
        fc.oneof(fc.bigInt({ min: 0n, max: U64_MAX - 64n }), fc.constant(U64_MAX - 3n * 8n)),
        fc.array(fc.bigInt({ min: 0n, max: 3n }), { minLength: n, maxLength: n }),
      )
      .map(([base, steps]) => {
        let t = base;
        return steps.map((s) => String((t += s)));
      }),
  );

/** Everything a node might carry; `nodeOf` keeps what its kind allows or needs. */
const nodePartsArb = fc.record({
  actor: actorArb,
  withActor: fc.boolean(),
  authority: anyText,
  withAuthority: fc.boolean(),
  outcome: fc.constantFrom('affirmed', 'modified', 'halted'),
  modification: object,
  withModification: fc.boolean(),
  note: optional(anyText),
  signature: optional(anyText),
  ext: optional(object),
});
type NodeParts = typeof nodePartsArb extends fc.Arbitrary<infer T> ? T : never;

function nodeOf(kind: Kind, sequence: number, time: string, p: NodeParts): Obj {
  const autonomous = kind === 'autonomous';
  const modified =
    kind === 'foi' ? p.outcome === 'modified' : kind === 'delta' && p.withModification;
  return compact({
    sequence,
    kind,
    timestamp_ns: time,
    actor: !autonomous || p.withActor ? p.actor : undefined,
    authority_ref: autonomous || p.withAuthority ? p.authority : undefined,
    outcome: kind === 'foi' ? p.outcome : undefined,
    modification: modified ? p.modification : undefined,
    note: p.note,
    signature: p.signature,
    ext: p.ext,
  });
}

const chainArb = kindsArb.chain((kinds) =>
  fc
    .tuple(
      fc.array(nodePartsArb, { minLength: kinds.length, maxLength: kinds.length }),
      sequencesArb(kinds.length),
      timesArb(kinds.length),
    )
    .map(([parts, seqs, times]) =>
      kinds.map((k, i) => nodeOf(k, seqs[i] as number, times[i] as string, parts[i] as NodeParts)),
    ),
);

const decisionArb: fc.Arbitrary<Obj> = fc
  .record({
    record_id: recordId,
    ctx: object,
    model_id: anyText,
    reasoning_trace: fc.oneof(fc.string({ unit: anyChar, maxLength: 8 }), fc.array(json)),
    output: json,
    ppp: fc.tuple(anyText, anyText, anyText),
    human_delta_chain: chainArb,
    timestamp_ns: u64,
    entity_id: idText,
    session_id: idText,
    domain: idText,
    ext: optional(object),
  })
  .map(({ ppp, ...d }) =>
    compact({
      ...d,
      spec_version: '0.2',
      ppp_triplet: { provenance: ppp[0], place: ppp[1], purpose: ppp[2] },
    }),
  );

/** Limits drawn small enough that generated values cross them. */
const smallLimitsArb = fc
  .record({
    maxIdLength: fc.integer({ min: 1, max: 14 }),
    maxTextLength: fc.integer({ min: 1, max: 14 }),
    maxChainLength: fc.integer({ min: 1, max: 6 }),
    maxDepth: fc.integer({ min: 0, max: 9 }),
  })
  .map((l) => limitsOf(l));

describe('valid decisions (fast-check)', () => {
  it('are accepted in canonical form, with the full path agreeing', () => {
    const t = tally();
    let unicodeIds = 0;
    let kinds = new Set<string>();
    fc.assert(
      fc.property(decisionArb, (d) => {
        const bytes = canonicalBytes(d);
        const full = parseDecisionLine(bytes, DEFAULTS);
        // The generator makes valid decisions only.
        expect(full.ok ? [] : full.problems).toEqual([]);
        if (t.add(judge(bytes)) !== 'accepted') return;
        if (/[^\x20-\x7e]/.test(`${d.entity_id}${d.session_id}${d.domain}`)) unicodeIds++;
        kinds = new Set([...kinds, ...(d.human_delta_chain as Obj[]).map((n) => `${n.kind}`)]);
      }),
      { numRuns: 400 },
    );
    expect(t.count.invalid).toBe(0);
    expect(t.count.accepted).toBeGreaterThan(200);
    // Declined ones exist too (escaped ids or member names, 16-digit sequences).
    expect(t.count.declined).toBeGreaterThan(10);
    expect(unicodeIds).toBeGreaterThan(20);
    expect([...kinds].sort()).toEqual([...KINDS].sort());
  });

  it('agree with the full path under small limits, accepted exactly when valid', () => {
    const t = tally();
    fc.assert(
      fc.property(decisionArb, smallLimitsArb, (d, limits) => void t.add(judgeValue(d, limits))),
      { numRuns: 300 },
    );
    expect(t.count.invalid).toBeGreaterThan(200);
  });

  it('each limit at, one under and one over what the decision needs', () => {
    const t = tally();
    const nudge = fc.constantFrom<number | undefined>(undefined, undefined, undefined, -1, 0, 1);
    fc.assert(
      fc.property(decisionArb, fc.array(nudge, { minLength: 6, maxLength: 6 }), (d, nudges) => {
        const x = d as unknown as Decision;
        const nodes = x.human_delta_chain;
        const texts = [
          ...Object.values(x.ppp_triplet),
          ...nodes.flatMap((n) => [n.authority_ref, n.note, n.signature, n.actor?.name]),
          ...nodes.map((n) => n.actor?.role),
        ];
        const size = canonicalBytes(d).length;
        const needs: [keyof DecisionLimits, number][] = [
          [
            'maxIdLength',
            Math.max(
              ...[x.record_id, x.model_id, x.entity_id, x.session_id, x.domain].map(
                (s) => s.length,
              ),
            ),
          ],
          ['maxTextLength', Math.max(...texts.map((s) => (s === undefined ? 0 : s.length)))],
          ['maxChainLength', nodes.length],
          ['maxDepth', deepest(d) + 1],
          ['maxRecordBytes', size],
          ['maxInputBytes', size],
        ];
        const overrides: Partial<DecisionLimits> = {};
        needs.forEach(([key, need], i) => {
          const n = nudges[i];
          if (n !== undefined) overrides[key] = need + n;
        });
        const limits = limitsOf(overrides);
        const fits = needs.every(([key, need]) => limits[key] >= need);
        const verdict = t.add(judgeValue(d, limits));
        expect(verdict === 'invalid', JSON.stringify(overrides)).toBe(!fits);
      }),
      { numRuns: 400 },
    );
    expect(t.count.accepted).toBeGreaterThan(40);
    expect(t.count.invalid).toBeGreaterThan(150);
  });
});

// ---- mutations of valid decisions ----------------------------------------------------------

/** The schema's objects in `d` (top level, ppp, nodes, actors) with the names mutated there. */
function schemaObjects(d: Obj): { obj: Obj; names: string[] }[] {
  const out = [{ obj: d, names: TOP_MEMBERS }];
  if (isObj(d.ppp_triplet)) out.push({ obj: d.ppp_triplet, names: PPP_MEMBERS });
  const chain = d.human_delta_chain;
  if (Array.isArray(chain)) {
    for (const node of chain as unknown[]) {
      if (!isObj(node)) continue;
      out.push({ obj: node, names: NODE_MEMBERS });
      if (isObj(node.actor)) {
        out.push({ obj: node.actor, names: ['name', 'role', ...Object.keys(node.actor)] });
      }
    }
  }
  return out;
}

const oddValue = fc.oneof(
  fc.constantFrom<unknown>(
    0,
    1,
    -1,
    1.5,
    2 ** 53,
    1e21,
    null,
    true,
    false,
    '',
    'x',
    '0.2',
    '0.3',
    '01',
    '-1',
    '0',
    String(U64_MAX),
    String(U64_MAX + 1n),
    'delta',
    'escalation',
    'halt',
    'foi',
    'autonomous',
    'affirmed',
    'modified',
    'halted',
    [],
    {},
    ['x'],
    { a: 1 },
    { name: 'n', role: 'r' },
  ),
  json,
  fc.string({ unit: anyChar, minLength: 9, maxLength: 12 }),
);

const mutationArb = fc.oneof(
  fc.record({
    op: fc.constantFrom('delete', 'set', 'add'),
    at: fc.nat(),
    member: fc.nat(),
    name: fc.constantFrom('zzz', 'a', 'Kind', 'kind ', 'ext', 'note', 'name', 'type'),
    value: oddValue,
  }),
  fc.record({
    op: fc.constantFrom('swapNodes', 'copyNode', 'dropNode'),
    at: fc.nat(),
    member: fc.nat(),
    name: fc.constant(''),
    value: fc.constant<unknown>(null),
  }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(d: Obj, m: Mutation): void {
  const chain = d.human_delta_chain;
  if (m.op === 'swapNodes' || m.op === 'copyNode' || m.op === 'dropNode') {
    if (!Array.isArray(chain) || chain.length === 0) return;
    const i = m.at % chain.length;
    const j = m.member % chain.length;
    if (m.op === 'dropNode') chain.splice(i, 1);
    else if (m.op === 'copyNode') chain.splice(i, 0, structuredClone(chain[j]));
    else [chain[i], chain[j]] = [chain[j], chain[i]];
    return;
  }
  const objects = schemaObjects(d);
  const { obj, names } = objects[m.at % objects.length] as { obj: Obj; names: string[] };
  const name = names[m.member % names.length] as string;
  if (m.op === 'delete') delete obj[name];
  else if (m.op === 'set') obj[name] = m.value;
  else obj[m.name] = m.value;
}

describe('mutated decisions (fast-check)', () => {
  it('are accepted only when still valid, and then with the full path agreeing', () => {
    const t = tally();
    fc.assert(
      fc.property(
        decisionArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.oneof(fc.constant(DEFAULTS), smallLimitsArb),
        (d, mutations, limits) => {
          const m = structuredClone(d);
          for (const mutation of mutations) mutate(m, mutation);
          t.add(judgeValue(m, limits));
        },
      ),
      { numRuns: 700 },
    );
    expect(t.count.invalid).toBeGreaterThan(350);
    expect(t.count.accepted).toBeGreaterThan(20);
  });
});

// ---- explicit mutations of one decision ----------------------------------------------------

/** A valid decision using every optional member, within `SMALL`. */
const rich = (): Obj => ({
  record_id: 'r-1',
  spec_version: '0.2',
  ctx: { a: [1, { b: 'x' }] },
  model_id: 'm',
  reasoning_trace: ['s', 1],
  output: { o: true },
  ppp_triplet: { provenance: 'pv', place: 'pl', purpose: 'pu' },
  human_delta_chain: [
    {
      sequence: 0,
      kind: 'escalation',
      timestamp_ns: '10',
      actor: { id: 7, name: 'A', role: 'R' },
      note: 'n',
    },
    {
      sequence: 1,
      kind: 'delta',
      timestamp_ns: '10',
      actor: { name: 'B', role: 'R' },
      authority_ref: 'ar',
      modification: { k: 1 },
      signature: 'sig',
    },
    {
      sequence: 5,
      kind: 'foi',
      timestamp_ns: '11',
      actor: { name: 'C', role: 'R', zone: 'z' },
      outcome: 'modified',
      modification: { k: 2 },
      ext: { e: 1 },
    },
  ],
  timestamp_ns: '9',
  entity_id: 'é',
  session_id: 's',
  domain: 'd',
  ext: { x: null },
});
/** Every member of the schema's top level and of its chain nodes (`rich()` uses them all). */
const TOP_MEMBERS = Object.keys(rich());
const NODE_MEMBERS = [
  ...new Set((rich().human_delta_chain as Obj[]).flatMap((n) => Object.keys(n))),
];
type Path = (string | number)[];
/** The object holding the last element of `path`, and that element. */
function locate(d: Obj, path: Path): [Obj, string | number] {
  let at: unknown = d;
  for (const p of path.slice(0, -1)) at = (at as Obj)[p as string];
  return [at as Obj, path[path.length - 1] as string | number];
}
const node = (i: number, ...rest: Path): Path => ['human_delta_chain', i, ...rest];
/** `rich()` with the value at `path` replaced (or deleted, for undefined). */
function withValue(path: Path, value: unknown, base: Obj = rich()): Obj {
  const [holder, key] = locate(base, path);
  if (value !== undefined) holder[key] = value;
  else if (Array.isArray(holder)) holder.splice(key as number, 1);
  else delete holder[key];
  return base;
}
/** Asserts the verdict for `d` (the oracle asserts the contract on the way). */
const expectVerdict = (d: unknown, limits: DecisionLimits, verdict: Verdict, label: string) =>
  expect(judgeValue(d, limits), label).toBe(verdict);

type FieldType = 'text' | 'id' | 'object' | 'actor' | 'trace' | 'any' | 'fixed';
/** Every member of the schema in `rich()`, with what it must be. */
const FIELDS: [Path, FieldType][] = [
  [['record_id'], 'id'],
  [['spec_version'], 'fixed'],
  [['ctx'], 'object'],
  [['model_id'], 'text'],
  [['reasoning_trace'], 'trace'],
  [['output'], 'any'],
  [['ppp_triplet'], 'fixed'],
  [['ppp_triplet', 'provenance'], 'text'],
  [['ppp_triplet', 'place'], 'text'],
  [['ppp_triplet', 'purpose'], 'text'],
  [['human_delta_chain'], 'fixed'],
  [['timestamp_ns'], 'fixed'],
  [['entity_id'], 'text'],
  [['session_id'], 'text'],
  [['domain'], 'text'],
  [['ext'], 'object'],
  ...[0, 1, 2].flatMap((i): [Path, FieldType][] => [
    [node(i), 'fixed'],
    [node(i, 'sequence'), 'fixed'],
    [node(i, 'kind'), 'fixed'],
    [node(i, 'timestamp_ns'), 'fixed'],
    [node(i, 'actor'), 'actor'],
    [node(i, 'actor', 'name'), 'text'],
    [node(i, 'actor', 'role'), 'text'],
  ]),
  [node(0, 'note'), 'text'],
  [node(1, 'authority_ref'), 'text'],
  [node(1, 'modification'), 'object'],
  [node(1, 'signature'), 'text'],
  [node(2, 'outcome'), 'fixed'],
  [node(2, 'modification'), 'object'],
  [node(2, 'ext'), 'object'],
  [node(0, 'actor', 'id'), 'any'],
];
/** Values of the wrong (or right) type, and which field types take them. */
const TYPE_PROBES: [unknown, FieldType[]][] = [
  [-7, ['any']],
  [1.5, ['any']],
  [null, ['any']],
  [true, ['any']],
  [false, ['any']],
  ['', ['any', 'trace']],
  ['x', ['any', 'trace', 'text', 'id']],
  [[], ['any', 'trace']],
  [
    ['x', 1],
    ['any', 'trace'],
  ],
  [{}, ['any', 'object']],
  [{ a: [1] }, ['any', 'object']],
  [{ name: 'n', role: 'r' }, ['any', 'object', 'actor']],
];
const OPTIONAL = new Set(['ext', 'note', 'authority_ref', 'signature', 'id', 'modification']);

describe('explicit mutations of a rich decision', () => {
  it('the base decision is valid and accepted, also under SMALL limits', () => {
    expectVerdict(rich(), DEFAULTS, 'accepted', 'defaults');
    expectVerdict(rich(), SMALL, 'accepted', 'small');
    // It has every optional member, so the member lists the mutations use are complete.
    expect(TOP_MEMBERS).toHaveLength(13);
    expect(NODE_MEMBERS).toHaveLength(10);
  });

  it.each(FIELDS.map(([p, t]) => [p.join('.'), p, t] as const))(
    'removing %s',
    (_label, path, _type) => {
      const key = path[path.length - 1] as string;
      // Optional members, except the FOI's modification (its outcome is "modified").
      const optional = OPTIONAL.has(key) && path.join('.') !== node(2, 'modification').join('.');
      // Any one node of escalation, delta, foi may go: the rest is still a legal chain.
      const removable = optional || typeof key === 'number';
      const d = withValue(path, undefined);
      expectVerdict(d, SMALL, removable ? 'accepted' : 'invalid', path.join('.'));
    },
  );

  it.each(FIELDS.map(([p, t]) => [p.join('.'), p, t] as const))(
    'values of every type for %s',
    (_label, path, type) => {
      for (const [value, types] of TYPE_PROBES) {
        const label = `${path.join('.')} = ${JSON.stringify(value)}`;
        expectVerdict(
          withValue(path, value),
          SMALL,
          types.includes(type) ? 'accepted' : 'invalid',
          label,
        );
      }
    },
  );

  it('unknown members at the top level, in a node and in ppp_triplet; allowed in an actor', () => {
    for (const name of ['zzz', 'a', 'Ext', 'ext_', 'record', ' ', '~', '\u007f', 'nam', 'rolf']) {
      for (const path of [[], node(1), ['ppp_triplet']]) {
        expectVerdict(withValue([...path, name], 1), SMALL, 'invalid', `${path.join('.')} ${name}`);
      }
      expectVerdict(withValue([...node(1, 'actor'), name], 1), SMALL, 'accepted', name);
    }
    // Extra actor members sorting right around name and role.
    for (const name of ['n', 'nam', 'name0', 'namf', 'r', 'rol', 'role_', 'rolf', 'NAME']) {
      expectVerdict(withValue([...node(2, 'actor'), name], [name]), SMALL, 'accepted', name);
    }
    // Actor member names outside printable ASCII: valid, declined.
    for (const name of ['é', 'a\nb', '"', '\\', '😀']) {
      expectVerdict(withValue([...node(1, 'actor'), name], 1), SMALL, 'declined', name);
    }
  });

  it('record_id pattern', () => {
    for (const ok of ['A', 'z.Z_0:9-', '...', '-', ':']) {
      expectVerdict(withValue(['record_id'], ok), SMALL, 'accepted', ok);
    }
    for (const bad of ['r 1', 'r/1', 'é', 'r\n', 'r"', 'r\\', '😀', 'a#', '\u007f']) {
      expectVerdict(withValue(['record_id'], bad), SMALL, 'invalid', bad);
    }
  });

  it('spec_version', () => {
    for (const bad of ['0.3', '0.1', '0.2 ', ' 0.2', '0.20', '', 0.2, 2]) {
      expectVerdict(withValue(['spec_version'], bad), SMALL, 'invalid', String(bad));
    }
  });

  it('timestamps: canonical u64 decimal strings only, at the top and in nodes', () => {
    const bad = ['01', '00', '', '-1', '+1', ' 1', '1 ', '1.5', '1e3', '0x1', '١'];
    bad.push(String(U64_MAX + 1n), '99999999999999999999', '100000000000000000000');
    for (const path of [['timestamp_ns'], node(0, 'timestamp_ns'), node(2, 'timestamp_ns')]) {
      for (const value of [...bad, 10, 1e19]) {
        expectVerdict(withValue(path, value), SMALL, 'invalid', `${path.join('.')} ${value}`);
      }
    }
    for (const ok of ['0', '1', String(U64_MAX), '10000000000000000000']) {
      expectVerdict(withValue(['timestamp_ns'], ok), SMALL, 'accepted', ok);
    }
    // Node times may repeat but not go back; the last one may be u64 max.
    expectVerdict(withValue(node(2, 'timestamp_ns'), String(U64_MAX)), SMALL, 'accepted', 'max');
    expectVerdict(withValue(node(2, 'timestamp_ns'), '10'), SMALL, 'accepted', 'equal');
    expectVerdict(withValue(node(2, 'timestamp_ns'), '9'), SMALL, 'invalid', 'earlier');
    expectVerdict(withValue(node(0, 'timestamp_ns'), '9'), SMALL, 'accepted', 'first earlier');
    expectVerdict(withValue(node(0, 'timestamp_ns'), '11'), SMALL, 'invalid', 'later than next');
    // Same length, compared digit by digit; and different lengths.
    const times = (a: string, b: string, c: string): Obj => {
      const d = rich();
      const chain = d.human_delta_chain as Obj[];
      [a, b, c].forEach((t, i) => ((chain[i] as Obj).timestamp_ns = t));
      return d;
    };
    expectVerdict(times('19', '20', '100'), SMALL, 'accepted', '19 20 100');
    expectVerdict(times('20', '19', '100'), SMALL, 'invalid', '20 19 100');
    expectVerdict(times('9', '100', '99'), SMALL, 'invalid', '9 100 99');
    const max = String(U64_MAX);
    const below = String(U64_MAX - 1n);
    expectVerdict(times(below, max, max), SMALL, 'accepted', 'below max max');
    expectVerdict(times(max, below, max), SMALL, 'invalid', 'max below max');
  });

  it('chain sequences: strictly increasing non-negative safe integers', () => {
    const seqs = (a: number, b: number, c: number): Obj => {
      const d = rich();
      const chain = d.human_delta_chain as Obj[];
      [a, b, c].forEach((s, i) => ((chain[i] as Obj).sequence = s));
      return d;
    };
    expectVerdict(seqs(0, 1, 2), SMALL, 'accepted', '0 1 2');
    expectVerdict(seqs(3, 10, 999_999_999_999_999), SMALL, 'accepted', '15 digits');
    expectVerdict(seqs(0, 1, 1_000_000_000_000_000), SMALL, 'declined', '16 digits');
    expectVerdict(seqs(0, 1, Number.MAX_SAFE_INTEGER), SMALL, 'declined', 'max safe');
    for (const [a, b, c] of [
      [0, 0, 1],
      [1, 0, 2],
      [0, 2, 2],
      [0, 2, 1],
      [-1, 0, 1],
      [0, 1.5, 2],
      [0, 1, 2 ** 53],
      [0, 1, 1e21],
      [0, 1, 2 ** 53 + 2],
    ] as [number, number, number][]) {
      expectVerdict(seqs(a, b, c), SMALL, 'invalid', `${a} ${b} ${c}`);
    }
    // 1e3 and -0 are just 1000 and 0 once canonical.
    expectVerdict(seqs(-0, 1e3, 1e4), SMALL, 'accepted', '-0 1e3 1e4');
  });

  it('chain length: empty, at and over maxChainLength', () => {
    expectVerdict(withValue(['human_delta_chain'], []), SMALL, 'invalid', 'empty');
    const four = rich();
    const chain = four.human_delta_chain as Obj[];
    chain.unshift({ sequence: 0, kind: 'autonomous', timestamp_ns: '1', authority_ref: 'p' });
    chain.forEach((n, i) => (n.sequence = i));
    expectVerdict(four, SMALL, 'invalid', 'four nodes, limit 3');
    expectVerdict(four, limitsOf({ ...SMALL, maxChainLength: 4 }), 'accepted', 'limit 4');
    expectVerdict(rich(), limitsOf({ ...SMALL, maxChainLength: 2 }), 'invalid', 'limit 2');
    expectVerdict(rich(), limitsOf({ ...SMALL, maxChainLength: 0 }), 'invalid', 'limit 0');
  });

  it('per-kind members: outcome, modification, actor, authority_ref', () => {
    const actor = { name: 'A', role: 'R' };
    // The node, resolved by a delta when it is an escalation.
    const one = (n: Obj): Obj =>
      withValue(
        ['human_delta_chain'],
        n.kind === 'escalation'
          ? [n, { sequence: 1, kind: 'delta', timestamp_ns: '1', actor }]
          : [n],
      );
    const base = (kind: Kind): Obj => ({
      sequence: 0,
      kind,
      timestamp_ns: '1',
      ...(kind === 'autonomous' ? { authority_ref: 'p' } : { actor }),
      ...(kind === 'foi' ? { outcome: 'affirmed' } : {}),
    });
    for (const kind of KINDS) {
      expectVerdict(one(base(kind)), SMALL, 'accepted', kind);
      const outcome = { ...base(kind), outcome: 'halted' };
      expectVerdict(one(outcome), SMALL, kind === 'foi' ? 'accepted' : 'invalid', `${kind} +o`);
      const mod = { ...base(kind), modification: { a: 1 } };
      const modOk = kind === 'delta';
      expectVerdict(one(mod), SMALL, modOk ? 'accepted' : 'invalid', `${kind} +modification`);
      const noActor = compact({ ...base(kind), actor: undefined, authority_ref: 'p' });
      const actorOk = kind === 'autonomous';
      expectVerdict(one(noActor), SMALL, actorOk ? 'accepted' : 'invalid', `${kind} -actor`);
      const withBoth = { ...base(kind), actor, authority_ref: 'p' };
      expectVerdict(one(withBoth), SMALL, 'accepted', `${kind} actor and authority`);
      for (const bad of [{ name: 'A' }, { role: 'R' }, {}, { name: '', role: 'R' }]) {
        const label = `${kind} actor ${JSON.stringify(bad)}`;
        expectVerdict(one({ ...base(kind), actor: bad }), SMALL, 'invalid', label);
      }
    }
    const noAuthority = compact({ ...base('autonomous'), authority_ref: undefined, actor });
    expectVerdict(one(noAuthority), SMALL, 'invalid', 'autonomous without authority');
    const foi = (outcome: unknown, modification?: unknown): Obj =>
      one(compact({ ...base('foi'), outcome, modification }));
    expectVerdict(foi('modified', { a: 1 }), SMALL, 'accepted', 'modified with');
    expectVerdict(foi('modified', {}), SMALL, 'accepted', 'modified with {}');
    expectVerdict(foi('modified'), SMALL, 'invalid', 'modified without');
    expectVerdict(foi('affirmed', { a: 1 }), SMALL, 'invalid', 'affirmed with');
    expectVerdict(foi('halted', { a: 1 }), SMALL, 'invalid', 'halted with');
    expectVerdict(foi('modified', []), SMALL, 'invalid', 'modification array');
    expectVerdict(foi(undefined), SMALL, 'invalid', 'no outcome');
    for (const bad of ['Affirmed', 'modify', '', 'halt', 1, null]) {
      expectVerdict(foi(bad), SMALL, 'invalid', `outcome ${String(bad)}`);
    }
    for (const bad of ['Delta', 'deltas', 'delt', '', 'human', 0, null]) {
      expectVerdict(one({ ...base('delta'), kind: bad }), SMALL, 'invalid', `kind ${String(bad)}`);
    }
  });

  it('chain order: every sequence of up to four kinds, against the rules', () => {
    const orderOk = (kinds: Kind[]): boolean =>
      kinds.every((k, i) => {
        const last = i === kinds.length - 1;
        if (k === 'halt' || k === 'foi') return last;
        if (k === 'escalation')
          return !last && ['delta', 'halt', 'foi'].includes(kinds[i + 1] as Kind);
        return true;
      });
    const limits = limitsOf({ maxChainLength: 4 });
    let valid = 0;
    let all: Kind[][] = [[]];
    for (let n = 1; n <= 4; n++) {
      all = all.flatMap((prefix) => KINDS.map((k) => [...prefix, k]));
      for (const kinds of all) {
        const chain = kinds.map((kind, i) =>
          compact({
            sequence: i * 2,
            kind,
            timestamp_ns: String(100 + i),
            actor: kind === 'autonomous' ? undefined : { name: 'A', role: 'R' },
            authority_ref: kind === 'autonomous' ? 'p' : undefined,
            outcome: kind === 'foi' ? 'affirmed' : undefined,
          }),
        );
        const ok = orderOk(kinds);
        if (ok) valid++;
        const d = withValue(['human_delta_chain'], chain);
        expectVerdict(d, limits, ok ? 'accepted' : 'invalid', kinds.join(' '));
      }
    }
    expect(valid).toBeGreaterThan(50);
  });

  it('ppp_triplet: every member required', () => {
    for (const m of PPP_MEMBERS) {
      expectVerdict(withValue(['ppp_triplet', m], undefined), SMALL, 'invalid', m);
    }
    expectVerdict(withValue(['ppp_triplet'], {}), SMALL, 'invalid', '{}');
  });
});

// ---- length limits -------------------------------------------------------------------------

/** A string of exactly `units` UTF-16 code units built from `unit` (1 or 2 units each). */
function ofLength(unit: string, units: number): string {
  const whole = Math.floor(units / unit.length);
  return unit.repeat(whole) + 'a'.repeat(units - whole * unit.length);
}

describe('length limits, in UTF-16 code units (maxIdLength 8, maxTextLength 10)', () => {
  const returned = new Set(['entity_id', 'session_id', 'domain']);
  const idFields: Path[] = [['model_id'], ['entity_id'], ['session_id'], ['domain']];
  const textFields: Path[] = [
    ['ppp_triplet', 'provenance'],
    ['ppp_triplet', 'place'],
    ['ppp_triplet', 'purpose'],
    node(0, 'note'),
    node(1, 'authority_ref'),
    node(1, 'signature'),
    node(2, 'actor', 'name'),
    node(2, 'actor', 'role'),
  ];
  // Literal ASCII, 2- and 3-byte UTF-8, astral (two units, four bytes), escapes (one unit,
  // two or six bytes).
  const units = ['a', 'é', '€', '😀', '\n', '\u0001', '"', '\\'];

  it.each([
    ['ids', idFields, SMALL.maxIdLength],
    ['texts', textFields, SMALL.maxTextLength],
  ] as const)('%s: at the limit and one over', (_name, fields, max) => {
    for (const path of fields) {
      for (const unit of units) {
        for (const n of [max - 1, max, max + 1]) {
          const s = ofLength(unit, n);
          expect(s.length).toBe(n);
          const escaped = !isUnescaped(s) && returned.has(path[0] as string);
          const verdict = n > max ? 'invalid' : escaped ? 'declined' : 'accepted';
          expectVerdict(withValue(path, s), SMALL, verdict, `${path.join('.')} ${unit} ${n}`);
        }
      }
      expectVerdict(withValue(path, ''), SMALL, 'invalid', `${path.join('.')} empty`);
    }
  });

  it('record_id at the limit and one over', () => {
    expectVerdict(withValue(['record_id'], 'r'.repeat(8)), SMALL, 'accepted', '8');
    expectVerdict(withValue(['record_id'], 'r'.repeat(9)), SMALL, 'invalid', '9');
    expectVerdict(withValue(['record_id'], ''), SMALL, 'invalid', 'empty');
  });

  it('a limit of 0 or 1 unit', () => {
    expectVerdict(rich(), limitsOf({ ...SMALL, maxTextLength: 0 }), 'invalid', 'text 0');
    expectVerdict(rich(), limitsOf({ ...SMALL, maxIdLength: 0 }), 'invalid', 'id 0');
    const short = withValue(['record_id'], 'r');
    expectVerdict(short, limitsOf({ ...SMALL, maxIdLength: 1 }), 'accepted', 'id 1');
    const astral = withValue(['entity_id'], '😀', short);
    expectVerdict(astral, limitsOf({ ...SMALL, maxIdLength: 1 }), 'invalid', 'astral, id 1');
    expectVerdict(astral, limitsOf({ ...SMALL, maxIdLength: 2 }), 'accepted', 'astral, id 2');
  });
});

// ---- nesting and size ----------------------------------------------------------------------

/** Deepest container of `v`, with `v` at `depth` (-1 when there is none). */
function deepest(v: unknown, depth = 0): number {
  if (v === null || typeof v !== 'object') return -1;
  const children = Array.isArray(v) ? v : Object.values(v as Obj);
  return Math.max(depth, ...children.map((c) => deepest(c, depth + 1)));
}
/** `n` nested containers alternating objects and arrays, the outermost `outer`; 0 for n = 0. */
function nested(n: number, outer: 'object' | 'array'): unknown {
  if (n === 0) return 0;
  const inner = nested(n - 1, outer === 'object' ? 'array' : 'object');
  if (outer === 'array') return n === 1 ? [] : [inner];
  return n === 1 ? {} : { k: inner };
}

describe('nesting depth around maxDepth', () => {
  // Where free-form JSON goes, what its outermost value must be, and whether it may be a scalar.
  const places: [string, Path, 'object' | 'array', boolean][] = [
    ['ctx', ['ctx'], 'object', false],
    ['output', ['output'], 'object', true],
    ['output (an array)', ['output'], 'array', true],
    ['ext', ['ext'], 'object', false],
    ['reasoning_trace', ['reasoning_trace'], 'array', false],
    ['delta modification', node(1, 'modification'), 'object', false],
    ['foi modification', node(2, 'modification'), 'object', false],
    ['node ext', node(2, 'ext'), 'object', false],
    ['actor extra (object)', node(0, 'actor', 'id'), 'object', true],
    ['actor extra (array)', node(0, 'actor', 'id'), 'array', true],
  ];
  it.each(places)('%s', (_name, path, outer, scalar) => {
    for (let n = scalar ? 0 : 1; n <= 7; n++) {
      const d = withValue(path, nested(n, outer));
      for (let maxDepth = 0; maxDepth <= 10; maxDepth++) {
        const verdict = deepest(d) < maxDepth ? 'accepted' : 'invalid';
        expectVerdict(d, limitsOf({ maxDepth }), verdict, `nesting ${n}, maxDepth ${maxDepth}`);
      }
    }
  });

  it('the least maxDepth for the schema alone: 3 without an actor, 4 with one', () => {
    const noActor = JSON.parse(line()) as Obj;
    expectVerdict(noActor, limitsOf({ maxDepth: 2 }), 'invalid', 'depth 2');
    expectVerdict(noActor, limitsOf({ maxDepth: 3 }), 'accepted', 'depth 3');
    const withActor = structuredClone(noActor);
    ((withActor.human_delta_chain as Obj[])[0] as Obj).actor = { name: 'A', role: 'R' };
    expectVerdict(withActor, limitsOf({ maxDepth: 3 }), 'invalid', 'actor, depth 3');
    expectVerdict(withActor, limitsOf({ maxDepth: 4 }), 'accepted', 'actor, depth 4');
  });
});

describe('byte limits', () => {
  it('maxInputBytes and maxRecordBytes at the size, one under and one over', () => {
    for (const d of [rich(), JSON.parse(line()) as Obj]) {
      const size = canonicalBytes(d).length;
      for (const key of ['maxInputBytes', 'maxRecordBytes'] as const) {
        expectVerdict(d, limitsOf({ [key]: size + 1 }), 'accepted', `${key} + 1`);
        expectVerdict(d, limitsOf({ [key]: size }), 'accepted', `${key}`);
        expectVerdict(d, limitsOf({ [key]: size - 1 }), 'invalid', `${key} - 1`);
      }
    }
  });
});

// ---- non-canonical bytes -------------------------------------------------------------------

/** Indices in canonical JSON `text` of structural characters (outside strings). */
function structuralIndices(text: string): number[] {
  const out: number[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ('{}[],:'.includes(c as string)) out.push(i);
  }
  return out;
}

describe('non-canonical forms of valid decisions are declined', () => {
  const text = canonicalJson(rich());
  const declined = (variant: string, label: string): void => {
    expect(variant, label).not.toBe(text);
    const bytes = utf8.encode(variant);
    expect(acceptCanonicalDecision(bytes, SMALL), label).toBeUndefined();
    expect(judge(bytes, SMALL), label).toBe('declined');
  };

  it('whitespace before or after any structural character', () => {
    const at = structuralIndices(text);
    expect(at.length).toBeGreaterThan(50);
    for (const i of at) {
      for (const ws of [' ', '\n', '\t', '\r']) {
        declined(text.slice(0, i) + ws + text.slice(i), `${ws} before ${i}`);
        declined(text.slice(0, i + 1) + ws + text.slice(i + 1), `${ws} after ${i}`);
      }
    }
  });

  it('members out of order, at every level of the schema and below', () => {
    const swaps: [string, string][] = [
      ['"ctx":{"a":[1,{"b":"x"}]},"domain":"d",', '"domain":"d","ctx":{"a":[1,{"b":"x"}]},'],
      ['"session_id":"s","spec_version":"0.2"', '"spec_version":"0.2","session_id":"s"'],
      ['"domain":"d","entity_id":"é"', '"entity_id":"é","domain":"d"'],
      ['"place":"pl","provenance":"pv"', '"provenance":"pv","place":"pl"'],
      ['"sequence":0,"timestamp_ns":"10"', '"timestamp_ns":"10","sequence":0'],
      [
        '"actor":{"name":"B","role":"R"},"authority_ref":"ar"',
        '"authority_ref":"ar","actor":{"name":"B","role":"R"}',
      ],
      ['"name":"C","role":"R","zone":"z"', '"name":"C","zone":"z","role":"R"'],
      ['"id":7,"name":"A"', '"name":"A","id":7'],
      ['"kind":"foi","modification":{"k":2}', '"modification":{"k":2},"kind":"foi"'],
    ];
    for (const [from, to] of swaps) {
      expect(text, from).toContain(from);
      declined(text.replace(from, to), to);
    }
  });

  it('duplicated members (JSON.parse keeps the last one)', () => {
    declined(text.replace('"domain":"d"', '"domain":"d","domain":"d"'), 'top');
    declined(text.replace('"name":"B"', '"name":"B","name":"B"'), 'actor');
    declined(text.replace('"note":"n"', '"note":"n","note":"n"'), 'node');
    declined(text.replace('"place":"pl"', '"place":"pl","place":"pl"'), 'ppp');
  });

  it('escapes JSON.stringify does not write, and numbers it spells otherwise', () => {
    const base = canonicalJson(
      withValue(node(0, 'note'), 'a/b\u001f', withValue(['output'], { o: 1.5, p: 7 })),
    );
    expect(judge(utf8.encode(base), SMALL)).toBe('accepted');
    for (const [from, to] of [
      ['a/b', 'a\\/b'],
      ['\\u001f', '\\u001F'],
      ['"A"', '"\\u0041"'],
      ['1.5', '1.50'],
      ['1.5', '15e-1'],
      ['"p":7', '"p":7.0'],
      ['"p":7', '"p":7e0'],
      ['"sequence":5', '"sequence":5.0'],
      ['"sequence":5', '"sequence":5e0'],
      ['"sequence":5', '"sequence":5e3'],
      ['"sequence":5', '"sequence":05'],
      ['"record_id":"r-1"', '"record_id":"r\\u002d1"'],
      ['"entity_id":"é"', '"entity_id":"\\u00e9"'],
      ['"kind":"foi"', '"kind":"\\u0066oi"'],
    ] as [string, string][]) {
      expect(base, from).toContain(from);
      const variant = base.replace(from, to);
      const bytes = utf8.encode(variant);
      expect(acceptCanonicalDecision(bytes, SMALL), to).toBeUndefined();
      // Either a different spelling of the same decision, or not JSON at all ("05").
      expect(judge(bytes, SMALL), to).not.toBe('accepted');
    }
  });

  it('a byte order mark or a line end around the line', () => {
    for (const variant of [`\ufeff${text}`, `${text}\n`, `${text}\r\n`, `${text}\r`, `${text} `]) {
      declined(variant, JSON.stringify(variant.slice(-2)));
    }
  });
});

// ---- random damage to valid lines ----------------------------------------------------------

describe('damaged canonical lines (fast-check)', () => {
  const linesArb = decisionArb.map((d) => canonicalBytes(d));

  it('single-byte replacements, insertions and removals: sound, and mostly rejected', () => {
    const t = tally();
    fc.assert(
      fc.property(
        linesArb,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'remove'),
        (good, at, byte, edit) => {
          const i = at % good.length;
          if (edit === 'replace' && good[i] === byte) return;
          const bytes = editByte(good, i, byte, edit);
          t.add(judge(bytes));
        },
      ),
      { numRuns: 1500 },
    );
    const { accepted, declined, invalid } = t.count;
    expect(accepted + declined + invalid).toBeGreaterThan(1400);
    // Only edits inside free text keep a line valid; the rest is rejected.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted / (accepted + declined + invalid)).toBeLessThan(0.15);
  });

  it('replacements of structural bytes: sound, and nearly all rejected', () => {
    let rejected = 0;
    let total = 0;
    fc.assert(
      fc.property(linesArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (good, at, byte) => {
        const text = Buffer.from(good).toString('utf8');
        const positions = structuralIndices(text).map((k) => Buffer.byteLength(text.slice(0, k)));
        const i = positions[at % positions.length] as number;
        if (good[i] === byte) return;
        const bytes = good.slice();
        bytes[i] = byte;
        total++;
        if (judge(bytes) !== 'accepted') rejected++;
      }),
      { numRuns: 500 },
    );
    // Few such edits keep a valid line ("[1,2]" to "[1.2]" or "[162]" does).
    expect(total).toBeGreaterThan(450);
    expect(rejected / total).toBeGreaterThan(0.9);
  });

  it('no proper prefix of a line is accepted', () => {
    fc.assert(
      fc.property(linesArb, (good) => {
        for (let n = 0; n < good.length; n++) {
          const prefix = good.subarray(0, n);
          expect(acceptCanonicalDecision(prefix, DEFAULTS)).toBeUndefined();
          expect(judge(prefix)).toBe('invalid');
        }
      }),
      { numRuns: 15 },
    );
  });
});
