// The client's routing scan of JSON text against the full path: whenever it reads a decision,
// the full path (as the shard parses it) reads the same record_id, timestamp and routing keys,
// or rejects the text (the shard then refuses it by line); on the upstream fixtures and on
// generated, re-spelled and damaged records. It reads every line the SDK writes.
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { parseDecisionLine } from '../../../src/core/decision.ts';
import { routingSourceOf } from '../../../src/core/routing.ts';
import { scanDecision, UnreadableKey } from '../../../src/client/line-scan.ts';
import { recordLine, sdkLine, upstreamRecord } from '../../fixtures/records.ts';
import { editByte } from '../core/byte-edit.ts';

const POINTERS = [
  '/record_id',
  '/entity_id',
  '/ctx/entity_id',
  '/ctx/session_id',
  '/ctx/domain',
  '/session_id',
  '/domain',
  '/ctx',
  '/timestamp_ns',
  '/ppp_triplet/place',
  '/ctx/list/1',
  '/nope',
  '/ctx/a~1b',
];

type Verdict = 'read' | 'declined';

/** Scans `text`; when the scan reads it and the full path accepts it, they must agree. */
function judge(text: string | Uint8Array): Verdict {
  const bytes = typeof text === 'string' ? utf8.encode(text) : text;
  const scanned = scanDecision(bytes);
  if (scanned === undefined) return 'declined';
  const full = parseDecisionLine(bytes);
  if (!full.ok) return 'read'; // the shard refuses it, by line and path
  const p = full.prepared;
  expect(scanned.recordId).toBe(p.recordId);
  expect(scanned.timestampNs).toBe(p.timestampNs);
  const source = routingSourceOf(p.decision);
  for (const pointer of POINTERS) {
    let key: unknown;
    try {
      key = scanned.keyAt(pointer);
    } catch (err) {
      // Declined for this pointer: the client takes the full path for the decision.
      expect(err).toBeInstanceOf(UnreadableKey);
      continue;
    }
    expect(key, pointer).toEqual(source.keyAt(pointer));
  }
  return 'read';
}

function parseFullOrThrow(text: string): Record<string, unknown> {
  const full = parseDecisionLine(utf8.encode(text));
  if (!full.ok) throw new Error(`invalid: ${JSON.stringify(full.problems)}`);
  return full.prepared.decision;
}

/**
 * JSON text of `value` in another layout: whitespace from `spaces` (in turn) around every
 * token, members in an order drawn from `seed`, and with `escape` every string's first
 * character as a \\u escape (member names included).
 */
