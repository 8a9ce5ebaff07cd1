import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/core/bytes.ts';
import {
  assertJsonValue,
  canonicalBytes,
  canonicalJson,
  canonicalJsonFast,
  CanonicalJsonError,
} from '../../../src/core/jcs.ts';

function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 examples', () => {
  it('§3.2.2: the parsed example serializes to the RFC output, byte for byte', () => {
    const input =
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
      ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
      ' "literals": [null, true, false]}';
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
    // The RFC also gives the UTF-8 bytes in hex (§3.2.4).
    expect(toHex(canonicalBytes(JSON.parse(input)))).toBe(
      [
        '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72',
        '75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a',
        '5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31',
        '65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37',
        '5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30',
        '30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d',
      ]
        .join(' ')
        .replaceAll(' ', ''),
    );
  });

  it('§3.2.3: properties sort by UTF-16 code units, not code points', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // (Read the order from the text: JS objects list integer-like keys such as "1" first.)
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  // Appendix B: IEEE 754 bit patterns and their canonical text.
  const appendixB: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(appendixB)('Appendix B: %s -> %s', (bits, text) => {
    expect(canonicalJson(fromBits(bits))).toBe(text);
    expect(canonicalJsonFast([fromBits(bits)])).toBe(`[${text}]`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
  ])('Appendix B: %s (%s) is rejected', (bits) => {
    expect(() => canonicalJson(fromBits(bits))).toThrow(CanonicalJsonError);
  });
});

describe('strings and escaping', () => {
  it('escapes controls as lowercase \\u00xx, keeps the short escapes, leaves the rest raw', () => {
    expect(canonicalJson('\u0000\u0008\t\n\f\r\u001f"\\/\u007f\u00e9\u{1f600}')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\u007f\u00e9\u{1f600}"',
    );
  });
  it('rejects lone surrogates in values and in member names, with the path', () => {
    expect(() => canonicalJson({ a: ['ok', '\ud800'] })).toThrow(
      expect.objectContaining({ code: 'lone_surrogate', path: '$.a[1]' }),
    );
    expect(() => canonicalJson({ ['x\udc00']: 1 })).toThrow(
      expect.objectContaining({ code: 'lone_surrogate' }),
    );
  });
  it('empty containers and nesting', () => {
    expect(canonicalJson({ z: { z: 1, a: 2 }, a: [], b: {} })).toBe(
      '{"a":[],"b":{},"z":{"a":2,"z":1}}',
    );
  });
});

describe('non-JSON values are typed errors with the path', () => {
  const holey: number[] = [1];
  holey[2] = 3;
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = { back: cycle };
  const cases: [string, unknown, string, string][] = [
    ['undefined member', { a: undefined }, 'undefined', '$.a'],
    ['undefined top', undefined, 'undefined', '$'],
    ['NaN', { n: [1, NaN] }, 'non_finite_number', '$.n[1]'],
    ['Infinity', -Infinity, 'non_finite_number', '$'],
    ['function', { f: () => 1 }, 'function', '$.f'],
    ['symbol', [Symbol('s')], 'symbol', '$[0]'],
    ['Date', { d: new Date(0) }, 'not_plain_object', '$.d'],
    ['Map', new Map(), 'not_plain_object', '$'],
    ['sparse array', { h: holey }, 'array_hole', '$.h[1]'],
    ['cycle', cycle, 'cycle', '$.self.back.self.back'],
    ['odd member name', { 'a b': { c: undefined } }, 'undefined', '$["a b"].c'],
  ];
  it.each(cases)('%s', (_name, value, code, path) => {
    let caught: unknown;
    try {
      canonicalJson(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CanonicalJsonError);
    expect((caught as CanonicalJsonError).code).toBe(code);
    if (code !== 'cycle') expect((caught as CanonicalJsonError).path).toBe(path);
  });
  it('limits nesting depth', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10; i++) deep = [deep];
    expect(() => assertJsonValue(deep, 10)).not.toThrow();
    expect(() => assertJsonValue([deep], 10)).toThrow(
      expect.objectContaining({ code: 'too_deep' }),
    );
  });
  it('accepts null-prototype objects (plain data)', () => {
    const o = Object.create(null) as Record<string, number>;
    o.b = 2;
    o.a = 1;
    expect(canonicalJson(o)).toBe('{"a":1,"b":2}');
  });
});

describe('the hot-path serializer equals the canonicalize package', () => {
  it.each([
    ['integer-like keys (enumerated numerically by JS)', '{"10":1,"9":2,"a":3,"1":4}'],
    ['integer-like key after a symbol-like key', '{"!":1,"1":2}'],
    ['sorted with an integer-like key first', '{"1":0,"a":{"b":[1,{"c":-0}]}}'],
    ['a __proto__ member', '{"z":1,"__proto__":{"x":2}}'],
    ['escapes in keys and values', '{"\\u0001":"\\"","\\n":"\\u2028"}'],
  ])('%s', (_name, text) => {
    const v: unknown = JSON.parse(text);
    expect(canonicalJsonFast(v)).toBe(canonicalize(v));
    expect(canonicalJson(v)).toBe(canonicalize(v));
  });
  it('on arbitrary JSON values (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJsonFast(v)).toBe(canonicalize(v));
      }),
      { numRuns: 500 },
    );
  });
  it('on values with full-unicode keys and strings', () => {
    const key = fc.string({ unit: 'grapheme', maxLength: 6 });
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: 'binary', maxLength: 8 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    const outcome = (f: () => string | undefined): string => {
      try {
        return `ok ${f()}`;
      } catch {
        return 'rejected';
      }
    };
    fc.assert(
      fc.property(value, (v) => {
        // Lone surrogates can occur: both implementations must reject them.
        expect(outcome(() => canonicalJsonFast(v))).toBe(outcome(() => canonicalize(v)));
      }),
      { numRuns: 500 },
    );
  });
});
