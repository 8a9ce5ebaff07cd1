// Canonicalization straight from bytes against the full path (strict UTF-8 decode, the exact
// reader, the canonical text it builds, and the serializer): whatever it returns is byte for
// byte what the full path stores (soundness, on generated spellings, damaged bytes and random
// bytes); it returns something for every valid text with plain member names (completeness); and
// it returns nothing wherever the full path refuses the text.
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { canonicalJson } from '../../../src/core/jcs.ts';
import {
  canonicalCopyFromJsonBytes,
  canonicalFromJsonBytes,
} from '../../../src/core/jcs-from-bytes.ts';
import {
  DEFAULT_MAX_PARSE_DEPTH,
  JsonTextError,
  parseJsonExact,
  parseJsonWithCanonical,
} from '../../../src/core/json-exact.ts';
import { sdkLine } from '../../fixtures/records.ts';
import { editByte } from './byte-edit.ts';
import { anyValue, hasOnlyPlainNames, plainValue, spell, tooDeep } from './json-spellings.ts';

/** What the full path stores for `bytes` (`undefined`: it refuses them). */
function reference(bytes: Uint8Array, maxDepth = DEFAULT_MAX_PARSE_DEPTH): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined; // not strict UTF-8
  }
  let parsed: { value: unknown; canonical: string | undefined };
  try {
    parsed = parseJsonWithCanonical(text, maxDepth);
  } catch (err) {
    if (err instanceof JsonTextError) return undefined;
    throw err;
  }
  if (parsed.canonical === undefined) return undefined; // a lone surrogate
  // The serializer, independently of the text built while parsing: the same bytes.
  expect(canonicalJson(parsed.value, maxDepth)).toBe(parsed.canonical);
  return parsed.canonical;
}

const show = (bytes: Uint8Array): string => JSON.stringify(Buffer.from(bytes).toString('latin1'));

/** Checks soundness on `bytes`; true when it canonicalized them. */
function sound(bytes: Uint8Array, maxDepth = DEFAULT_MAX_PARSE_DEPTH): boolean {
  const fast = canonicalFromJsonBytes(bytes, maxDepth);
  const full = reference(bytes, maxDepth);
  if (fast === undefined) return false;
  if (full === undefined) expect.fail(`canonicalized what the full path refuses: ${show(bytes)}`);
  expect(utf8.decode(fast), show(bytes)).toBe(full);
  // Buffers (ingest's views into request bodies) alike.
  expect(canonicalCopyFromJsonBytes(Buffer.from(bytes), maxDepth)).toEqual(
    new Uint8Array(Buffer.from(full)),
  );
  return true;
}

const canon = (text: string, maxDepth?: number): string | undefined => {
  const out = canonicalFromJsonBytes(utf8.encode(text), maxDepth);
  return out === undefined ? undefined : utf8.decode(out);
};

