// Recognizes RFC 8785 canonical JSON at the byte level, so that ingest can keep input that is
// already canonical (as canonical producers write it) instead of serializing it again: for such
// bytes b, canonical(parse(b)) is b itself.
//
// The recognizer is conservative: `true` means the bytes are exactly the canonical form of the
// value they denote; `false` means they are not, or that they are in a form it does not handle
// (member names with escapes or non-ASCII characters, numbers whose spelling it would have to
// reproduce beyond `String(Number(literal))`). Callers fall back to serializing on `false`.
import { DEFAULT_MAX_DEPTH } from './jcs.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const PLUS = 0x2b;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Longest number literal worth converting; ECMAScript Number::toString never exceeds 25. */
const MAX_NUMBER_LENGTH = 32;

/**
 * True only if `bytes` is exactly the RFC 8785 canonical serialization (UTF-8) of the JSON value
 * it denotes, with objects and arrays nested at most `maxDepth` deep: the outermost value is at
 * depth 0 and a container at depth `maxDepth` or more is declined, as `canonicalJson(value,
 * maxDepth)` rejects it. Strict UTF-8 is checked here too (only inside strings, the one place
 * non-ASCII bytes may appear). Recursion is bounded by `maxDepth`.
 */
export function isCanonicalJsonBytes(
  bytes: Uint8Array,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): boolean {
  return scanValue(bytes, 0, 0, maxDepth) === bytes.length;
}

// Each scanner takes the index where its token starts and returns the index just after it, or
// -1 when the bytes there are not canonical JSON. The schema-aware decision recognizer
// (decision-bytes.ts) builds on the exported ones.

/** One canonical value starting at i, nested `depth` deep (containers need depth < maxDepth). */
export function scanValue(b: Uint8Array, i: number, depth: number, maxDepth: number): number {
  const c = b[i];
  if (c === QUOTE) return scanString(b, i + 1);
  if (c === OPEN_OBJECT) return depth >= maxDepth ? -1 : scanObject(b, i + 1, depth, maxDepth);
  if (c === OPEN_ARRAY) return depth >= maxDepth ? -1 : scanArray(b, i + 1, depth, maxDepth);
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return scanNumber(b, i);
  if (c === 0x74) return scanLiteral(b, i, TRUE);
  if (c === 0x66) return scanLiteral(b, i, FALSE);
  if (c === 0x6e) return scanLiteral(b, i, NULL);
  return -1;
}

function scanObject(b: Uint8Array, i: number, depth: number, maxDepth: number): number {
  if (b[i] === CLOSE_OBJECT) return i + 1;
  let prevStart = -1;
  let prevEnd = -1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const start = i + 1;
    const end = scanPlainKey(b, start);
    // Strictly increasing names: canonical order, and no duplicates (JSON.parse keeps the last).
    if (end < 0 || (prevStart >= 0 && !isAfter(b, prevStart, prevEnd, start, end))) return -1;
    if (b[end + 1] !== COLON) return -1;
    i = scanValue(b, end + 2, depth + 1, maxDepth);
    if (i < 0) return -1;
    prevStart = start;
    prevEnd = end;
    const c = b[i];
    if (c === CLOSE_OBJECT) return i + 1;
    if (c !== COMMA) return -1;
    i++;
  }
}

function scanArray(b: Uint8Array, i: number, depth: number, maxDepth: number): number {
  if (b[i] === CLOSE_ARRAY) return i + 1;
  for (;;) {
    i = scanValue(b, i, depth + 1, maxDepth);
    if (i < 0) return -1;
    const c = b[i];
    if (c === CLOSE_ARRAY) return i + 1;
    if (c !== COMMA) return -1;
    i++;
  }
}

/**
 * Member name of printable ASCII without escapes: its bytes are its UTF-16 code units, so byte
 * order is the RFC 8785 order. Returns the index of the closing quote. Other names are declined.
 */
export function scanPlainKey(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === QUOTE) return i;
    if (c === undefined || c < 0x20 || c === BACKSLASH || c >= 0x80) return -1;
    i++;
  }
}

/** True when name [s2, e2) sorts strictly after name [s1, e1) (bytes compared unsigned). */
export function isAfter(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  const n = Math.min(e1 - s1, e2 - s2);
  for (let k = 0; k < n; k++) {
    const x = b[s1 + k] as number;
    const y = b[s2 + k] as number;
    if (x !== y) return y > x;
  }
  return e2 - s2 > e1 - s1;
}

/**
 * String body from index i (after the opening quote) to just after the closing quote. Escapes
 * only where JSON.stringify (RFC 8785 §3.2.2.2) writes them; everything else is literal UTF-8.
 */
