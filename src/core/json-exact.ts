// The JSON reader for records: RFC 8259 text to values, refusing what JSON.parse would silently
// change, so that what is stored, hashed and proved is exactly what the producer wrote.
//
// - Integers keep every digit: an integer literal (no fraction, no exponent) outside the safe
//   range (|n| > 2^53 - 1) becomes a `bigint`; inside it, a `number`. A 19-digit timestamp_ns
//   such as 1796569260694147634 is not rounded to ...600.
// - A member name that occurs twice in one object is refused (JSON.parse keeps the last one).
// - A leading byte order mark is refused (RFC 8259 §8.1: it MUST NOT be added; JSON.parse fails
//   on it and TextDecoder silently drops it).
// - A number whose canonical form (RFC 8785, `String(Number(literal))`) denotes another value is
//   refused: `1e-400` (would become 0), `1e400` (not finite), `-0` and `-0.0` (the sign would be
//   lost), `0.1000000000000000000001` (would become 0.1). `1.50` and `1E2` are kept: their
//   canonical forms `1.5` and `100` are the same values.
//
// Recursion is bounded by `maxDepth` (containers nested deeper are refused as `too_deep`), so
// no input can exhaust the stack. Errors carry the JSON path of the offending value.
import { FieldError } from './errors.ts';
import { memberPath } from './jcs.ts';

export type JsonTextErrorCode =
  'malformed_json' | 'duplicate_member' | 'bom' | 'inexact_number' | 'too_deep';

/** Text that is not JSON this reader keeps exactly; `path` is a JSON path such as `$.a[2]`. */
export class JsonTextError extends FieldError<JsonTextErrorCode> {
  override name = 'JsonTextError';
  /** The message without the path. */
  readonly detail: string;
  constructor(code: JsonTextErrorCode, path: string, detail: string) {
    super(code, path, detail);
    this.detail = detail;
  }
}

/** Containers nested deeper than this are refused unless the caller says otherwise. */
export const DEFAULT_MAX_PARSE_DEPTH = 256;

/**
 * Parses `text` as one JSON value (whitespace around it allowed). Objects are plain objects
 * whose own members are in document order; integers outside the safe range are bigints. The
 * outermost value is at depth 0: a container at depth `maxDepth` or more is refused.
 */
export function parseJsonExact(text: string, maxDepth: number = DEFAULT_MAX_PARSE_DEPTH): unknown {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new JsonTextError(
      'bom',
      '$',
      'input starts with a byte order mark (U+FEFF); send JSON without it',
    );
  }
  const p = new Reader(text, maxDepth, false);
  try {
    const value = p.value(0);
    p.skipSpace();
    if (p.i < text.length) p.fail('malformed_json', 'unexpected text after the JSON value');
    return value;
  } catch (err) {
    if (err instanceof Failure) throw err.toError();
    throw err;
  }
}

/**
 * `parseJsonExact`, and in the same pass the canonical JSON text of the value (jcs.ts), built
 * bottom-up from the source: a string without escapes is its own canonical literal, an integer
 * literal its own digits. `canonical` is undefined when the value has no canonical form (a lone
 * surrogate): the caller serializes it and reports that there.
 */
export function parseJsonWithCanonical(
  text: string,
  maxDepth: number = DEFAULT_MAX_PARSE_DEPTH,
): { value: unknown; canonical: string | undefined } {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new JsonTextError(
      'bom',
      '$',
      'input starts with a byte order mark (U+FEFF); send JSON without it',
    );
  }
  const p = new Reader(text, maxDepth, true);
  try {
    const value = p.value(0);
    p.skipSpace();
    if (p.i < text.length) p.fail('malformed_json', 'unexpected text after the JSON value');
    return { value, canonical: p.noCanonicalForm ? undefined : p.text$ };
  } catch (err) {
    if (err instanceof Failure) throw err.toError();
    throw err;
  }
}

// Internal failure: path segments are collected while unwinding, so success builds no paths.
class Failure {
  readonly code: JsonTextErrorCode;
  readonly message: string;
  readonly segments: (string | number)[] = [];
  constructor(code: JsonTextErrorCode, message: string) {
    this.code = code;
    this.message = message;
  }
  toError(): JsonTextError {
    let path = '$';
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i] as string | number;
      path = typeof s === 'number' ? `${path}[${s}]` : memberPath(path, s);
    }
    return new JsonTextError(this.code, path, this.message);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Largest magnitude with at most 15 digits: every such integer is a safe integer. */
const SAFE_DIGITS = 15;

class Reader {
  readonly text: string;
  readonly maxDepth: number;
  /** Whether to build canonical text: each value leaves its own in `text$`. */
  readonly withText: boolean;
  text$ = '';
  /** A string held a lone surrogate: the value has no canonical form. */
  noCanonicalForm = false;
  i = 0;

