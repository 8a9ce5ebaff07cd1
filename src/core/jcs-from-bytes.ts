// Canonical JSON (jcs.ts) straight from JSON bytes, in one pass and without building values:
// whitespace dropped, members sorted, escapes and numbers rewritten as RFC 8785 writes them,
// every integer literal kept digit for digit. Ingest uses it for lines that are valid JSON but
// not canonical on arrival (what `json.dumps` and most serializers write); the canonical result
// then goes through the byte-level decision recognizer (decision-bytes.ts), so such a line costs
// about what a canonical one does instead of an exact parse into objects and a serialization.
//
// It only ever produces what the exact reader and serializer produce: whenever it returns bytes,
// they are `canonical(parseJsonExact(text))` for the same input, UTF-8 encoded. Anything it does
// not handle, and everything the exact reader refuses (malformed JSON, invalid UTF-8, a byte
// order mark, duplicate member names, numbers canonical JSON would change, `-0`, lone
// surrogates, nesting at `maxDepth` or deeper), makes it return undefined; the caller then takes
// the full path, which reports the problem. Member names must be printable ASCII without escapes
// (their bytes then sort as RFC 8785's UTF-16 code units); other names are declined.
import { integerPartEnd, isAfter, numberLiteralEnd, scanUtf8 } from './jcs-bytes.ts';
import { DEFAULT_MAX_PARSE_DEPTH, sameDecimal } from './json-exact.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Longest non-integer literal converted; longer ones are declined (the full path handles them). */
const MAX_NUMBER_LENGTH = 64;

/** 1 for the ASCII bytes a canonical string holds literally: not control, quote or backslash. */
const PLAIN_IN_STRING = Uint8Array.from({ length: 256 }, (_, c) =>
  c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH ? 1 : 0,
);
/** 1 for JSON whitespace (RFC 8259: space, tab, line feed, carriage return). */
const SPACE = Uint8Array.from({ length: 256 }, (_, c) =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d ? 1 : 0,
);
const HEX_LOWER = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

// Working state of one call (the function is synchronous and not re-entrant): the input, the
// output being written, and a stack of the members of the objects being read, M numbers each
// (name start and end in the input, the member's start and end in the output, prefixKey).
let b: Uint8Array = new Uint8Array(0);
let out: Uint8Array = new Uint8Array(4096);
let o = 0;
let members = new Int32Array(5 * 256);
let mp = 0;
let maxDepth = DEFAULT_MAX_PARSE_DEPTH;

/**
 * The canonical JSON bytes of the JSON text `bytes` (UTF-8), or undefined when the text is not
 * JSON the exact reader keeps as it is, or is in a form this function declines (see above). The
 * outermost value is at depth 0; a container at depth `maxDepth` or more is declined.
 *
 * The result is a view of a buffer reused by the next call (no allocation per call): copy what
 * must outlive it. `canonicalCopyFromJsonBytes` returns a copy.
 */
export function canonicalFromJsonBytes(
  bytes: Uint8Array,
  depthLimit: number = DEFAULT_MAX_PARSE_DEPTH,
): Uint8Array | undefined {
  // A plain Uint8Array: one element kind and map for every read below (callers pass Buffers
  // too, which get a view; ingest passes plain views, read as they are).
  b =
    Object.getPrototypeOf(bytes) === Uint8Array.prototype
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  maxDepth = depthLimit;
  o = 0;
  mp = 0;
  // Only non-integer numbers can come out longer than they went in; number() makes room.
  if (out.length < bytes.length) out = new Uint8Array(grown(bytes.length));
  try {
    let i = value(skipSpace(0), 0);
    if (i < 0) return undefined;
    i = skipSpace(i);
    return i === bytes.length ? out.subarray(0, o) : undefined;
  } finally {
    b = EMPTY;
  }
}

/** `canonicalFromJsonBytes` as a new array the caller owns. */
export function canonicalCopyFromJsonBytes(
  bytes: Uint8Array,
  depthLimit: number = DEFAULT_MAX_PARSE_DEPTH,
): Uint8Array | undefined {
  return canonicalFromJsonBytes(bytes, depthLimit)?.slice();
}

const EMPTY = new Uint8Array(0);

function grown(n: number): number {
  return Math.max(4096, 2 * n);
}

