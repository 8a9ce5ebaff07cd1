// What the client must know of a decision given as JSON text to send it: its record_id, its
// timestamp_ns and its routing keys, read from the bytes in one pass without parsing them into
// objects or validating the rest. The shard validates every line it is sent and refuses a bad one
// by its line number and field path, which the client maps back to the input; so for text input
// the client's own work per decision is this scan (a few microseconds), not a second full parse.
//
// The scan only ever answers for text whose fields it reads exactly as the shard's parser does:
// plain (escape-free, ASCII) member names at the levels it reads, record_id and string keys
// without escapes, timestamp_ns a canonical unsigned decimal, each name it reads present once.
// Anything else (escapes, a duplicate, a number in another spelling, text it cannot follow)
// makes it return undefined, or a key throw UnreadableKey, and the caller takes the full path
// (prepare.ts), which reports problems itself. Text that is not valid JSON past what the scan
// reads is the shard's to refuse.
import { rangeOf, rangesEqual } from '../core/bytes.ts';
import { isCanonicalU64At } from '../core/decision/timestamp.ts';
import { pointerTokens } from '../core/json-pointer.ts';
import { nonStringKey, type NonStringKey, type RoutingSource } from '../core/routing.ts';
import { ReadyDecision } from './in-flight.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;

const names = (list: string[]): Buffer[] => list.map((n) => Buffer.from(n, 'latin1'));
/** Top-level members read in the one pass: what sending needs, and the default key roots. */
const TOP_NAMES = ['record_id', 'timestamp_ns', 'ctx', 'entity_id', 'session_id', 'domain'];
const TOP = names(TOP_NAMES);
const CTX = 2;
/** Members of ctx read in the same pass (the default strategies' second pointers). */
const CTX_NAMES = ['entity_id', 'session_id', 'domain'];
const CTX_MEMBERS = names(CTX_NAMES);

/** A pointer as the scan reads it: one of the spans it records, or tokens to walk. */
interface ScanPointer {
  span: number;
  /** Each token as a one-name list, as `scanMembers` takes it. */
  tokens: Buffer[][];
}

/** Routing tables name a handful of pointers: each is resolved once. */
const POINTERS = new Map<string, ScanPointer>();

function pointerOf(pointer: string): ScanPointer {
  let p = POINTERS.get(pointer);
  if (p !== undefined) return p;
  const tokens = pointerTokens(pointer);
  let span = -1;
  if (tokens.length === 1) span = TOP_NAMES.indexOf(tokens[0] as string);
  else if (tokens.length === 2 && tokens[0] === 'ctx') {
    const k = CTX_NAMES.indexOf(tokens[1] as string);
    if (k >= 0) span = TOP.length + k;
  }
  p = { span, tokens: tokens.map((t) => [Buffer.from(t)]) };
  if (POINTERS.size < 64) POINTERS.set(pointer, p);
  return p;
}

/**
 * Value spans of the last scan, [start, end) per name, -1 when absent: TOP_NAMES, then
 * CTX_NAMES. One array for every scan, not one per decision: routing reads a decision's keys
 * right after its scan, and a decision routed again later (a routing change) is scanned again.
 */
const SPANS = new Int32Array(2 * (TOP_NAMES.length + CTX_NAMES.length));
/** Each scan's number (a small integer for ages), and the one whose spans SPANS holds. */
let scans = 0;
let spansOf = -1;
/** The value span of a member walked by `keyAt` for another table's pointer. */
const WALK = new Int32Array(2);

/** A key the scan cannot read exactly: the caller takes the full path for the decision. */
export class UnreadableKey extends Error {}

/**
 * A decision's text as the client routes and sends it: where its record_id and timestamp lie
 * in its bytes (a decision in flight holds a few numbers and the buffer its bytes lie in,
 * buf[at, at + size); offsets are from `at`), and its flight state. The bytes may move to
 * another buffer holding the same text (a slab).
 */
export class ScannedDecision extends ReadyDecision implements RoutingSource {
  buf: Buffer;
  at = 0;
  readonly size: number;
  readonly #idStart: number;
  readonly #idEnd: number;
  readonly #tsStart: number;
  readonly #tsEnd: number;
  readonly #scan: number;

