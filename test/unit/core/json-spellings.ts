// Generated JSON values and deviating spellings of them, for the properties of the canonical
// JSON recognizer (jcs-bytes.test.ts) and of canonicalization from bytes (jcs-from-bytes.test.ts).
import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError } from '../../../src/core/jcs.ts';

/** A member name the recognizer handles: printable ASCII (and DEL) without quote or backslash. */
export const isPlainName = (key: string): boolean =>
  /^[\u0020-\u007f]*$/.test(key) && !/["\\]/.test(key);

export function hasOnlyPlainNames(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(hasOnlyPlainNames);
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).every(([k, x]) => isPlainName(k) && hasOnlyPlainNames(x));
  }
  return true;
}

const specialChars = fc.constantFrom(
  '"',
  '\\',
  '/',
  '\u2028',
  '\u2029',
  '\u0000',
  '\u001f',
  '\b',
  '\f',
  '\n',
  '\r',
  '\t',
  '\u007f',
  'é',
  '€',
  '😀',
  '\uffff',
  'a',
  'Z',
  ' ',
);
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: specialChars, maxLength: 8 }),
);
const plainName = fc.string({
  unit: fc.constantFrom('a', 'b', 'B', '0', '1', '9', '_', '-', ' ', '~', '\u007f'),
  maxLength: 4,
});
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 0, 1e21, 1e-7, 1e-6, 5e-324, Number.MAX_VALUE, 2 ** 53, 2 ** 53 + 2, 0.1),
  fc.constantFrom(123456789012345, 1234567890123456, -1e15, 1e16, 0.5e-300),
);
const jsonValueWith = (name: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      number,
      text,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(name, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
export const plainValue = jsonValueWith(plainName);
export const anyValue = jsonValueWith(fc.oneof(plainName, text));

export function tooDeep(v: unknown, maxDepth: number): boolean {
  try {
    canonicalJson(v, maxDepth);
    return false;
  } catch (err) {
    if (err instanceof CanonicalJsonError && err.code === 'too_deep') return true;
    throw err;
  }
}

/**
 * `v` written as JSON with random deviations from the canonical form: whitespace, member order,
 * duplicate members, escapes, number spellings. Most nodes are written canonically.
 */
export function spell(v: unknown, g: fc.GeneratorValue): string {
  const vary = (): boolean => g(fc.nat, 9) === 0;
  const ws = (): string => (vary() ? g(fc.constantFrom, ' ', '\n', '\t', '\r\n  ') : '');
  const write = (x: unknown): string => {
    if (typeof x === 'number') return vary() ? g(fc.constantFrom, ...numberSpellings(x)) : `${x}`;
    if (typeof x === 'string') return vary() ? escapeOne(x, g) : JSON.stringify(x);
    if (Array.isArray(x)) return `[${ws()}${x.map((item) => write(item) + ws()).join(',')}]`;
    if (x !== null && typeof x === 'object') {
      const record = x as Record<string, unknown>;
      let keys = Object.keys(record).sort();
      if (vary()) keys = g(fc.shuffledSubarray, keys, { minLength: keys.length });
      if (keys.length > 0 && vary()) keys.splice(g(fc.nat, keys.length), 0, keys[0] as string);
      const members = keys.map(
        (k) => `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${write(record[k])}`,
      );
      return `{${members.join(',')}${ws()}}`;
    }
    return JSON.stringify(x);
  };
  return ws() + write(v) + ws();
}

function numberSpellings(x: number): string[] {
  const s = String(x);
  const out = [s, x.toExponential(), x.toPrecision(17), s.toUpperCase(), s.replace('e+', 'e')];
  if (x === 0) out.push('-0', '0.0', '0e0');
  if (Number.isInteger(x) && !s.includes('e')) out.push(`${s}.0`, `${s}e0`);
  return out;
}

/** JSON string literal of `s` with one character escaped in a non-canonical or canonical way. */
function escapeOne(s: string, g: fc.GeneratorValue): string {
  const chars = [...s];
  if (chars.length === 0) return '""';
  const i = g(fc.nat, chars.length - 1);
  const ch = chars[i] as string;
  const units = [...Array(ch.length).keys()].map((k) => ch.charCodeAt(k).toString(16));
  const hex = (upper: boolean): string =>
    units.map((u) => `\\u${(upper ? u.toUpperCase() : u).padStart(4, '0')}`).join('');
  const forms = [JSON.stringify(ch).slice(1, -1), hex(false), hex(true)];
  if (ch === '/') forms.push('\\/');
  const inner = chars.map((c, k) =>
    k === i ? g(fc.constantFrom, ...forms) : JSON.stringify(c).slice(1, -1),
  );
  return `"${inner.join('')}"`;
}