function skipSpace(i: number): number {
  const src = b;
  for (;;) {
    const c = src[i];
    if (c === undefined || c > 0x20 || SPACE[c] !== 1) return i;
    i++;
  }
}

// Each reader takes the input index where its token starts, writes the token's canonical form
// at `o`, and returns the index just after it, or -1 to decline.

function value(i: number, depth: number): number {
  const c = b[i];
  if (c === QUOTE) return string(i + 1);
  if (c === OPEN_OBJECT) return depth >= maxDepth ? -1 : object(i + 1, depth);
  if (c === OPEN_ARRAY) return depth >= maxDepth ? -1 : array(i + 1, depth);
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return number(i);
  if (c === 0x74) return word(i, 0x72, 0x75, 0x65, -1); // true
  if (c === 0x66) return word(i, 0x61, 0x6c, 0x73, 0x65); // false
  if (c === 0x6e) return word(i, 0x75, 0x6c, 0x6c, -1); // null
  return -1;
}

/** true, false or null at i (its first byte already matched); `e` is -1 for 4-letter words. */
function word(i: number, x: number, y: number, z: number, e: number): number {
  if (b[i + 1] !== x || b[i + 2] !== y || b[i + 3] !== z) return -1;
  const n = e < 0 ? 4 : 5;
  if (e >= 0 && b[i + 4] !== e) return -1;
  for (let k = 0; k < n; k++) out[o++] = b[i + k] as number;
  return i + n;
}

function object(i: number, depth: number): number {
  out[o++] = OPEN_OBJECT;
  i = skipSpace(i);
  if (b[i] === CLOSE_OBJECT) {
    out[o++] = CLOSE_OBJECT;
    return i + 1;
  }
  const first = mp;
  const start = o;
  let sorted = true;
  let prevKey = -1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const nameStart = i + 1;
    const memberStart = o;
    // The name, checked (printable ASCII, no escape) and copied in one loop.
    let nameEnd = nameStart;
    {
      const src = b;
      const dst = out;
      let w = o;
      dst[w++] = QUOTE;
      for (;;) {
        const c = src[nameEnd];
        if (c === QUOTE) break;
        if (c === undefined || c < 0x20 || c === BACKSLASH || c >= 0x80) return -1;
        dst[w++] = c;
        nameEnd++;
      }
      dst[w++] = QUOTE;
      dst[w++] = COLON;
      o = w;
    }
    const key = prefixKey(nameStart, nameEnd);
    if (sorted && mp > first && !(key > prevKey)) {
      sorted =
        key === prevKey &&
        isAfter(b, members[mp - M] as number, members[mp - M + 1] as number, nameStart, nameEnd);
    }
    prevKey = key;
    i = skipSpace(nameEnd + 1);
    if (b[i] !== COLON) return -1;
    i = value(skipSpace(i + 1), depth + 1);
    if (i < 0) return -1;
    if (mp + M > members.length) {
      const more = new Int32Array(members.length * 2);
      more.set(members);
      members = more;
    }
    members[mp] = nameStart;
    members[mp + 1] = nameEnd;
    members[mp + 2] = memberStart;
    members[mp + 3] = o;
    members[mp + 4] = key;
    mp += M;
    i = skipSpace(i);
    const c = b[i];
    if (c === CLOSE_OBJECT) break;
    if (c !== COMMA) return -1;
    out[o++] = COMMA;
    i = skipSpace(i + 1);
  }
  if (!sorted && !sortMembers(first, start, i)) return -1;
  mp = first;
  out[o++] = CLOSE_OBJECT;
  return i + 1;
}

/** Members up to this many bytes are moved by a loop, longer ones by copyWithin (a call). */
const SHORT_MEMBER = 32;

/** Numbers per member on the members stack. */
const M = 5;

/**
 * The first four bytes of a name as one number (missing bytes as 0): names in different order
 * of these numbers are in that order; equal ones need the full comparison.
 */
function prefixKey(start: number, end: number): number {
  let key = 0;
  for (let k = 0; k < 4; k++) key = (key << 8) | (start + k < end ? (b[start + k] as number) : 0);
  return key; // printable ASCII: below 2^31, never negative
}