  constructor(bytes: Buffer, idStart: number, idEnd: number, tsStart: number, tsEnd: number) {
    super();
    this.buf = bytes;
    this.size = bytes.length;
    this.#scan = spansOf;
    this.#idStart = idStart;
    this.#idEnd = idEnd;
    this.#tsStart = tsStart;
    this.#tsEnd = tsEnd;
  }

  /**
   * Read from its bytes when asked (errors, a receipt the client parses in full): a string per
   * decision in flight would be one more object for the garbage collector to copy and promote.
   */
  get recordId(): string {
    return this.buf.toString('latin1', this.at + this.#idStart, this.at + this.#idEnd);
  }

  /** Its record_id is printable ASCII without escapes: the same bytes in a JSON string. */
  matchRecordId(b: Uint8Array, at: number): number {
    const end = at + this.#idEnd - this.#idStart;
    const from = this.at + this.#idStart;
    return rangesEqual(this.buf, from, this.at + this.#idEnd, b, at, end) ? end : -1;
  }

  /** This object is what the client sends, and what it routes by. */
  get source(): this {
    return this;
  }

  get timestampNs(): string {
    return this.buf.toString('latin1', this.at + this.#tsStart, this.at + this.#tsEnd);
  }

  moveTo(buf: Buffer, at: number): void {
    this.buf = buf;
    this.at = at;
  }

  keyAt(pointer: string): string | undefined | NonStringKey {
    const p = pointerOf(pointer);
    let b = this.buf;
    let start: number;
    let end: number;
    if (p.span >= 0) {
      // Scanned again when SPANS has moved on to other decisions (the same text, read the same).
      if (spansOf !== this.#scan) {
        spansOf = -1;
        if (!scanInto(this.#bytes())) throw new UnreadableKey(pointer);
        spansOf = this.#scan;
      }
      start = SPANS[2 * p.span] as number;
      end = SPANS[2 * p.span + 1] as number;
      if (start >= 0) {
        start += this.at;
        end += this.at;
      }
    } else {
      // Another table's pointer: walked member by member (arrays are left to the full path).
      b = this.#bytes();
      start = skipSpace(b, 0);
      end = -1;
      for (const token of p.tokens) {
        if (b[start] === OPEN_ARRAY) throw new UnreadableKey(pointer);
        if (b[start] !== OPEN_OBJECT) return undefined;
        WALK[0] = -1;
        WALK[1] = -1;
        if (scanMembers(b, start, WALK, 0, token) < 0) throw new UnreadableKey(pointer);
        start = WALK[0] as number;
        end = WALK[1] as number;
        if (start < 0) return undefined;
      }
    }
    if (start < 0) return undefined;
    const c = b[start];
    if (c === QUOTE) {
      if (!plainString(b, start, end)) throw new UnreadableKey(pointer);
      return b.toString('latin1', start + 1, end - 1);
    }
    return nonStringKey(c);
  }

  /** Its bytes as a view of their own (only for the rare second reading). */
  #bytes(): Buffer {
    return rangeOf(this.buf, this.at, this.at + this.size);
  }
}

/**
 * Reads record_id, timestamp_ns and (on demand) routing keys from `bytes`, one JSON object;
 * undefined when the text is in a form the scan does not read exactly (see above).
 */
export function scanDecision(bytes: Uint8Array): ScannedDecision | undefined {
  const b = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  spansOf = -1;
  if (!scanInto(b)) return undefined;
  // Wraps before it leaves the small integers; a decision is not held for 2^30 scans.
  spansOf = scans = (scans + 1) & 0x3fffffff;
  return new ScannedDecision(
    b,
    (SPANS[0] as number) + 1,
    (SPANS[1] as number) - 1,
    SPANS[2] as number,
    SPANS[3] as number,
  );
}

/** Fills SPANS from b; false when the text is not in a form the scan reads exactly. */
function scanInto(b: Buffer): boolean {
  SPANS.fill(-1);
  const end = scanMembers(b, skipSpace(b, 0), SPANS, 0, TOP);
  if (end < 0 || skipSpace(b, end) !== b.length) return false;
  if (!plainString(b, SPANS[0] as number, SPANS[1] as number)) return false;
  const ts = SPANS[2] as number;
  if (ts < 0 || !isCanonicalU64At(b, ts, SPANS[3] as number)) return false;
  const ctx = SPANS[2 * CTX] as number;
  return (
    ctx < 0 || b[ctx] !== OPEN_OBJECT || scanMembers(b, ctx, SPANS, TOP.length, CTX_MEMBERS) >= 0
  );
}

/**
 * Walks the object at `i`, recording at spans[2 * (base + k)] the value span of each member
 * named names[k]; returns the index just past the object, or -1 when the object cannot be
 * followed, a member name has escapes or non-ASCII bytes (it could spell one of `names`), or a
 * wanted name occurs twice.
 */
function scanMembers(
  b: Buffer,
  i: number,
  spans: Int32Array,
  base: number,
  want: Buffer[],
): number {
  const n = b.length;
  if (b[i] !== OPEN_OBJECT) return -1;
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_OBJECT) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const nameStart = i + 1;
    let nameEnd = nameStart;
    for (;;) {
      if (nameEnd >= n) return -1;
      const c = b[nameEnd] as number;
      if (c === QUOTE) break;
      if (c === BACKSLASH || c >= 0x80 || c < 0x20) return -1;
      nameEnd++;
    }
    i = nameEnd + 1;
    if (b[i] !== COLON) {
      i = skipSpace(b, i);
      if (b[i] !== COLON) return -1;
    }
    let valueStart = i + 1;
    if (valueStart < n && isSpace(b[valueStart] as number)) valueStart = skipSpace(b, valueStart);
    const valueEnd = skipValue(b, valueStart);
    if (valueEnd < 0) return -1;
    const k = nameIndex(b, nameStart, nameEnd, want);
    if (k >= 0) {
      const at = 2 * (base + k);
      if ((spans[at] as number) >= 0) return -1;
      spans[at] = valueStart;
      spans[at + 1] = valueEnd;
    }
    i = valueEnd;
    let c = b[i];
    if (c !== COMMA && c !== CLOSE_OBJECT) {
      i = skipSpace(b, i);
      c = b[i];
    }
    if (c === CLOSE_OBJECT) return i + 1;
    if (c !== COMMA) return -1;
    i++;
    if (i < n && b[i] !== QUOTE) i = skipSpace(b, i);
  }
}

function nameIndex(b: Buffer, s: number, e: number, want: Buffer[]): number {
  const n = e - s;
  for (let k = 0; k < want.length; k++) {
    const name = want[k] as Buffer;
    if (name.length !== n || b[s] !== name[0]) continue;
    let j = 1;
    while (j < n && b[s + j] === name[j]) j++;
    if (j === n) return k;
  }
  return -1;
}

/**
 * Just past the value at i (a string, object, array or bare literal), or -1 when the text
 * ends first. Containers are followed by their brackets, strings by their quotes; what lies
 * inside is the shard's to check.
 */
function skipValue(b: Buffer, i: number): number {
  const n = b.length;
  if (i >= n) return -1;
  const c = b[i] as number;
  if (c === QUOTE) return skipString(b, i + 1);
  // [ and { are 0x5b and 0x7b, ] and } 0x5d and 0x7d: one bit apart (x | 0x20 matches both).
  if ((c | 0x20) === OPEN_OBJECT) {
    let depth = 1;
    for (let j = i + 1; j < n; j++) {
      const x = b[j] as number;
      if (x === QUOTE) {
        j = skipString(b, j + 1) - 1;
        if (j < 0) return -1;
      } else if ((x | 0x20) === OPEN_OBJECT) depth++;
      else if ((x | 0x20) === CLOSE_OBJECT) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  let j = i;
  while (j < n) {
    const x = b[j] as number;
    if (x === COMMA || (x | 0x20) === CLOSE_OBJECT || isSpace(x)) break;
    j++;
  }
  return j === i ? -1 : j;
}

/** Just past the closing quote of the string whose body starts at i; -1 if it never closes. */
function skipString(b: Buffer, i: number): number {
  const n = b.length;
  while (i < n) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    // A backslash escapes the byte after it (the shard checks what it spells).
    i += c === BACKSLASH ? 2 : 1;
  }
  return -1;
}

/** True when [s, e) is a string of printable ASCII without escapes. */
function plainString(b: Buffer, s: number, e: number): boolean {
  if (s < 0 || b[s] !== QUOTE || e - s < 2) return false;
  for (let j = s + 1; j < e - 1; j++) {
    const c = b[j] as number;
    if (c < 0x20 || c === BACKSLASH || c >= 0x80) return false;
  }
  return true;
}

function skipSpace(b: Buffer, i: number): number {
  const n = b.length;
  while (i < n && isSpace(b[i] as number)) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
