import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  copyBytes,
  decimalAt,
  decimalEnd,
  fromBase64,
  fromHex,
  hexInto,
  rangeOf,
  rangesEqual,
  toBase64,
  toHex,
  utf8,
  withRoom,
  writeDecimal,
} from '../../../src/core/bytes.ts';

describe('bytes', () => {
  it('round-trips hex and base64 for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
        expect(fromBase64(toBase64(b))).toEqual(b);
      }),
    );
  });

  it('rejects malformed hex', () => {
    expect(() => fromHex('abc')).toThrow(TypeError);
    expect(() => fromHex('zz')).toThrow(TypeError);
  });

  it('accepts only the canonical base64 spelling', () => {
    expect(fromBase64('QQ==')).toEqual(Uint8Array.of(0x41));
    // 'QR==' decodes to the same byte through unused trailing bits: a second spelling.
    expect(() => fromBase64('QR==')).toThrow(/non-canonical/);
    expect(() => fromBase64('QUI')).toThrow(TypeError);
    expect(() => fromBase64('QU I=')).toThrow(TypeError);
    expect(() => fromBase64('QUJD\n')).toThrow(TypeError);
  });

  it('decodes UTF-8 strictly', () => {
    expect(utf8.decode(utf8.encode('é✓'))).toBe('é✓');
    expect(() => utf8.decode(Uint8Array.of(0xc3, 0x28))).toThrow(TypeError);
  });
});

describe('allocation-free writers', () => {
  it('copyBytes equals set(subarray) for short and long ranges, Buffer or not', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(300),
        fc.nat(300),
        fc.nat(20),
        fc.boolean(),
        (bytes, a, b, at, asBuffer) => {
          const start = Math.min(a, b, bytes.length);
          const end = Math.min(Math.max(a, b), bytes.length);
          const src = asBuffer ? Buffer.from(bytes) : bytes;
          const got = new Uint8Array(at + end - start + 5).fill(0xee);
          const want = got.slice();
          want.set(bytes.subarray(start, end), at);
          expect(copyBytes(src, start, end, got, at)).toBe(at + end - start);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('hexInto equals toHex; writeDecimal equals String(n)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.maxSafeNat(), (bytes, n) => {
        const hex = new Uint8Array(2 * bytes.length + 1);
        expect(hexInto(bytes, 0, bytes.length, hex, 1)).toBe(hex.length);
        expect(Buffer.from(hex.subarray(1)).toString('latin1')).toBe(toHex(bytes));
        const dec = new Uint8Array(20);
        const end = writeDecimal(dec, 2, n);
        expect(Buffer.from(dec.subarray(2, end)).toString('latin1')).toBe(String(n));
      }),
      { numRuns: 300 },
    );
    for (const n of [0, 9, 10, 99, 100, 101, 2 ** 53 - 1]) {
      const dec = new Uint8Array(20);
      expect(Buffer.from(dec.subarray(0, writeDecimal(dec, 0, n))).toString('latin1')).toBe(
        String(n),
      );
    }
  });
});

describe('decimalEnd reads back writeDecimal, and nothing else', () => {
  const read = (text: string, at = 0): number | undefined => {
    const b = utf8.encode(text);
    const end = decimalEnd(b, at);
    return end < 0 ? undefined : decimalAt(b, at, end);
  };

  it('reads every safe integer writeDecimal writes, up to the first non-digit', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.nat(4), (n, at) => {
        const b = new Uint8Array(at + 20).fill(0x2c);
        const end = writeDecimal(b, at, n);
        expect(decimalEnd(b, at)).toBe(end);
        expect(decimalAt(b, at, end)).toBe(n);
      }),
      { numRuns: 300 },
    );
    expect(read(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(read('0,')).toBe(0);
    expect(read('x12}', 1)).toBe(12);
  });

  it('declines no digits, leading zeros and numbers past 2^53 - 1', () => {
    for (const text of ['', ',', '-1', '00', '01', '9007199254740992', '9007199254740993']) {
      expect(read(text)).toBeUndefined();
    }
    expect(read('99999999999999999')).toBeUndefined();
    expect(read('1'.repeat(30))).toBeUndefined();
  });
});

describe('ranges and growth', () => {
  it('rangesEqual compares two ranges as bytesEqual compares their copies', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(40),
        fc.nat(40),
        fc.nat(40),
        fc.nat(40),
        (b, w, x, y, z) => {
          const [s1, e1] = [Math.min(w, b.length), Math.min(Math.max(w, x), b.length)];
          const [s2, e2] = [Math.min(y, b.length), Math.min(Math.max(y, z), b.length)];
          const same = Buffer.from(b.slice(s1, e1)).equals(Buffer.from(b.slice(s2, e2)));
          expect(rangesEqual(b, s1, e1, b, s2, e2)).toBe(same);
        },
      ),
    );
  });

  it('withRoom keeps a buffer with room and grows one without, keeping the used bytes', () => {
    const buf = Uint8Array.of(1, 2, 3, 4);
    expect(withRoom(buf, 2, 4)).toBe(buf);
    const grown = withRoom(buf, 3, 5);
    expect(grown.length).toBe(8);
    expect([...grown.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect(withRoom(buf, 4, 100).length).toBe(100);
  });
});

describe('rangeOf', () => {
  it('is the array itself for the whole of it, else a view of the range', () => {
    const b = Buffer.from('abcdef');
    expect(rangeOf(b, 0, 6)).toBe(b);
    const part = rangeOf(b, 1, 4);
    expect(part).not.toBe(b);
    expect(part.toString()).toBe('bcd');
    expect(part.buffer).toBe(b.buffer);
    expect(rangeOf(b, 0, 0).length).toBe(0);
  });
});