/**
 * The order of the names of members x and y (positions on the members stack): negative when x
 * sorts first, 0 when they are equal, positive when y does. One comparison answers both
 * questions an insertion step asks.
 */
function compareNames(x: number, y: number): number {
  const kx = members[x + 4] as number;
  const ky = members[y + 4] as number;
  if (kx !== ky) return kx - ky;
  const sx = members[x] as number;
  const sy = members[y] as number;
  const lx = (members[x + 1] as number) - sx;
  const ly = (members[y + 1] as number) - sy;
  const n = Math.min(lx, ly);
  for (let k = 0; k < n; k++) {
    const d = (b[sx + k] as number) - (b[sy + k] as number);
    if (d !== 0) return d;
  }
  return lx - ly;
}

let order = new Int32Array(64);

/**
 * Rewrites the members first.. (written from `start` in document order, comma-separated) in
 * RFC 8785 order; false when two names are equal (the exact reader refuses duplicates).
 */
function sortMembers(first: number, start: number, scanned: number): boolean {
  const n = (mp - first) / M;
  if (order.length < n) order = new Int32Array(2 * n);
  // Insertion sort of member positions by name: objects are small, and often nearly sorted.
  for (let k = 0; k < n; k++) {
    const at = first + M * k;
    let j = k;
    while (j > 0) {
      const prev = order[j - 1] as number;
      const c = compareNames(prev, at);
      if (c < 0) break;
      if (c === 0) return false; // equal names
      order[j] = prev;
      j--;
    }
    order[j] = at;
  }
  // The object's bytes are moved past the end of the output, then each member back in its
  // place: memmoves within one buffer (copyWithin), no views or copies per member.
  const length = o - start;
  if (o + length > out.length) {
    const more = new Uint8Array(grown(o + length + (b.length - scanned)));
    more.set(out.subarray(0, o));
    out = more;
  }
  const dst = out;
  dst.copyWithin(o, start, o);
  let w = start;
  for (let k = 0; k < n; k++) {
    const at = order[k] as number;
    const from = (members[at + 2] as number) + length;
    const to = (members[at + 3] as number) + length;
    if (k > 0) dst[w++] = COMMA;
    if (to - from > SHORT_MEMBER) {
      dst.copyWithin(w, from, to);
      w += to - from;
    } else {
      for (let r = from; r < to; r++) dst[w++] = dst[r] as number;
    }
  }
  return true;
}

function array(i: number, depth: number): number {
  out[o++] = OPEN_ARRAY;
  i = skipSpace(i);
  if (b[i] === CLOSE_ARRAY) {
    out[o++] = CLOSE_ARRAY;
    return i + 1;
  }
  for (;;) {
    i = value(i, depth + 1);
    if (i < 0) return -1;
    i = skipSpace(i);
    const c = b[i];
    if (c === CLOSE_ARRAY) break;
    if (c !== COMMA) return -1;
    out[o++] = COMMA;
    i = skipSpace(i + 1);
  }
  out[o++] = CLOSE_ARRAY;
  return i + 1;
}

/**
 * A string from just after its opening quote. Written as JSON.stringify writes the string it
 * denotes (RFC 8785 §3.2.2.2): `"` and `\` and control characters escaped (short forms where
 * they exist, else `\u00xx`), everything else literal UTF-8.
 */
function string(i: number): number {
  // Locals in the loop over plain bytes, the bulk of every record.
  const src = b;
  const dst = out;
  const n = src.length;
  let w = o;
  dst[w++] = QUOTE;
  while (i < n) {
    const c = src[i] as number;
    if (PLAIN_IN_STRING[c] === 1) {
      dst[w++] = c;
      i++;
    } else if (c === QUOTE) {
      dst[w++] = QUOTE;
      o = w;
      return i + 1;
    } else if (c === BACKSLASH) {
      o = w;
      i = escape(i + 1);
      if (i < 0) return -1;
      w = o;
    } else if (c >= 0x80) {
      const end = scanUtf8(src, i, c);
      if (end < 0) return -1;
      while (i < end) dst[w++] = src[i++] as number;
    } else {
      return -1; // a raw control character
    }
  }
  return -1;
}

