import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../../src/core/bytes.ts';

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
