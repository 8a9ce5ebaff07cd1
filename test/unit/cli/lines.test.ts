import { describe, expect, it } from 'vitest';
import { LineNumbers, readLines } from '../../../src/cli/client/lines.ts';

async function collect(chunks: string[], max = 100) {
  const out: (string | number)[][] = [];
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  for await (const l of readLines(source(), max)) {
    out.push(l.bytes === undefined ? [l.line, 'too long', l.size] : [l.line, l.bytes.toString()]);
  }
  return out;
}

describe('readLines', () => {
  it('splits across chunk boundaries, numbers every line and skips blank ones', async () => {
    expect(await collect(['{"a":', '1}\n\n  \r\n{"b"', ':2}\r\n', '{"c":3}'])).toEqual([
      [1, '{"a":1}'],
      [4, '{"b":2}'],
      [5, '{"c":3}'],
    ]);
  });

  it('reports a line over the limit by its size, without holding it, and goes on', async () => {
    const long = 'x'.repeat(70);
    expect(await collect([`{}\n${long}`, long, '\n{"ok":1}\n'], 100)).toEqual([
      [1, '{}'],
      [2, 'too long', 140],
      [3, '{"ok":1}'],
    ]);
    expect(await collect(['y'.repeat(150)], 100)).toEqual([[1, 'too long', 150]]);
  });

  it('yields nothing for empty input', async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect(['\n\n'])).toEqual([]);
  });
});

describe('LineNumbers', () => {
  it('maps decision indexes to input lines across blank and skipped lines', () => {
    const lines = [1, 2, 5, 6, 7, 9, 20, 21];
    const n = new LineNumbers();
    lines.forEach((line, index) => n.add(index, line));
    expect(lines.map((_, index) => n.lineOf(index))).toEqual(lines);
    // In any order (outcomes arrive in completion order).
    expect([7, 0, 3, 6].map((index) => n.lineOf(index))).toEqual([21, 1, 6, 20]);
  });
});