function spell(
  value: unknown,
  opts: { spaces: readonly string[]; seed: number; escape: boolean },
): string {
  let turn = 0;
  let seed = opts.seed;
  const ws = (): string => opts.spaces[turn++ % opts.spaces.length] as string;
  const str = (v: string): string => {
    if (!opts.escape || v.length === 0) return JSON.stringify(v);
    const first = `\\u${v.charCodeAt(0).toString(16).padStart(4, '0')}`;
    return `"${first}${JSON.stringify(v.slice(1)).slice(1)}`;
  };
  const go = (v: unknown): string => {
    if (typeof v === 'string') return str(v);
    if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v === null) return 'null';
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => go(x) + ws()).join(`,${ws()}`)}]`;
    const entries = Object.entries(v as Record<string, unknown>);
    for (let k = entries.length - 1; k > 0; k--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const j = seed % (k + 1);
      [entries[k], entries[j]] = [entries[j] as [string, unknown], entries[k] as [string, unknown]];
    }
    const members = entries.map(([k, x]) => `${str(k)}${ws()}:${ws()}${go(x)}${ws()}`);
    return `{${ws()}${members.join(`,${ws()}`)}}`;
  };
  return `${ws()}${go(value)}${ws()}`;
}

const fixtureDir = new URL('../../fixtures/upstream/', import.meta.url);
const fixtureTexts: [string, string][] = ['sdk', 'spec'].flatMap((dir) =>
  readdirSync(new URL(dir, fixtureDir))
    .filter((f) => f.endsWith('.json'))
    .map((f): [string, string] => [
      `${dir}/${f}`,
      readFileSync(new URL(`${dir}/${f}`, fixtureDir), 'utf8').trim(),
    ]),
);

const record = (i: number, ctx: Record<string, unknown>) =>
  upstreamRecord(i, { id: `scan-${i}`, ctx: { system: 's', ...ctx } });

describe('scanDecision (the client routing scan)', () => {
  it('reads the upstream fixtures as the full path does', () => {
    expect(fixtureTexts.length).toBeGreaterThan(0);
    for (const [name, text] of fixtureTexts) {
      const valid = parseDecisionLine(utf8.encode(text)).ok;
      if (valid) expect(judge(text), name).toBe('read');
    }
  });

  it('reads SDK lines and canonical lines alike, with keys at the top or in ctx', () => {
    for (const [i, ctx] of [
      [1, { entity_id: 'acct-1' }],
      [2, { session_id: 'sess-2', domain: 'fx' }],
      [3, { entity_id: 7 }],
      [4, {}],
    ] as const) {
      const r = record(i, ctx);
      expect(judge(sdkLine(r))).toBe('read');
      expect(judge(recordLine(r))).toBe('read');
      expect(judge(`  ${recordLine(r)}\t`)).toBe('read');
    }
  });

  it('reads the keys of a decision again after other scans, and from its moved bytes', () => {
    // Routing may come back to a decision later (a routing change): its keys are read again
    // from its text, wherever the text now lies.
    const lines = [
      sdkLine(record(11, { entity_id: 'acct-11' })),
      recordLine(record(12, { entity_id: 'acct-12', session_id: 'sess-12' })),
      `{"entity_id":"top-13",${recordLine(record(13, { domain: 'fx' })).slice(1)}`,
    ];
    const scanned = lines.map((l) => scanDecision(utf8.encode(l)));
    scanned.reverse();
    lines.reverse();
    scanned.forEach((d, i) => {
      if (d === undefined) throw new Error(`line ${i} not read`);
      const copy = Buffer.alloc(d.size + 7, 0x20);
      copy.set(utf8.encode(lines[i] as string), 3);
      d.moveTo(copy, 3);
      const source = routingSourceOf(parseFullOrThrow(lines[i] as string));
      expect(d.recordId).toBe(source.keyAt('/record_id'));
      expect(d.timestampNs).toBe(source.timestampNs);
      for (const pointer of POINTERS) {
        expect(d.keyAt(pointer), pointer).toEqual(source.keyAt(pointer));
      }
      // A receipt's record_id is compared with the moved bytes, not with a string it holds.
      const receipt = Buffer.from(`x"${d.recordId}","routing"`);
      expect(d.matchRecordId(receipt, 2)).toBe(2 + d.recordId.length);
      expect(d.matchRecordId(Buffer.from(`x"${d.recordId.slice(0, -1)}~"`), 2)).toBe(-1);
      expect(d.matchRecordId(Buffer.from(`x"${d.recordId.slice(0, -1)}`), 2)).toBe(-1);
    });
  });

  it('declines escapes and duplicates it cannot read exactly', () => {
    const line = recordLine(record(5, { entity_id: 'e-5' }));
    // An escaped member name could spell a name it reads; an escaped id or timestamp form it
    // does not copy; a duplicate member the shard refuses.
    expect(scanDecision(utf8.encode(line.replace('"ctx"', '"\\u0063tx"')))).toBeUndefined();
    expect(
      scanDecision(utf8.encode(line.replace('"record_id":"scan-5"', '"record_id":"scan\\u002d5"'))),
    ).toBeUndefined();
    expect(
      scanDecision(utf8.encode(line.replace(/"timestamp_ns":(\d+)/, '"timestamp_ns":$1.0'))),
    ).toBeUndefined();
    expect(scanDecision(utf8.encode(line.replace('{', '{"record_id":"x",')))).toBeUndefined();
    expect(
      scanDecision(
        utf8.encode(line.replace('"entity_id":"e-5"', '"entity_id":"e-5","entity_id":"e-6"')),
      ),
    ).toBeUndefined();
    expect(scanDecision(utf8.encode(line + ' x'))).toBeUndefined();
    expect(scanDecision(utf8.encode(line.slice(0, -1)))).toBeUndefined();
    // An escaped key value: the scan reads the rest and declines that key only.
    const escaped = scanDecision(utf8.encode(line.replace('"e-5"', '"e\\u002d5"')));
    expect(() => escaped?.keyAt('/ctx/entity_id')).toThrow(UnreadableKey);
  });

  it('generated records in both spellings (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (i, entity, session) => {
          const ctx =
            session === undefined
              ? { entity_id: entity }
              : { entity_id: entity, session_id: session };
          judge(sdkLine(record(i, ctx)));
          judge(recordLine(record(i, ctx)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('generated records in any layout: whitespace, member order, escapes (fast-check)', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('e-1', 'fx', 'a"b', 'a\\b', 'é'));
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.record({
          entity_id: fc.option(key, { nil: undefined }),
          session_id: fc.option(key, { nil: undefined }),
          domain: fc.option(key, { nil: undefined }),
        }),
        fc.option(key, { nil: undefined }),
        fc.array(fc.constantFrom('', ' ', '\t', '\n', '\r\n  '), { minLength: 1 }),
        fc.nat(),
        fc.boolean(),
        (i, ctxKeys, topEntity, spaces, seed, escape) => {
          const ctx = Object.fromEntries(
            Object.entries(ctxKeys).filter(([, v]) => v !== undefined),
          );
          const r: Record<string, unknown> = record(i, ctx);
          if (topEntity !== undefined) r.entity_id = topEntity;
          const text = spell(r, { spaces, seed, escape });
          const verdict = judge(text);
          // Whitespace, member order and escapes in strings it does not read (a key it cannot
          // read exactly throws for that key alone) never make the scan decline.
          if (!escape) expect(verdict).toBe('read');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('damaged records: one byte replaced, inserted or removed (fast-check)', () => {
    const good = utf8.encode(sdkLine(record(9, { entity_id: 'e-9', session_id: 's-9' })));
    const bytes = fc.constantFrom(
      0x22,
      0x5c,
      0x2c,
      0x3a,
      0x7b,
      0x7d,
      0x5b,
      0x5d,
      0x20,
      0x30,
      0x61,
      0xff,
    );
    fc.assert(
      fc.property(
        fc.nat(),
        bytes,
        fc.constantFrom('replace', 'insert', 'remove'),
        (at, byte, edit) => {
          judge(editByte(good, at % (good.length + 1), byte, edit as 'replace'));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
