// Byte helpers. Core works on Uint8Array end to end; hex and base64 appear only at the edges.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Lowercase hex of src[start..end) written into dst at `at` (2 bytes each), no allocation. */
export function hexInto(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
): number {
  for (let k = start; k < end; k++) {
    const v = src[k] as number;
    dst[at++] = HEX_DIGITS[v >> 4] as number;
    dst[at++] = HEX_DIGITS[v & 15] as number;
  }
  return at;
}

/** Where item i of a packed buffer starts: items are back to back, item i ends at ends[i]. */
export function startOf(ends: Uint32Array, i: number): number {
  return i === 0 ? 0 : (ends[i - 1] as number);
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** Parses lowercase or uppercase hex; throws on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError('invalid hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64 (with padding): rejects anything that does not round-trip. */
export function fromBase64(text: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new TypeError('invalid base64 string');
  }
  const buf = Buffer.from(text, 'base64');
  // Unused trailing bits make several spellings decode to the same bytes; accept only the one
  // canonical spelling so a signed or hashed document has exactly one encoding.
  if (buf.toString('base64') !== text) throw new TypeError('non-canonical base64 string');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Copies src[start..end) into dst at `at` and returns the offset after it. Unlike
 * `dst.set(src.subarray(start, end), at)` it allocates no view, which matters per record on
 * hot paths; large copies go through the native set.
 */
export function copyBytes(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
): number {
  const n = end - start;
  if (n > 64) dst.set(src.subarray(start, end), at);
  else for (let k = 0; k < n; k++) dst[at + k] = src[start + k] as number;
  return at + n;
}

/** Whether a[aStart..aEnd) and b[bStart..bEnd) hold the same bytes (no views made). */
export function rangesEqual(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): boolean {
  const n = aEnd - aStart;
  if (bEnd - bStart !== n) return false;
  for (let k = 0; k < n; k++) if (a[aStart + k] !== b[bStart + k]) return false;
  return true;
}

/** b[start, end) as a view, or `b` itself when that is all of it (no view made then). */
export function rangeOf<T extends Uint8Array>(b: T, start: number, end: number): T {
  return start === 0 && end === b.length ? b : (b.subarray(start, end) as T);
}

/** Whether `piece` is at b[at..] (no view made). */
export function hasBytesAt(b: Uint8Array, at: number, piece: Uint8Array): boolean {
  return rangesEqual(b, at, at + piece.length, piece, 0, piece.length);
}

/**
 * `buf` if it has room for `needed` bytes, else a buffer at least twice as large holding its
 * first `used` bytes: the growth step of every append-only byte buffer.
 */
export function withRoom(buf: Uint8Array, used: number, needed: number): Uint8Array {
  if (needed <= buf.length) return buf;
  const grown = new Uint8Array(Math.max(2 * buf.length, needed));
  grown.set(buf.subarray(0, used));
  return grown;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** "00".."99": two digits per division below. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = 0x30 + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = 0x30 + (i % 10);
}

/** Decimal digits of a safe non-negative integer; returns the offset after them. */
export function writeDecimal(target: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let rest = n;
  let i = at + digits;
  while (rest >= 100) {
    const q = Math.floor(rest / 100);
    const pair = (rest - q * 100) * 2;
    target[--i] = DIGIT_PAIRS[pair + 1] as number;
    target[--i] = DIGIT_PAIRS[pair] as number;
    rest = q;
  }
  // The leading one or two digits end at i.
  if (rest >= 10) {
    target[i - 1] = DIGIT_PAIRS[2 * rest + 1] as number;
    target[i - 2] = DIGIT_PAIRS[2 * rest] as number;
  } else {
    target[i - 1] = 0x30 + rest;
  }
  return at + digits;
}

/**
 * Where a decimal as `writeDecimal` writes it (a safe non-negative integer: digits only, no
 * leading zero) that starts at b[at] ends, or -1 when the digits there are none or not such a
 * number. What follows the digits is the caller's to check.
 */
export function decimalEnd(b: Uint8Array, at: number): number {
  let k = at;
  while (k < b.length && ((b[k] as number) - 0x30) >>> 0 < 10) k++;
  const n = k - at;
  if (n === 0 || n > MAX_SAFE_DIGITS || (n > 1 && b[at] === 0x30)) return -1;
  // Sixteen digits may pass 2^53 - 1; the sum below is exact up to there and above it lands
  // on 2^53 or more, so the test is exact.
  if (n === MAX_SAFE_DIGITS && decimalAt(b, at, k) > Number.MAX_SAFE_INTEGER) return -1;
  return k;
}

/** The value of the digits b[start..end) (`decimalEnd` says where they end). */
export function decimalAt(b: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let k = start; k < end; k++) v = v * 10 + ((b[k] as number) - 0x30);
  return v;
}

/** Digits of Number.MAX_SAFE_INTEGER. */
const MAX_SAFE_DIGITS = 16;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = {
  encode: (text: string): Uint8Array => encoder.encode(text),
  /** Throws TypeError on invalid UTF-8 rather than substituting U+FFFD. */
  decode: (bytes: Uint8Array): string => strictDecoder.decode(bytes),
};
