import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { canonicalJson, CanonicalJsonError } from '../../../src/core/jcs.ts';
import { isCanonicalJsonBytes } from '../../../src/core/jcs-bytes.ts';
import { JsonTextError, parseJsonExact } from '../../../src/core/json-exact.ts';
import { editByte } from './byte-edit.ts';
import { anyValue, hasOnlyPlainNames, plainValue, spell, tooDeep } from './json-spellings.ts';

const accepts = (text: string, maxDepth?: number): boolean =>
  isCanonicalJsonBytes(utf8.encode(text), maxDepth);
const acceptsBytes = (bytes: number[]): boolean => isCanonicalJsonBytes(new Uint8Array(bytes));

/**
 * Each case is valid JSON; `isOwnCanonicalForm` says whether the reference serializer writes it
 * back unchanged, `accepted` the recognizer's expected verdict.
 */
function expectVerdicts(texts: string[], isOwnCanonicalForm: boolean, accepted: boolean): void {
  for (const text of texts) {
    expect(reserialized(text) === text, text).toBe(isOwnCanonicalForm);
    expect(accepts(text), text).toBe(accepted);
  }
}
/**
 * The canonical form of what `text` denotes: read exactly (integers keep their digits), or with
 * JSON.parse for texts the exact reader refuses (duplicates, -0: never canonical anyway).
 */
function reserialized(text: string): string {
  try {
    return canonicalJson(parseJsonExact(text));
  } catch (err) {
    if (!(err instanceof JsonTextError)) throw err;
    return canonicalJson(JSON.parse(text));
  }
}
const expectCanonical = (texts: string[]): void => expectVerdicts(texts, true, true);
const expectNotCanonical = (texts: string[]): void => expectVerdicts(texts, false, false);
/** Canonical, but in a form the recognizer declines (the caller serializes instead). */
const expectDeclined = (texts: string[]): void => expectVerdicts(texts, true, false);

/** Each case is not JSON at all. */
function expectNotJson(texts: string[]): void {
  for (const text of texts) {
    expect(() => JSON.parse(text), text).toThrow(SyntaxError);
    expect(accepts(text), text).toBe(false);
  }
}

