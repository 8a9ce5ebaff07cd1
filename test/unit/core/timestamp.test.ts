// Canonical u64 decimal text: the string check and the in-place byte check agree, at the
// edges (0, leading zeros, 2^64-1 and one past it) and on generated text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalU64, isCanonicalU64At } from '../../../src/core/decision/timestamp.ts';

/** isCanonicalU64At of `text` placed inside other bytes, as a scan finds it. */
function atBytes(text: string): boolean {
  const b = Buffer.from(`9${text}9`, 'latin1');
  return isCanonicalU64At(b, 1, 1 + text.length);
}

describe('canonical u64 decimal text', () => {
  it('accepts 0 to 2^64-1 spelled without sign or leading zeros, in text and in bytes', () => {
    for (const [text, ok] of [
      ['0', true],
      ['7', true],
      ['1796569260694147634', true],
      ['18446744073709551615', true],
      ['18446744073709551616', false],
      ['99999999999999999999', false],
      ['100000000000000000000', false],
      ['00', false],
      ['01', false],
      ['', false],
      ['-1', false],
      ['+1', false],
      ['1.0', false],
      ['1e3', false],
      [' 1', false],
    ] as const) {
      expect(isCanonicalU64(text), text).toBe(ok);
      expect(atBytes(text), text).toBe(ok);
    }
  });

  it('the byte check agrees with the string check (fast-check)', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 22 });
    const text = fc.oneof(digits, fc.string({ maxLength: 22 }), fc.bigInt({ min: 0n }).map(String));
    fc.assert(
      fc.property(text, (t) => {
        expect(atBytes(t)).toBe(isCanonicalU64(t));
      }),
      { numRuns: 2000 },
    );
  });
});
