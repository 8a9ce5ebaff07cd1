import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/core/jcs.ts';
import { isCanonicalJsonBytes } from '../../../src/core/jcs-bytes.ts';
import {
  JsonTextError,
  parseJsonExact,
  parseJsonWithCanonical,
  sameDecimal,
} from '../../../src/core/json-exact.ts';
import { utf8 } from '../../../src/core/bytes.ts';

const fails = (text: string): { code: string; path: string } => {
  try {
    parseJsonExact(text);
  } catch (err) {
    expect(err).toBeInstanceOf(JsonTextError);
    const e = err as JsonTextError;
    return { code: e.code, path: e.path };
  }
  throw new Error(`parsed: ${text}`);
};

describe('integers keep every digit (vectors)', () => {
  // Each: literal, the JavaScript type it is held in, its canonical form.
  const vectors: [string, 'number' | 'bigint', string][] = [
    ['0', 'number', '0'],
    ['-7', 'number', '-7'],
    ['9007199254740991', 'number', '9007199254740991'], // 2^53 - 1, the largest safe integer
    ['-9007199254740991', 'number', '-9007199254740991'],
    ['9007199254740992', 'bigint', '9007199254740992'], // 2^53: the first integer kept as bigint
    ['9007199254740993', 'bigint', '9007199254740993'], // 2^53 + 1: a double would hold ...992
    ['1796569260694147634', 'bigint', '1796569260694147634'], // a double would hold ...600
    ['18446744073709551615', 'bigint', '18446744073709551615'], // 2^64 - 1
    ['-18446744073709551616', 'bigint', '-18446744073709551616'],
    ['123456789012345678901234567890', 'bigint', '123456789012345678901234567890'],
  ];
  it.each(vectors)('%s', (literal, type, canonical) => {
    const v = parseJsonExact(`[${literal}]`) as unknown[];
    expect(typeof v[0]).toBe(type);
    expect(canonicalJson(v)).toBe(`[${canonical}]`);
    expect(isCanonicalJsonBytes(utf8.encode(`[${canonical}]`))).toBe(true);
    // What RFC 8785 alone (JSON.parse, doubles) would have written instead.
    if (type === 'bigint' && literal !== '9007199254740992') {
      expect(JSON.stringify(JSON.parse(literal))).not.toBe(literal);
    }
  });
  it('a record timestamp round-trips through parse and canonical form', () => {
    const text = '{"timestamp_ns": 1796569260694147634, "n": [1, 2.5]}';
    expect(canonicalJson(parseJsonExact(text))).toBe(
      '{"n":[1,2.5],"timestamp_ns":1796569260694147634}',
    );
  });
});

describe('numbers whose canonical form is another value are refused', () => {
  it.each([
    ['-0', '$.a'],
    ['-0.0', '$.a'],
    ['-0e5', '$.a'],
    ['1e-400', '$.a'],
    ['1e400', '$.a'],
    ['-1e400', '$.a'],
    ['0.1000000000000000000001', '$.a'],
    ['1796569260694147634.0', '$.a'],
    ['1.796569260694147634e18', '$.a'],
  ])('%s', (literal, path) => {
    expect(fails(`{"a": ${literal}}`)).toEqual({ code: 'inexact_number', path });
  });
  it('other spellings of the same value are kept (their canonical form is that value)', () => {
    for (const [literal, canonical] of [
      ['1.50', '1.5'],
      ['1E2', '100'],
      ['1e-7', '1e-7'],
      ['0.0', '0'],
      ['1.7e18', '1700000000000000000'],
      ['1e21', '1e+21'],
      ['123.456e-2', '1.23456'],
    ] as const) {
      expect(canonicalJson(parseJsonExact(literal))).toBe(canonical);
      expect(sameDecimal(literal, canonical)).toBe(true);
    }
  });
  it('sameDecimal compares values, not spellings', () => {
    expect(sameDecimal('100', '1e2')).toBe(true);
    expect(sameDecimal('0.10', '1e-1')).toBe(true);
    expect(sameDecimal('0', '0.000')).toBe(true);
    expect(sameDecimal('0.1', '0.1000000000000000055511151231257827')).toBe(false);
    expect(sameDecimal('-1', '1')).toBe(false);
  });
});