describe('isCanonicalJsonBytes: hand cases', () => {
  it('no insignificant whitespace anywhere', () => {
    expectCanonical(['{"a":[1,"x y"],"b":{}}', '" "']);
    expectNotCanonical([
      ' {"a":1}',
      '{"a":1} ',
      '{"a":1}\n',
      '{"a":1}\r',
      '{ "a":1}',
      '{"a" :1}',
      '{"a": 1}',
      '{"a":1 }',
      '{"a":1, "b":2}',
      '[ 1]',
      '[1 ,2]',
      '[1,\t2]',
      '[1,2\n]',
      '{}\t',
    ]);
  });

  it('strings: raw characters below U+0020 are not allowed, DEL and the rest are', () => {
    expectCanonical(['"a\\tb"', '"\\u0000"', '"\u007f"', '"~"']);
    expect(accepts('"a\tb"')).toBe(false);
    expect(accepts('"a\nb"')).toBe(false);
    expect(accepts('"\u0000"')).toBe(false);
    expect(accepts('"\u001f"')).toBe(false);
  });

  it('strings: the short escapes JSON.stringify writes are canonical', () => {
    expectCanonical(['"\\""', '"\\\\"', '"\\b"', '"\\f"', '"\\n"', '"\\r"', '"\\t"']);
  });

  it('strings: \\u00xx only for the other control characters, lowercase hex', () => {
    expectCanonical(['"\\u0000"', '"\\u0001"', '"\\u000b"', '"\\u000e"', '"\\u001a"', '"\\u001f"']);
    expectNotCanonical([
      '"\\u001F"', // uppercase hex
      '"\\u000B"',
      '"\\u0008"', // has a short escape
      '"\\u0009"',
      '"\\u000a"',
      '"\\u000c"',
      '"\\u000d"',
      '"\\u0022"', // quote: \"
      '"\\u005c"', // backslash: \\
      '"\\u0020"', // not a control character
      '"\\u0041"',
      '"\\u007f"',
      '"\\u00e9"',
      '"\\u2028"',
      '"\\ud83d\\ude00"', // an escaped astral character
      '"\\/"',
    ]);
    // A lone surrogate escape parses, but has no canonical form at all.
    expect(accepts('"\\ud800"')).toBe(false);
    expect(() => canonicalJson(JSON.parse('"\\ud800"'))).toThrow(CanonicalJsonError);
    expectNotJson(['"\\x41"', '"\\\'"', '"\\u00"', '"\\u00g0"', '"\\', '"\\u']);
  });

  it('strings: other characters are written as UTF-8, not escaped', () => {
    expectCanonical(['"é€😀"', '"\u2028\u2029"', '"\uffff"', '"/"', '"\u{10ffff}"']);
  });

  it('strings: bytes must be strict UTF-8', () => {
    const q = 0x22;
    expect(acceptsBytes([q, 0xc3, 0xa9, q])).toBe(true); // é
    expect(acceptsBytes([q, 0xf0, 0x9f, 0x98, 0x80, q])).toBe(true); // U+1F600
    expect(acceptsBytes([q, 0xf4, 0x8f, 0xbf, 0xbf, q])).toBe(true); // U+10FFFF
    expect(acceptsBytes([q, 0xed, 0x9f, 0xbf, q])).toBe(true); // U+D7FF
    expect(acceptsBytes([q, 0xee, 0x80, 0x80, q])).toBe(true); // U+E000
    for (const bad of [
      [0x80], // lone continuation byte
      [0xc3, 0x28], // bad continuation
      [0xc0, 0x80], // overlong U+0000
      [0xc1, 0xbf], // overlong U+007F
      [0xe0, 0x9f, 0xbf], // overlong U+07FF
      [0xf0, 0x8f, 0xbf, 0xbf], // overlong U+FFFF
      [0xed, 0xa0, 0x80], // encoded surrogate U+D800
      [0xed, 0xbf, 0xbf], // encoded surrogate U+DFFF
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0xe2, 0x82], // truncated before the quote
      [0xf0, 0x9f, 0x98],
    ]) {
      expect(acceptsBytes([q, ...bad, q]), bad.join(' ')).toBe(false);
      expect(() => utf8.decode(new Uint8Array(bad))).toThrow(TypeError);
    }
    expect(acceptsBytes([q, 0xe2, 0x82])).toBe(false); // truncated at the end of the input
    expect(acceptsBytes([0xef, 0xbb, 0xbf, q, q])).toBe(false); // byte order mark
  });

  it('member names strictly increase (UTF-16 order), which also rules out duplicates', () => {
    expectCanonical([
      '{"a":1,"b":2}',
      '{"a":1,"ab":2}',
      '{"":0,"a":1}',
      '{"B":1,"a":2}', // uppercase sorts first
      '{"10":1,"9":2}', // string order, not the integer order of Object.keys
      '{"a":{"b":1,"c":2},"b":[{"x":1,"y":2}]}',
      '{"a b":1,"a~":2,"a\u007f":3}',
    ]);
    expectNotCanonical([
      '{"b":2,"a":1}',
      '{"ab":2,"a":1}',
      '{"a":1,"":0}',
      '{"a":2,"B":1}',
      '{"9":2,"10":1}',
      '{"a":{"c":2,"b":1}}', // nested
      '{"a":[{"y":2,"x":1}]}', // inside an array
      '{"a":1,"a":1}', // duplicate, same value
      '{"a":1,"a":2}', // duplicate, JSON.parse keeps the last
      '{"a":1,"b":2,"a":3}',
    ]);
  });

  it('member names with escapes or non-ASCII characters are declined', () => {
    expectDeclined(['{"é":1}', '{"a\\nb":1}', '{"\\"":1}', '{"a":1,"€":2}', '{"😀":1}']);
    // Declining matters: UTF-8 byte order and UTF-16 order differ above the BMP.
    expect(canonicalJson(JSON.parse('{"😀":1,"\uff61":2}'))).toBe('{"😀":1,"\uff61":2}');
  });

  it('numbers are spelled as Number::toString spells them', () => {
    expectCanonical([
      '[0,-1,7,123456789012345,-123456789012345]',
      '[9007199254740991,1234567890123456800,100000000000000000000]',
      '[1e+21,-1e+21,1.5,-0.001,0.000001,1e-7,1.5e-7]',
      '[5e-324,1.7976931348623157e+308,0.1,333333333.3333333]',
      // Integers are kept digit for digit at any length (jcs.ts), not rounded to doubles.
      '[1234567890123456789,9007199254740993,-100000000000000000000000]',
    ]);
    expectNotCanonical([
      '-0', // JCS writes 0
      '-0.0',
      '-0e0',
      '0.0',
      '1.0',
      '1.50',
      '0.10',
      '1e21', // "1e+21"
      '1E+21',
      '1e+021',
      '1.5e0',
      '0e0',
      '10e1',
      '1e2',
      '1e-6', // "0.000001"
      '0.0000001', // "1e-7"
      '0.1000000000000000000000000000000001',
      '[1,-0]',
      '{"a":1.0}',
    ]);
    // Out of range: Infinity once parsed, which has no canonical form.
    for (const text of ['1e400', '-1e400', '[1e309]']) {
      expect(() => canonicalJson(JSON.parse(text))).toThrow(CanonicalJsonError);
      expect(accepts(text), text).toBe(false);
    }
    expectNotJson(['01', '-01', '00', '.5', '1.', '+1', '1e', '1e+', '-', '1.e1', '--1', '0x10']);
    expectNotJson(['NaN', 'Infinity', '-Infinity']);
  });

  it('literals true, false and null, spelled exactly', () => {
    expectCanonical(['true', 'false', 'null', '[true,false,null]']);
    expectNotJson(['True', 'nul', 'nulll', 'fals', 'truefalse', 't', 'undefined']);
  });

  it('nesting: a container at depth maxDepth or more is declined, as canonicalJson rejects it', () => {
    const cases: [string, number][] = [
      ['1', 0],
      ['[]', 1],
      ['{}', 1],
      ['[[1]]', 2],
      ['{"a":{}}', 2],
      ['{"a":[{"b":[]}]}', 4],
      ['[1,[2,[3]],{"a":{"b":{}}}]', 4],
    ];
    for (const [text, depth] of cases) {
      // `depth` is the fewest levels the value needs, by the reference serializer's count.
      expect(() => canonicalJson(JSON.parse(text), depth)).not.toThrow();
      expect(accepts(text, depth), `${text} at ${depth}`).toBe(true);
      expect(accepts(text, depth + 3), `${text} at ${depth + 3}`).toBe(true);
      if (depth > 0) {
        expect(() => canonicalJson(JSON.parse(text), depth - 1)).toThrow(/nesting deeper/);
        expect(accepts(text, depth - 1), `${text} at ${depth - 1}`).toBe(false);
      }
    }
    expect(accepts('[]')).toBe(true); // default limit
  });

  it('nothing may follow the value, and the structure must be JSON', () => {
    expectNotJson(['{}{}', '{}x', '[]]', '"a"b', '1 2', 'true1', '1"a"', '{"a":1}}']);
    expectNotJson(['', '[', '{', '[1,]', '[,1]', '{"a":1,}', '{,}', '{"a"}', '{"a":}']);
    expectNotJson(['{"a":1', '"abc', '{a:1}', "{'a':1}", '[1:2]', '{"a",1}', '[1;2]']);
  });
});

