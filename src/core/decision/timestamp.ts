// Nanosecond timestamps as canonical decimal text: a u64 does not fit a double. Records carry
// them as JSON integers (kept exact, json-exact.ts); our own envelopes and tables as strings.

const U64_MAX_TEXT = '18446744073709551615';
export const U64_MAX = 0xffff_ffff_ffff_ffffn;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** True for the canonical decimal form of an integer in [0, 2^64-1]: no sign, no leading zeros. */
export function isCanonicalU64(text: string): boolean {
  if (text.length > 20 || !DECIMAL.test(text)) return false;
  // Same length decimal strings without leading zeros compare like the numbers they spell.
  return text.length < 20 || text <= U64_MAX_TEXT;
}

const U64_MAX_BYTES = Buffer.from(U64_MAX_TEXT, 'latin1');

/** `isCanonicalU64` of the ASCII text b[s, e), read in place (no string made). */
export function isCanonicalU64At(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n < 1 || n > 20 || (n > 1 && b[s] === 0x30)) return false;
  for (let j = s; j < e; j++) {
    const c = b[j] as number;
    if (c < 0x30 || c > 0x39) return false;
  }
  if (n < 20) return true;
  for (let k = 0; k < 20; k++) {
    const d = (b[s + k] as number) - (U64_MAX_BYTES[k] as number);
    if (d !== 0) return d < 0;
  }
  return true;
}

/** Parses a canonical u64 decimal string; throws RangeError otherwise. */
export function parseU64(text: string): bigint {
  if (!isCanonicalU64(text)) {
    throw new RangeError(`not a canonical unsigned 64-bit decimal: ${JSON.stringify(text)}`);
  }
  return BigInt(text);
}

/** Canonical decimal text of a u64 bigint; throws RangeError when out of range. */
export function formatU64(value: bigint): string {
  if (value < 0n || value > U64_MAX) {
    throw new RangeError(`${value} is not an unsigned 64-bit integer`);
  }
  return value.toString(10);
}

/** Numeric comparison of two canonical u64 decimal strings (negative, zero or positive). */
export function compareU64Text(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