  constructor(text: string, maxDepth: number, withText: boolean) {
    this.text = text;
    this.maxDepth = maxDepth;
    this.withText = withText;
  }

  fail(code: JsonTextErrorCode, message: string): never {
    throw new Failure(code, message);
  }

  malformed(what: string): never {
    const at = this.i;
    const c = this.text.charCodeAt(at);
    const found = Number.isNaN(c) ? 'the end of the input' : `${JSON.stringify(this.text[at])}`;
    this.fail('malformed_json', `expected ${what} at character ${at}, found ${found}`);
  }

  skipSpace(): void {
    const t = this.text;
    let i = this.i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): unknown {
    this.skipSpace();
    const c = this.text.charCodeAt(this.i);
    switch (c) {
      case QUOTE:
        this.i++;
        return this.string();
      case 0x7b: // {
        if (depth >= this.maxDepth) this.fail('too_deep', `nesting deeper than ${this.maxDepth}`);
        this.i++;
        return this.object(depth);
      case 0x5b: // [
        if (depth >= this.maxDepth) this.fail('too_deep', `nesting deeper than ${this.maxDepth}`);
        this.i++;
        return this.array(depth);
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
        return this.malformed('a JSON value');
    }
  }

  literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.i)) this.malformed('a JSON value');
    this.i += word.length;
    this.text$ = word;
    return value;
  }

  object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.text.charCodeAt(this.i) === 0x7d) {
      this.i++;
      this.text$ = '{}';
      return out;
    }
    // Members' canonical texts (`"name":value`) by name, sorted once the object is read.
    const members: [string, string][] | undefined = this.withText ? [] : undefined;
    for (;;) {
      this.skipSpace();
      if (this.text.charCodeAt(this.i) !== QUOTE) this.malformed('a member name');
      this.i++;
      const key = this.string();
      const keyText = this.text$;
      this.skipSpace();
      if (this.text.charCodeAt(this.i) !== 0x3a) this.malformed("':' after a member name");
      this.i++;
      let v: unknown;
      try {
        if (Object.hasOwn(out, key)) {
          this.fail('duplicate_member', 'member name occurs more than once in this object');
        }
        v = this.value(depth + 1);
      } catch (err) {
        if (err instanceof Failure) err.segments.push(key);
        throw err;
      }
      if (members !== undefined) members.push([key, `${keyText}:${this.text$}`]);
      // `__proto__` must become an own member, as JSON.parse makes it, not the prototype.
      if (key === '__proto__') {
        Object.defineProperty(out, key, {
          value: v,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        out[key] = v;
      }
      this.skipSpace();
      const c = this.text.charCodeAt(this.i++);
      if (c === 0x7d) {
        if (members !== undefined) this.text$ = objectText(members);
        return out;
      }
      if (c !== 0x2c) {
        this.i--;
        this.malformed("',' or '}' in an object");
      }
    }
  }

  array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text.charCodeAt(this.i) === 0x5d) {
      this.i++;
      this.text$ = '[]';
      return out;
    }
    let text = '[';
    for (;;) {
      try {
        out.push(this.value(depth + 1));
      } catch (err) {
        if (err instanceof Failure) err.segments.push(out.length);
        throw err;
      }
      if (this.withText) text += out.length === 1 ? this.text$ : `,${this.text$}`;
      this.skipSpace();
      const c = this.text.charCodeAt(this.i++);
      if (c === 0x5d) {
        this.text$ = `${text}]`;
        return out;
      }
      if (c !== 0x2c) {
        this.i--;
        this.malformed("',' or ']' in an array");
      }
    }
  }

  /** A string body from just after its opening quote; leaves i after the closing quote. */
  string(): string {
    const t = this.text;
    const start = this.i;
    let i = start;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        // No escapes, no control characters: the literal as written is its canonical form.
        if (this.withText) this.text$ = t.slice(start - 1, i + 1);
        return t.slice(start, i);
      }
      if (c === BACKSLASH) break;
      if (c < 0x20 || Number.isNaN(c)) {
        this.i = i;
        this.malformed(Number.isNaN(c) ? 'the end of a string' : 'an escaped control character');
      }
      i++;
    }
    // Escapes: build the rest piecewise.
    let out = t.slice(start, i);
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        if (this.withText) {
          // JSON.stringify escapes exactly as RFC 8785 requires, for well-formed strings.
          if (out.isWellFormed()) this.text$ = JSON.stringify(out);
          else this.noCanonicalForm = true;
        }
        return out;
      }
      if (c === BACKSLASH) {
        const e = t.charCodeAt(i + 1);
        i += 2;
        switch (e) {
          case QUOTE:
            out += '"';
            break;
          case BACKSLASH:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            const hex = t.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.i = i;
              this.malformed('four hex digits after \\u');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            this.i = i - 1;
            this.malformed('an escape (one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
        continue;
      }
      if (c < 0x20 || Number.isNaN(c)) {
        this.i = i;
        this.malformed(Number.isNaN(c) ? 'the end of a string' : 'an escaped control character');
      }
      const run = i;
      i++;
      for (;;) {
        const d = t.charCodeAt(i);
        if (d === QUOTE || d === BACKSLASH || d < 0x20 || Number.isNaN(d)) break;
        i++;
      }
      out += t.slice(run, i);
    }
  }

  number(): number | bigint {
    const t = this.text;
    const start = this.i;
    let i = start;
    const negative = t.charCodeAt(i) === MINUS;
    if (negative) i++;
    const digits = i;
    let c = t.charCodeAt(i);
    if (c === ZERO) i++;
    else if (c >= 0x31 && c <= NINE) {
      do c = t.charCodeAt(++i);
      while (c >= ZERO && c <= NINE);
    } else {
      this.i = i;
      this.malformed('a digit');
    }
    const intEnd = i;
    let plain = true;
    if (t.charCodeAt(i) === 0x2e) {
      i++;
      if (!isDigit(t.charCodeAt(i))) {
        this.i = i;
        this.malformed('a digit after the decimal point');
      }
      while (isDigit(t.charCodeAt(i))) i++;
      plain = false;
    }
    c = t.charCodeAt(i);
    if (c === 0x65 || c === 0x45) {
      i++;
      c = t.charCodeAt(i);
      if (c === 0x2b || c === MINUS) i++;
      if (!isDigit(t.charCodeAt(i))) {
        this.i = i;
        this.malformed('a digit in the exponent');
      }
      while (isDigit(t.charCodeAt(i))) i++;
      plain = false;
    }
    this.i = i;
    if (plain) {
      // An integer literal is written back as it is (canonical: no leading zeros, not -0).
      if (this.withText) this.text$ = t.slice(start, i);
      const n = intEnd - digits;
      if (n <= SAFE_DIGITS) {
        let v = 0;
        for (let k = digits; k < intEnd; k++) v = v * 10 + (t.charCodeAt(k) - ZERO);
        if (negative) {
          if (v === 0)
            this.fail(
              'inexact_number',
              'negative zero has no canonical form (-0 becomes 0); write 0',
            );
          return -v;
        }
        return v;
      }
      const literal = t.slice(start, i);
      const v = Number(literal);
      return Number.isSafeInteger(v) ? v : BigInt(literal);
    }
    const literal = t.slice(start, i);
    const v = Number(literal);
    if (!Number.isFinite(v)) {
      this.fail(
        'inexact_number',
        `${literal} is beyond the range of a JSON number (IEEE 754 double)`,
      );
    }
    if (v === 0 && negative) {
      this.fail(
        'inexact_number',
        `${literal} is negative zero, which has no canonical form (it becomes 0); write 0`,
      );
    }
    const canonical = String(v);
    this.text$ = canonical;
    if (!sameDecimal(literal, canonical)) {
      this.fail(
        'inexact_number',
        `${literal} would be stored as ${canonical}, another value (canonical JSON holds numbers as IEEE 754 doubles); write it as an integer or a string`,
      );
    }
    return v;
  }
}