// ---- properties ----------------------------------------------------------------------------

describe('isCanonicalJsonBytes: properties', () => {
  it('accepts the canonical bytes of any JSON value with plain member names (fast-check)', () => {
    fc.assert(
      fc.property(fc.oneof(plainValue, anyValue, fc.jsonValue()), (v) => {
        const bytes = utf8.encode(canonicalJson(v));
        expect(isCanonicalJsonBytes(bytes)).toBe(hasOnlyPlainNames(v));
      }),
      { numRuns: 400 },
    );
  });

  it('counts nesting as canonicalJson does (fast-check)', () => {
    fc.assert(
      fc.property(plainValue, fc.integer({ min: 0, max: 5 }), (v, maxDepth) => {
        const bytes = utf8.encode(canonicalJson(v));
        expect(isCanonicalJsonBytes(bytes, maxDepth)).toBe(!tooDeep(v, maxDepth));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a text exactly when it is the canonical form (fast-check)', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(plainValue, fc.gen(), (v, g) => {
        const spelled = spell(v, g);
        const bytes = utf8.encode(spelled);
        const canonical = canonicalJson(JSON.parse(spelled));
        const verdict = isCanonicalJsonBytes(bytes);
        expect(verdict).toBe(canonical === spelled);
        if (verdict) accepted++;
        else rejected++;
      }),
      { numRuns: 600 },
    );
    // Both outcomes are exercised, or the property proves nothing.
    expect(accepted).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(50);
  });

  it('anything accepted is the canonical form of what it parses to (fast-check)', () => {
    const soundness = (bytes: Uint8Array): void => {
      if (!isCanonicalJsonBytes(bytes)) return;
      const parsed: unknown = parseJsonExact(utf8.decode(bytes));
      expect(Buffer.from(canonicalJson(parsed)).equals(bytes)).toBe(true);
    };
    // Texts with any member names, written with deviations.
    fc.assert(
      fc.property(anyValue, fc.gen(), (v, g) => soundness(utf8.encode(spell(v, g)))),
      { numRuns: 300 },
    );
    // Canonical bytes with one byte replaced, inserted or removed (invalid UTF-8 included).
    fc.assert(
      fc.property(
        anyValue,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'remove'),
        (v, at, byte, edit) => {
          const good = utf8.encode(canonicalJson(v));
          const i = at % (good.length + 1);
          const bytes = editByte(good, i, byte, edit);
          soundness(bytes);
        },
      ),
      { numRuns: 600 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), soundness), { numRuns: 500 });
  });
});