describe('canonicalFromJsonBytes: hand cases', () => {
  it('drops whitespace and sorts members at every level, keeping arrays in order', () => {
    expect(canon(' { "b" : [ 3 , { "z": 1, "a": 2 } ], "a": {"y": null, "x": true} } \n')).toBe(
      '{"a":{"x":true,"y":null},"b":[3,{"a":2,"z":1}]}',
    );
    expect(canon('{"aa":1,"a":2,"ab":3,"a~":4,"A":5}')).toBe('{"A":5,"a":2,"aa":1,"ab":3,"a~":4}');
    // Names alike in their first four bytes are told apart by the rest, then by length.
    expect(canon('{"merkle_position":1,"merkle_hash":2,"merkle":3,"merklf":4}')).toBe(
      '{"merkle":3,"merkle_hash":2,"merkle_position":1,"merklf":4}',
    );
    expect(canon('{"merkle_hash":1,"merkle":3,"merkle_hash":2}')).toBeUndefined();
    expect(canon('{ }')).toBe('{}');
    expect(canon('[ ]')).toBe('[]');
  });

  it('integers keep every digit, beyond 2^53 too; other numbers as Number::toString', () => {
    expect(canon('{"t": 1796569260694147634, "n": -123456789012345678901234567890}')).toBe(
      '{"n":-123456789012345678901234567890,"t":1796569260694147634}',
    );
    expect(canon('[1.50, 1E2, 1e-7, 0.0, 2.5e+3, -0.5, 100e-2]')).toBe(
      '[1.5,100,1e-7,0,2500,-0.5,1]',
    );
  });

  it('declines what the exact reader refuses: -0, inexact and out-of-range numbers', () => {
    for (const t of [
      '-0',
      '[-0.0]',
      '1e-400',
      '1e400',
      '0.1000000000000000000001',
      '01',
      '1.',
      '.5',
    ]) {
      expect(canon(t), t).toBeUndefined();
    }
  });

  it('strings: escapes rewritten as JSON.stringify writes them, other characters as UTF-8', () => {
    expect(canon('"\\u00e9\\u20AC\\ud83d\\ude00\\/\\u0022\\u005c"')).toBe('"é€😀/\\"\\\\"');
    expect(canon('"\\u0008\\u0009\\u000a\\u000C\\u000d\\u0000\\u001F\\u007f"')).toBe(
      '"\\b\\t\\n\\f\\r\\u0000\\u001f\u007f"',
    );
    expect(canon('"é\u2028 \\u2028"')).toBe('"é\u2028 \u2028"');
  });

  it('declines lone surrogates, raw control characters and invalid UTF-8', () => {
    for (const t of [
      '"\\ud83d"',
      '"\\ude00"',
      '"\\ud83d\\u0041"',
      '"\\ud83dx"',
      '"a\tb"',
      '"\\x"',
    ]) {
      expect(canon(t), t).toBeUndefined();
    }
    for (const bytes of [
      [0x22, 0xc3, 0x22], // truncated sequence
      [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate
      [0x22, 0xc0, 0xaf, 0x22], // overlong
      [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
      [0xef, 0xbb, 0xbf, 0x31], // a byte order mark
    ]) {
      expect(canonicalFromJsonBytes(new Uint8Array(bytes))).toBeUndefined();
    }
  });

  it('declines duplicate names (sorted or not), escaped or non-ASCII names, text after the value', () => {
    for (const t of [
      '{"a":1,"a":2}',
      '{"b":1,"a":2,"b":3}',
      '{"a\\u0062":1}',
      '{"é":1}',
      '{"a":1} x',
      '{"a":1}}',
      '[1,]',
      '{"a":1,}',
      '',
      ' ',
    ]) {
      expect(canon(t), t).toBeUndefined();
    }
  });

  it('nesting: a container at depth maxDepth or more is declined, as the exact reader refuses it', () => {
    expect(canon('[[[]]]', 3)).toBe('[[[]]]');
    expect(canon('[[[]]]', 2)).toBeUndefined();
    expect(canon('{"a":{"b":{}}}', 2)).toBeUndefined();
    expect(canon('1', 0)).toBe('1');
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(canon(deep)).toBeUndefined();
  });

  it('the result is a view the next call reuses; the copy is the caller’s', () => {
    const first = canonicalFromJsonBytes(utf8.encode('{"b":1,"a":2}')) as Uint8Array;
    const copy = canonicalCopyFromJsonBytes(utf8.encode('{"b":1,"a":2}')) as Uint8Array;
    canonicalFromJsonBytes(utf8.encode('[9,9,9,9,9,9]'));
    expect(utf8.decode(copy)).toBe('{"a":2,"b":1}');
    expect(utf8.decode(first)).not.toBe('{"a":2,"b":1}');
  });

  it('grows its output for numbers written longer than they were sent', () => {
    const text = `[${Array.from({ length: 5000 }, () => '1e20').join(',')}]`;
    expect(canon(text)).toBe(
      `[${Array.from({ length: 5000 }, () => '100000000000000000000').join(',')}]`,
    );
    const big = `{"z":[${'1e20,'.repeat(3000)}1],"a":"${'x'.repeat(10_000)}"}`;
    expect(sound(utf8.encode(big))).toBe(true);
  });
});

/** The upstream fixtures: file name, text as stored, value. */
const fixtureDir = new URL('../../fixtures/upstream/', import.meta.url);
const fixtures: [string, string, Record<string, unknown>][] = ['sdk', 'spec'].flatMap((dir) =>
  readdirSync(new URL(dir, fixtureDir))
    .filter((f) => f.endsWith('.json'))
    .map((f): [string, string, Record<string, unknown>] => {
      const text = readFileSync(new URL(`${dir}/${f}`, fixtureDir), 'utf8');
      return [`${dir}/${f}`, text, parseJsonExact(text) as Record<string, unknown>];
    }),
);

describe('canonicalFromJsonBytes: upstream records as producers send them', () => {
  it.each(fixtures)('%s: as stored, as json.dumps writes it, and canonical', (_f, text, value) => {
    const canonical = canonicalJson(value);
    for (const form of [text, sdkLine(value), canonical]) {
      const bytes = utf8.encode(form);
      expect(sound(bytes)).toBe(true);
      // Every integer digit kept.
      expect(utf8.decode(canonicalFromJsonBytes(bytes) as Uint8Array)).toBe(canonical);
    }
  });
});

describe('canonicalFromJsonBytes: properties', () => {
  it('same bytes as the full path for any spelling of a value with plain names (fast-check)', () => {
    let canonicalized = 0;
    let refused = 0;
    fc.assert(
      fc.property(plainValue, fc.gen(), (v, g) => {
        const bytes = utf8.encode(spell(v, g));
        const done = sound(bytes);
        // Complete: it declines only what the full path refuses (duplicates in the spelling).
        expect(done, show(bytes)).toBe(reference(bytes) !== undefined);
        if (done) canonicalized++;
        else refused++;
      }),
      { numRuns: 1000 },
    );
    expect(canonicalized).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(10);
  });

  it('never differs from the full path on any names, depth limits or damaged bytes (fast-check)', () => {
    fc.assert(
      fc.property(anyValue, fc.gen(), (v, g) => {
        const bytes = utf8.encode(spell(v, g));
        sound(bytes);
        if (hasOnlyPlainNames(v))
          expect(canonicalFromJsonBytes(utf8.encode(canonicalJson(v)))).toBeDefined();
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(plainValue, fc.integer({ min: 0, max: 5 }), (v, maxDepth) => {
        const done = sound(utf8.encode(canonicalJson(v)), maxDepth);
        expect(done).toBe(!tooDeep(v, maxDepth));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        anyValue,
        fc.gen(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'remove'),
        (v, g, at, byte, edit) => {
          const good = utf8.encode(spell(v, g));
          sound(editByte(good, at % (good.length + 1), byte, edit as 'replace'));
        },
      ),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (b) => void sound(b)),
      {
        numRuns: 1000,
      },
    );
  });

  it('damaged upstream records as json.dumps writes them (fast-check)', () => {
    const lines = fixtures.map(([, , value]) => utf8.encode(sdkLine(value)));
    fc.assert(
      fc.property(
        fc.nat(lines.length - 1),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'remove'),
        (k, at, byte, edit) => {
          const good = lines[k] as Uint8Array;
          sound(editByte(good, at % (good.length + 1), byte, edit as 'replace'));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