export function scanString(b: Uint8Array, i: number): number {
  const n = b.length;
  while (i < n) {
    const c = b[i] as number;
    // One table lookup for the common case, a byte that stands for itself.
    if (PLAIN_IN_STRING[c] === 1) {
      i++;
    } else if (c === QUOTE) {
      return i + 1;
    } else if (c === BACKSLASH) {
      i = scanEscape(b, i + 1);
      if (i < 0) return -1;
    } else if (c >= 0x80) {
      i = scanUtf8(b, i, c);
      if (i < 0) return -1;
    } else {
      return -1; // a raw control character
    }
  }
  return -1;
}

/** 1 for the ASCII bytes a canonical string holds literally: not control, quote or backslash. */
const PLAIN_IN_STRING = Uint8Array.from({ length: 256 }, (_, c) =>
  c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH ? 1 : 0,
);

function scanEscape(b: Uint8Array, i: number): number {
  switch (b[i]) {
    case QUOTE:
    case BACKSLASH:
    case 0x62: // b
    case 0x66: // f
    case 0x6e: // n
    case 0x72: // r
    case 0x74: // t
      return i + 1;
    case 0x75: {
      // \u00xx, lowercase hex, only for control characters that have no short escape.
      if (b[i + 1] !== ZERO || b[i + 2] !== ZERO) return -1;
      const hi = b[i + 3];
      const lo = lowerHexDigit(b[i + 4]);
      if ((hi !== ZERO && hi !== 0x31) || lo < 0) return -1;
      const code = (hi === ZERO ? 0 : 16) + lo;
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) {
        return -1;
      }
      return i + 5;
    }
    default:
      return -1;
  }
}

function lowerHexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= ZERO && c <= NINE) return c - ZERO;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * One well-formed UTF-8 sequence starting with lead byte `c` at i (Unicode Table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF). Returns the index after it.
 */
export function scanUtf8(b: Uint8Array, i: number, c: number): number {
  let lo = 0x80;
  let hi = 0xbf;
  let tail: number;
  if (c >= 0xc2 && c <= 0xdf) tail = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    tail = 2;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    tail = 3;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return -1;
  // Only the first continuation byte has a narrowed range.
  const first = b[i + 1];
  if (first === undefined || first < lo || first > hi) return -1;
  for (let k = 2; k <= tail; k++) {
    const x = b[i + k];
    if (x === undefined || x < 0x80 || x > 0xbf) return -1;
  }
  return i + 1 + tail;
}

/**
 * A number literal in canonical form (jcs.ts): an integer literal is canonical as written (its
 * digits are kept exactly, at any length; only `-0` is not, as it has no canonical form), any
 * other literal when it is spelled as ECMAScript Number::toString spells its value (RFC 8785
 * §3.2.2.3).
 */
function scanNumber(b: Uint8Array, start: number): number {
  const intEnd = integerPartEnd(b, start);
  const i = intEnd < 0 ? -1 : numberLiteralEnd(b, intEnd);
  if (i < 0) return -1;
  // An integer literal; negative zero has no canonical form.
  if (i === intEnd) return b[start] === MINUS && b[start + 1] === ZERO ? -1 : i;
  if (i - start > MAX_NUMBER_LENGTH) return -1;
  let literal = '';
  for (let k = start; k < i; k++) literal += String.fromCharCode(b[k] as number);
  // Finite, and spelled exactly as Number::toString (which writes -0 as "0").
  return String(Number(literal)) === literal ? i : -1;
}

/**
 * The index after the integer part (`-`? then `0` or digits without a leading zero) of the JSON
 * number literal at `start`, or -1 when there is none.
 */
export function integerPartEnd(b: Uint8Array, start: number): number {
  let i = start;
  if (b[i] === MINUS) i++;
  const first = b[i];
  if (first === ZERO) return i + 1;
  if (first !== undefined && first > ZERO && first <= NINE) return skipDigits(b, i + 1);
  return -1;
}

/**
 * The index after the fraction and exponent (each optional) that follow a number literal's
 * integer part ending at i, or -1 when they are malformed. Equal to i for an integer literal.
 */
export function numberLiteralEnd(b: Uint8Array, i: number): number {
  if (b[i] === DOT) {
    const after = skipDigits(b, i + 1);
    if (after === i + 1) return -1;
    i = after;
  }
  if (b[i] === LOWER_E || b[i] === UPPER_E) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    const after = skipDigits(b, i);
    if (after === i) return -1;
    i = after;
  }
  return i;
}

function skipDigits(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === undefined || c < ZERO || c > NINE) return i;
    i++;
  }
}

function scanLiteral(b: Uint8Array, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}