/** `{"a":1,"b":2}` from members' `"name":value` texts, in RFC 8785 order of the names. */
function objectText(members: [string, string][]): string {
  // Default string order is UTF-16 code unit order, RFC 8785 §3.2.3; names are unique.
  let sorted = true;
  for (let k = 1; k < members.length; k++) {
    if ((members[k - 1] as [string, string])[0] > (members[k] as [string, string])[0]) {
      sorted = false;
      break;
    }
  }
  if (!sorted) members.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  let out = '{';
  for (let k = 0; k < members.length; k++) {
    out +=
      k === 0 ? (members[k] as [string, string])[1] : `,${(members[k] as [string, string])[1]}`;
  }
  return `${out}}`;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/**
 * Whether two JSON number literals denote the same decimal value (not the same double): both
 * are reduced to sign, significant digits and exponent.
 */
export function sameDecimal(a: string, b: string): boolean {
  const x = decimal(a);
  const y = decimal(b);
  if (x.digits === '' || y.digits === '') return x.digits === y.digits;
  return x.negative === y.negative && x.digits === y.digits && x.exponent === y.exponent;
}

/** value = (-1)^negative * 0.digits * 10^exponent, digits without leading or trailing zeros. */
function decimal(literal: string): { negative: boolean; digits: string; exponent: number } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (m === null) throw new RangeError(`not a JSON number: ${literal}`);
  const int = m[2] as string;
  const frac = m[3] ?? '';
  let all = int + frac;
  let exponent = int.length + (m[4] === undefined ? 0 : Number(m[4]));
  const lead = all.length - all.replace(/^0+/, '').length;
  all = all.slice(lead);
  exponent -= lead;
  all = all.replace(/0+$/, '');
  return { negative: m[1] === '-', digits: all, exponent: all === '' ? 0 : exponent };
}
