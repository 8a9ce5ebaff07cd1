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
import { isCanonicalU64 } from '../core/decision/timestamp.ts';
import { pointerTokens } from '../core/json-pointer.ts';
import type { NonStringKey, RoutingSource } from '../core/routing.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const names = (list: string[]): Buffer[] => list.map((n) => Buffer.from(n, 'latin1'));
/** Top-level members read in the one pass: what sending needs, and the default key roots. */
const TOP_NAMES = ['record_id', 'timestamp_ns', 'ctx', 'entity_id', 'session_id', 'domain'];
const TOP = names(TOP_NAMES);
const RECORD_ID = 0;
const TIMESTAMP = 1;
const CTX = 2;
/** Members of ctx read in the same pass (the default strategies' second pointers). */
const CTX_NAMES = ['entity_id', 'session_id', 'domain'];
const CTX_MEMBERS = names(CTX_NAMES);

/** A pointer as the scan reads it: one of the spans it records, or tokens to walk. */
interface ScanPointer {
  span: number;
  tokens: Buffer[];
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
  p = { span, tokens: tokens.map((t) => Buffer.from(t)) };
  if (POINTERS.size < 64) POINTERS.set(pointer, p);
  return p;
}

/** A key the scan cannot read exactly: the caller takes the full path for the decision. */
export class UnreadableKey extends Error {}

/**
 * A decision's text as the client routes it: where its fields lie in its bytes, nothing copied.
 * `bytes` may be moved to another buffer holding the same text (a request body).
 */
export class ScannedDecision implements RoutingSource {
  bytes: Buffer;
  readonly recordId: string;
  readonly timestampNs: string;
  readonly #spans: number[];

  constructor(bytes: Buffer, spans: number[], recordId: string, timestampNs: string) {
    this.bytes = bytes;
    this.#spans = spans;
    this.recordId = recordId;
    this.timestampNs = timestampNs;
  }

  keyAt(pointer: string): string | undefined | NonStringKey {
    return keyAt(this.bytes, this.#spans, pointer);
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
  // Value spans, [start, end) per name, -1 when absent: TOP_NAMES, then CTX_NAMES.
  const spans = [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1];
  const end = scanMembers(b, skipSpace(b, 0), spans, 0, TOP);
  if (end < 0 || skipSpace(b, end) !== b.length) return undefined;
  const recordId = plainString(
    b,
    spans[2 * RECORD_ID] as number,
    spans[2 * RECORD_ID + 1] as number,
  );
  const ts = digits(b, spans[2 * TIMESTAMP] as number, spans[2 * TIMESTAMP + 1] as number);
  if (recordId === undefined || ts === undefined || !isCanonicalU64(ts)) return undefined;
  const ctx = spans[2 * CTX] as number;
  if (b[ctx] === OPEN_OBJECT && scanMembers(b, ctx, spans, TOP.length, CTX_MEMBERS) < 0) {
    return undefined;
  }
  return new ScannedDecision(b, spans, recordId, ts);
}

/** The value at `pointer`, as routing reads it; throws UnreadableKey when the scan cannot. */
function keyAt(b: Buffer, spans: number[], pointer: string): string | undefined | NonStringKey {
  const p = pointerOf(pointer);
  let start: number;
  let end: number;
  if (p.span >= 0) {
    start = spans[2 * p.span] as number;
    end = spans[2 * p.span + 1] as number;
  } else {
    // Another table's pointer: walked member by member (arrays are left to the full path).
    start = skipSpace(b, 0);
    end = -1;
    for (const token of p.tokens) {
      if (b[start] === OPEN_ARRAY) throw new UnreadableKey(pointer);
      if (b[start] !== OPEN_OBJECT) return undefined;
      const span = [-1, -1];
      if (scanMembers(b, start, span, 0, [token]) < 0) throw new UnreadableKey(pointer);
      [start, end] = span as [number, number];
      if (start < 0) return undefined;
    }
  }
  if (start < 0) return undefined;
  const c = b[start];
  if (c === QUOTE) {
    const text = plainString(b, start, end);
    if (text === undefined) throw new UnreadableKey(pointer);
    return text;
  }
  const kind =
    c === OPEN_OBJECT
      ? 'object'
      : c === OPEN_ARRAY
        ? 'array'
        : c === 0x6e
          ? 'null'
          : c === 0x74 || c === 0x66
            ? 'boolean'
            : 'number';
  return { nonString: kind };
}

/**
 * Walks the object at `i`, recording at spans[2 * (base + k)] the value span of each member
 * named names[k]; returns the index just past the object, or -1 when the object cannot be
 * followed, a member name has escapes or non-ASCII bytes (it could spell one of `names`), or a
 * wanted name occurs twice.
 */
function scanMembers(b: Buffer, i: number, spans: number[], base: number, want: Buffer[]): number {
  if (b[i] !== OPEN_OBJECT) return -1;
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_OBJECT) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const nameStart = i + 1;
    let nameEnd = nameStart;
    for (;;) {
      const c = b[nameEnd];
      if (c === QUOTE) break;
      if (c === undefined || c === BACKSLASH || c >= 0x80 || c < 0x20) return -1;
      nameEnd++;
    }
    i = skipSpace(b, nameEnd + 1);
    if (b[i] !== COLON) return -1;
    const valueStart = skipSpace(b, i + 1);
    const valueEnd = skipValue(b, valueStart);
    if (valueEnd < 0) return -1;
    const k = nameIndex(b, nameStart, nameEnd, want);
    if (k >= 0) {
      const at = 2 * (base + k);
      if ((spans[at] as number) >= 0) return -1;
      spans[at] = valueStart;
      spans[at + 1] = valueEnd;
    }
    i = skipSpace(b, valueEnd);
    if (b[i] === CLOSE_OBJECT) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipSpace(b, i + 1);
  }
}