/** The escape after a backslash at i, written canonically; the index after it, or -1. */
function escape(i: number): number {
  const e = b[i];
  switch (e) {
    case QUOTE:
    case BACKSLASH:
    case 0x62: // b
    case 0x66: // f
    case 0x6e: // n
    case 0x72: // r
    case 0x74: // t
      out[o++] = BACKSLASH;
      out[o++] = e;
      return i + 1;
    case 0x2f: // \/ is just /
      out[o++] = 0x2f;
      return i + 1;
    case 0x75: {
      let code = hex4(i + 1);
      if (code < 0) return -1;
      i += 5;
      if (code >= 0xdc00 && code <= 0xdfff) return -1; // a lone low surrogate
      if (code >= 0xd800 && code <= 0xdbff) {
        // Only a high surrogate followed by an escaped low one is a character.
        if (b[i] !== BACKSLASH || b[i + 1] !== 0x75) return -1;
        const low = hex4(i + 2);
        if (low < 0xdc00 || low > 0xdfff) return -1;
        i += 6;
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      }
      writeCodePoint(code);
      return i;
    }
    default:
      return -1;
  }
}

/** A code point (no surrogate) as canonical JSON writes it inside a string. */
function writeCodePoint(c: number): void {
  if (c < 0x20) {
    out[o++] = BACKSLASH;
    const short = SHORT_ESCAPE[c] as number;
    if (short !== 0) {
      out[o++] = short;
    } else {
      out[o++] = 0x75;
      out[o++] = ZERO;
      out[o++] = ZERO;
      out[o++] = HEX_LOWER[c >> 4] as number;
      out[o++] = HEX_LOWER[c & 15] as number;
    }
  } else if (c === QUOTE || c === BACKSLASH) {
    out[o++] = BACKSLASH;
    out[o++] = c;
  } else if (c < 0x80) {
    out[o++] = c;
  } else if (c < 0x800) {
    out[o++] = 0xc0 | (c >> 6);
    out[o++] = 0x80 | (c & 0x3f);
  } else if (c < 0x10000) {
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  } else {
    out[o++] = 0xf0 | (c >> 18);
    out[o++] = 0x80 | ((c >> 12) & 0x3f);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  }
}

/** The letter of the short escape of each control character that has one (\b \t \n \f \r). */
const SHORT_ESCAPE = Uint8Array.from({ length: 0x20 }, (_, c) =>
  c === 0x08
    ? 0x62
    : c === 0x09
      ? 0x74
      : c === 0x0a
        ? 0x6e
        : c === 0x0c
          ? 0x66
          : c === 0x0d
            ? 0x72
            : 0,
);

/** Four hex digits (either case) at i as a number, or -1. */
function hex4(i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const d = hexDigit(b[i + k]);
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= ZERO && c <= NINE) return c - ZERO;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * A number literal. An integer literal is its own canonical form, every digit kept (the exact
 * reader reads it as a number or a bigint, both written back as these digits); `-0` has none.
 * Any other literal is written as `String(Number(literal))` when that denotes the same decimal
 * value, and declined when it does not (`1e-400`, `1e400`, `-0.0`, too many digits).
 */
function number(start: number): number {
  const intEnd = integerPartEnd(b, start);
  const i = intEnd < 0 ? -1 : numberLiteralEnd(b, intEnd);
  if (i < 0) return -1;
  const negative = b[start] === MINUS;
  if (i === intEnd) {
    if (negative && b[start + 1] === ZERO) return -1;
    // An integer literal is never longer than its input: there is room.
    for (let k = start; k < i; k++) out[o++] = b[k] as number;
    return i;
  }
  if (i - start > MAX_NUMBER_LENGTH) return -1;
  let literal = '';
  for (let k = start; k < i; k++) literal += String.fromCharCode(b[k] as number);
  const v = Number(literal);
  if (!Number.isFinite(v) || (v === 0 && negative)) return -1;
  const text = String(v);
  if (text !== literal && !sameDecimal(literal, text)) return -1;
  // Room for this text and for the rest of the input, none of which writes more than it reads.
  const need = o + text.length + (b.length - i);
  if (need > out.length) {
    const more = new Uint8Array(grown(need));
    more.set(out.subarray(0, o));
    out = more;
  }
  for (let k = 0; k < text.length; k++) out[o++] = text.charCodeAt(k);
  return i;
}