describe('refused text', () => {
  it('duplicate member names, with the path of the repeat', () => {
    expect(fails('{"record_id": "a", "x": 1, "record_id": "b"}')).toEqual({
      code: 'duplicate_member',
      path: '$.record_id',
    });
    expect(fails('{"a": [{}, {"b c": 1, "b c": 2}]}')).toEqual({
      code: 'duplicate_member',
      path: '$.a[1]["b c"]',
    });
    // Escapes do not hide a repeat.
    expect(fails('{"ab": 1, "\\u0061b": 2}').code).toBe('duplicate_member');
  });
  it('a leading byte order mark', () => {
    expect(fails('\ufeff{}')).toEqual({ code: 'bom', path: '$' });
  });
  it('malformed JSON, with where it stopped', () => {
    for (const text of [
      '',
      '{',
      '{"a" 1}',
      '[1,]',
      '{"a":1,}',
      '01',
      '1.',
      '.5',
      '"\u0001"',
      'nul',
      '[1] x',
      '"\\x"',
      '"\\u12"',
      "{'a':1}",
    ]) {
      expect(fails(text).code, text).toBe('malformed_json');
    }
  });
  it('nesting beyond the limit, without exhausting the stack', () => {
    expect(() => parseJsonExact('[[[]]]', 3)).not.toThrow();
    expect(fails('['.repeat(300) + ']'.repeat(300)).code).toBe('too_deep');
    expect(() => parseJsonExact('['.repeat(1e6))).toThrow(JsonTextError);
  });
  it('__proto__ is an own member, as JSON.parse makes it', () => {
    const v = parseJsonExact('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(canonicalJson(v)).toBe('{"__proto__":{"x":1}}');
  });
});

describe('agrees with JSON.parse where JSON.parse is exact', () => {
  it('random JSON values in random layouts (fast-check)', () => {
    const exact = (v: unknown): boolean =>
      typeof v === 'number'
        ? !Object.is(v, -0) && (!Number.isInteger(v) || Number.isSafeInteger(v))
        : typeof v === 'object' && v !== null
          ? Object.values(v).every(exact)
          : true;
    const safe = fc.jsonValue().filter(exact);
    fc.assert(
      fc.property(safe, fc.constantFrom(undefined, 1, '\t'), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        const parsed = parseJsonExact(text);
        expect(parsed).toStrictEqual(JSON.parse(text));
        expect(canonicalJson(parsed)).toBe(canonicalize(JSON.parse(text)));
      }),
      { numRuns: 300 },
    );
  });
  it('strings with every kind of escape', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const text = JSON.stringify(s);
        expect(parseJsonExact(text)).toBe(JSON.parse(text));
        const escaped = text.replace(
          /[\u0080-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        );
        expect(parseJsonExact(escaped)).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
  it('never throws anything but JsonTextError (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            '{',
            '}',
            '[',
            ']',
            '"',
            ':',
            ',',
            '1',
            '-',
            'e',
            '.',
            ' ',
            '\\',
            'u',
            'a',
            't',
            'n',
          ),
        }),
        (text) => {
          try {
            parseJsonExact(text);
          } catch (err) {
            expect(err).toBeInstanceOf(JsonTextError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseJsonWithCanonical: the canonical text built while parsing', () => {
  const both = (text: string): void => {
    const r = parseJsonWithCanonical(text);
    expect(r.value).toStrictEqual(parseJsonExact(text));
    expect(r.canonical, text).toBe(canonicalJson(parseJsonExact(text)));
  };
  it('equals the serializer on random values in random layouts and escapes (fast-check)', () => {
    const escapeAll = (t: string): string =>
      t.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('-0')),
        fc.constantFrom(undefined, 1, '\t'),
        fc.boolean(),
        (v, indent, escape) => {
          const text = JSON.stringify(v, null, indent);
          both(escape ? escapeAll(text) : text);
        },
      ),
      { numRuns: 500 },
    );
  });
  it('hand cases: big integers, number spellings, member order, escapes, empty containers', () => {
    for (const text of [
      '{"b": 1796569260694147634, "a": [1.50, 1E2, -7, 0.0, 1e21], "\\u0063": "\\/x\\n"}',
      '{"z": {}, "y": [], "x": [[], {}], "é": "\\ud83d\\ude00", "A": null, "B": true}',
      '[{"b":1,"a":2},{"aa":1,"a":2,"":3}]',
      '"only \\"quoted\\""',
      '123456789012345678901234567890',
    ]) {
      both(text);
    }
  });
  it('no canonical text for a lone surrogate (the serializer reports it)', () => {
    expect(parseJsonWithCanonical('{"a": "\\ud800"}').canonical).toBeUndefined();
    expect(parseJsonWithCanonical('{"\\udc00": 1}').canonical).toBeUndefined();
  });
});