function nameIndex(b: Buffer, s: number, e: number, want: Buffer[]): number {
  const n = e - s;
  for (let k = 0; k < want.length; k++) {
    const name = want[k] as Buffer;
    if (name.length !== n) continue;
    let j = 0;
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
  const c = b[i];
  if (c === QUOTE) return skipString(b, i + 1);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    for (let j = i; j < b.length; j++) {
      const x = b[j];
      if (x === QUOTE) {
        j = skipString(b, j + 1) - 1;
        if (j < 0) return -1;
      } else if (x === OPEN_OBJECT || x === OPEN_ARRAY) depth++;
      else if (x === CLOSE_OBJECT || x === CLOSE_ARRAY) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  let j = i;
  while (j < b.length) {
    const x = b[j] as number;
    if (x === COMMA || x === CLOSE_OBJECT || x === CLOSE_ARRAY || isSpace(x)) break;
    j++;
  }
  return j === i ? -1 : j;
}

/** Just past the closing quote of the string whose body starts at i; -1 if it never closes. */
function skipString(b: Buffer, i: number): number {
  for (;;) {
    const q = b.indexOf(QUOTE, i);
    if (q < 0) return -1;
    // Escaped when preceded by an odd number of backslashes.
    let k = q - 1;
    while (k >= i && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/** The text of the string value [s, e) when it is printable ASCII without escapes. */
function plainString(b: Buffer, s: number, e: number): string | undefined {
  if (s < 0 || b[s] !== QUOTE || e - s < 2) return undefined;
  for (let j = s + 1; j < e - 1; j++) {
    const c = b[j] as number;
    if (c < 0x20 || c === BACKSLASH || c >= 0x80) return undefined;
  }
  return b.toString('latin1', s + 1, e - 1);
}

/** The number value [s, e) when it is plain decimal digits. */
function digits(b: Buffer, s: number, e: number): string | undefined {
  if (s < 0 || e <= s) return undefined;
  for (let j = s; j < e; j++) {
    const c = b[j] as number;
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return b.toString('latin1', s, e);
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isSpace(b[i] as number)) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
