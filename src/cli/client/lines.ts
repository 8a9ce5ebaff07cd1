// NDJSON lines from a stream as they arrive (a file of any size, a pipe, `tail -f`), without
// holding more than one chunk and one partial line: flat memory, whatever the input's size.
import { rangeOf } from '../../core/bytes.ts';

export type InputLine =
  | { line: number; bytes: Buffer }
  /** A line longer than the limit: skipped up to its end, never held in memory. */
  | { line: number; bytes: undefined; size: number };

const NL = 0x0a;

/** Strips ASCII whitespace at both ends (a CRLF file's \r, indentation), without copying. */
function trim(b: Buffer): Buffer {
  let s = 0;
  let e = b.length;
  while (s < e && isSpace(b[s] as number)) s++;
  while (e > s && isSpace(b[e - 1] as number)) e--;
  return rangeOf(b, s, e);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Non-blank lines of `input` with their 1-based line numbers; a last line may lack its \n. */
export async function* readLines(
  input: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<InputLine, void, undefined> {
  for await (const lines of readLineBatches(input, maxLineBytes)) yield* lines;
}

/**
 * `readLines` a chunk at a time: the lines each read completes, as one array (a consumer that
 * takes them in a loop pays for one asynchronous step per chunk, not per line).
 */
export async function* readLineBatches(
  input: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<InputLine[], void, undefined> {
  let line = 0;
  let carry: Buffer[] = [];
  let carrySize = 0;
  let oversize = false;
  let out: InputLine[] = [];
  const finish = (part: Buffer): void => {
    line++;
    const size = carrySize + part.length;
    if (oversize || size > maxLineBytes) {
      out.push({ line, bytes: undefined, size });
    } else {
      const whole = carry.length === 0 ? part : Buffer.concat([...carry, part], size);
      const text = trim(whole);
      if (text.length > 0) out.push({ line, bytes: text });
    }
    carry = [];
    carrySize = 0;
    oversize = false;
  };
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      finish(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carrySize += rest.length;
      if (carrySize > maxLineBytes) {
        oversize = true;
        carry = [];
      } else carry.push(Buffer.from(rest));
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  if (carrySize > 0 || oversize) finish(Buffer.alloc(0));
  if (out.length > 0) yield out;
}

/**
 * Input line numbers of the decisions handed on, by their 0-based index among them: recorded as
 * the places where the two stop counting alike (a blank or skipped line), so a stream of any
 * length holds a few numbers, not one per decision in flight.
 */
export class LineNumbers {
  /** Pairs (index, line - index) from each index where the difference changes. */
  readonly #from: number[] = [];
  readonly #offset: number[] = [];

  /** Decision `index` is on input line `line` (called with increasing indexes). */
  add(index: number, line: number): void {
    const offset = line - index;
    if (this.#offset.at(-1) !== offset) {
      this.#from.push(index);
      this.#offset.push(offset);
    }
  }

  lineOf(index: number): number {
    let lo = 0;
    let hi = this.#from.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#from[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return index + (this.#offset[lo] as number);
  }
}
