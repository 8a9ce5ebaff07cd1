// Event notes: the apiserver refuses a note over 1 KiB (UTF-8 bytes), and a refused Event is
// dropped, so a long message is cut to fit instead.
import { describe, expect, it } from 'vitest';
import { NOTE_MAX_BYTES, eventNote } from '../../../src/operator/events.ts';

describe('eventNote', () => {
  it('keeps a note that fits, byte for byte', () => {
    const fits = 'x'.repeat(NOTE_MAX_BYTES);
    expect(eventNote(fits)).toBe(fits);
    expect(eventNote('routes differently: bucket "jump"')).toBe(
      'routes differently: bucket "jump"',
    );
  });

  it('cuts a longer one to at most 1024 bytes ending in an ellipsis, never inside a character', () => {
    const ascii = eventNote('a'.repeat(2000));
    expect(Buffer.byteLength(ascii, 'utf8')).toBe(NOTE_MAX_BYTES);
    expect(ascii.endsWith('a…')).toBe(true);
    // Three-byte characters: the cut lands on a character boundary, under the limit.
    const wide = eventNote('€'.repeat(400));
    expect(Buffer.byteLength(wide, 'utf8')).toBeLessThanOrEqual(NOTE_MAX_BYTES);
    expect(wide).toBe(`${'€'.repeat(340)}…`);
  });
});
