// The leaf envelope: what a shard stores and hashes (BLAKE3(0x00 || envelope)) for each record.
//
//   canonical JSON of {decision, routing: {epoch, key, pointer, strategy}, seq, shard, timestamp_ns}
//
// The decision is already canonical (prepareDecision), so the encoder splices fixed prefix and
// suffix bytes around it instead of re-serializing; tests prove the result equals RFC 8785 of
// the whole object.
import { FieldError } from './errors.ts';
import {
  bytesEqual,
  copyBytes,
  decimalAt,
  decimalEnd,
  hasBytesAt,
  rangesEqual,
  utf8,
  writeDecimal,
} from './bytes.ts';
import { isCanonicalU64 } from './decision/timestamp.ts';
import { canonicalJson, canonicalString, CanonicalJsonError } from './jcs.ts';
import { JsonTextError, parseJsonExact } from './json-exact.ts';
import { isIndex, isJsonObject } from './json-shape.ts';

export interface EnvelopeRouting {
  /** Routing epoch in force at the decision's timestamp. */
  epoch: number;
  /**
   * The routing key the strategy used (the string at `pointer`, or the time window index);
   * null when domain-partitioned used its default shard for a decision without a domain.
   */
  key: string | null;
  /** The JSON pointer (into the decision) that gave the key; null with a null key. */
  pointer: string | null;
  strategy: string;
}

export interface EnvelopeMeta {
  shard: number;
  /** Leaf index in the shard's log. */
  seq: number;
  /** The shard's accept time, nanoseconds since the Unix epoch, canonical decimal string. */
  timestamp_ns: string;
  routing: EnvelopeRouting;
}

export interface DecodedEnvelope {
  meta: EnvelopeMeta;
  /** The decision as parsed from the envelope (not re-validated here). */
  decision: unknown;
  /** The canonical decision bytes exactly as they appear inside the envelope. */
  decisionBytes: Uint8Array;
}

export type EnvelopeErrorCode = 'invalid_meta' | 'malformed' | 'not_canonical';

export class EnvelopeError extends FieldError<EnvelopeErrorCode> {
  override name = 'EnvelopeError';
}

const PREFIX = utf8.encode('{"decision":');
const encoder = new TextEncoder();

/**
 * Whether a stored (canonical) envelope holds exactly the canonical decision `decision`: its
 * bytes start with `{"decision":` + decision + `,`. No parse: one JSON object cannot be a
 * proper prefix of another, so the first object after the prefix is the stored decision.
 */
export function envelopeHoldsDecision(envelope: Uint8Array, decision: Uint8Array): boolean {
  const end = PREFIX.length + decision.length;
  if (envelope.length <= end || envelope[end] !== 0x2c) return false;
  return (
    rangesEqual(envelope, 0, PREFIX.length, PREFIX, 0, PREFIX.length) &&
    rangesEqual(envelope, PREFIX.length, end, decision, 0, decision.length)
  );
}

/** Envelope bytes: `{"decision":` + canonicalDecision + the canonical rest of the envelope. */
export function encodeEnvelope(meta: EnvelopeMeta, canonicalDecision: Uint8Array): Uint8Array {
  const out = new Uint8Array(envelopeMaxLength(meta, canonicalDecision.length));
  return out.slice(0, encodeEnvelopeInto(meta, canonicalDecision, out, 0));
}

// The fixed ASCII pieces of the suffix, for the allocation-free encoder below.
const ascii = (s: string): Uint8Array => utf8.encode(s);
const ROUTING_OPEN = ascii('{"epoch":');
const KEY = ascii(',"key":');
const POINTER = ascii(',"pointer":');
const STRATEGY = ascii(',"strategy":');
const NULL = ascii('null');
const SHARD = ascii(',"shard":');
const TIMESTAMP = ascii(',"timestamp_ns":"');
const END = ascii('"}');
const ROUTING = ascii(',"routing":');
const SEQ_MEMBER = ascii(',"seq":');
/** The envelope's fixed pieces around the decision and the routing object. */
const FIXED =
  PREFIX.length + ROUTING.length + SEQ_MEMBER.length + SHARD.length + TIMESTAMP.length + END.length;
/** Digits of the largest safe integer (epoch, seq and shard are safe non-negative integers). */
const MAX_INT_DIGITS = 16;
/** Bytes of one UTF-16 unit in a JSON string at most (`\u001f`; a UTF-8 sequence is <= 3 per unit). */
const MAX_BYTES_PER_UNIT = 6;

/**
 * An upper bound on the length of the envelope of `meta` around a canonical decision of
 * `decisionLength` bytes (any seq): the room `encodeEnvelopeInto` needs. O(1).
 */
export function envelopeMaxLength(meta: EnvelopeMeta, decisionLength: number): number {
  return (
    FIXED +
    decisionLength +
    routingJsonMaxLength(meta.routing) +
    2 * MAX_INT_DIGITS +
    meta.timestamp_ns.length
  );
}

/**
 * Writes the envelope bytes (exactly `encodeEnvelope(meta, canonicalDecision)`) into `target`
 * at `offset` and returns their length, without allocating for the common case of routing
 * keys that need no JSON escape. `target` must have `envelopeMaxLength` bytes of room.
 */
export function encodeEnvelopeInto(
  meta: EnvelopeMeta,
  canonicalDecision: Uint8Array,
  target: Uint8Array,
  offset: number,
): number {
  checkMeta(meta);
  checkRoom(target, offset, envelopeMaxLength(meta, canonicalDecision.length));
  const r = meta.routing;
  let at = writeHead(target, offset, canonicalDecision, r, meta.seq);
  at = writeTail(target, at, meta.shard, meta.timestamp_ns);
  return at - offset;
}

/**
 * The envelopes of one group of decisions that share shard and timestamp_ns (checked once, the
 * fixed tail encoded once); each entry brings its own routing (rendered) and seq.
 * `encodeRoutedInto` writes exactly `encodeEnvelope` bytes, copying the decision and the
 * routing from where they lie in larger buffers.
 */
export class EnvelopeTemplate {
  readonly shard: number;
  readonly timestampNs: string;
  // `,"shard":N,"timestamp_ns":"T"}` (empty when #invalid says why there is none).
  readonly #tail: Uint8Array;
  readonly #invalid: EnvelopeError | undefined;
  readonly #timestampLength: number;

  constructor(shard: number, timestampNs: string) {
    this.shard = shard;
    this.timestampNs = timestampNs;
    this.#timestampLength = typeof timestampNs === 'string' ? timestampNs.length : 0;
    this.#invalid = !isIndex(shard)
      ? new EnvelopeError('invalid_meta', '$.shard', 'must be a non-negative integer')
      : !isTimestamp(timestampNs)
        ? new EnvelopeError('invalid_meta', '$.timestamp_ns', TIMESTAMP_RULE)
        : undefined;
    const tail = new Uint8Array(
      this.#invalid === undefined
        ? SHARD.length + MAX_INT_DIGITS + TIMESTAMP.length + timestampNs.length + END.length
        : 0,
    );
    this.#tail =
      this.#invalid === undefined ? tail.slice(0, writeTail(tail, 0, shard, timestampNs)) : tail;
  }

  /** The room `encodeRoutedInto` needs for a decision and a rendered routing of these lengths. */
  maxRoutedLength(routingLength: number, decisionLength: number): number {
    return FIXED + routingLength + decisionLength + 2 * MAX_INT_DIGITS + this.#timestampLength;
  }

  /**
   * Writes the envelope of the canonical decision `source[start..end)` with this seq and the
   * routing given as bytes, `routing[routingStart..routingEnd)`: `routingJson` of it (UTF-8), as
   * the prepare step renders it once per decision. Writes exactly `encodeEnvelope` bytes,
   * copying without allocating, into `target` at `offset`; returns the length. Throws
   * EnvelopeError for metadata with no canonical form, RangeError for a range outside its
   * buffer or without `maxRoutedLength` bytes of room.
   */
  encodeRoutedInto(
    routing: Uint8Array,
    routingStart: number,
    routingEnd: number,
    seq: number,
    source: Uint8Array,
    start: number,
    end: number,
    target: Uint8Array,
    offset: number,
  ): number {
    if (this.#invalid !== undefined) throw this.#invalid;
    if (!isIndex(seq)) bad('$.seq', 'must be a non-negative integer');
    if (!(start >= 0 && start <= end && end <= source.length)) {
      throw new RangeError(`no decision at [${start}, ${end})`);
    }
    if (!(routingStart >= 0 && routingStart < routingEnd && routingEnd <= routing.length)) {
      throw new RangeError(`no routing at [${routingStart}, ${routingEnd})`);
    }
    checkRoom(target, offset, this.maxRoutedLength(routingEnd - routingStart, end - start));
    let at = offset;
    target.set(PREFIX, at);
    at = copyBytes(source, start, end, target, at + PREFIX.length);
    target.set(ROUTING, at);
    at = copyBytes(routing, routingStart, routingEnd, target, at + ROUTING.length);
    target.set(SEQ_MEMBER, at);
    at = writeDecimal(target, at + SEQ_MEMBER.length, seq);
    target.set(this.#tail, at);
    return at + this.#tail.length - offset;
  }
}

function checkRoom(target: Uint8Array, offset: number, room: number): void {
  if (!(offset >= 0 && target.length - offset >= room)) {
    throw new RangeError(`no room for the envelope at offset ${offset}`);
  }
}

/** `{"decision":` + decision + routing + seq (everything before `,"shard":`). */
function writeHead(
  target: Uint8Array,
  offset: number,
  decision: Uint8Array,
  routing: EnvelopeRouting,
  seq: number,
): number {
  target.set(PREFIX, offset);
  const at = offset + PREFIX.length;
  target.set(decision, at);
  return writeRest(target, at + decision.length, routing, seq);
}

/** The routing member and seq after the decision. */
function writeRest(
  target: Uint8Array,
  offset: number,
  routing: EnvelopeRouting,
  seq: number,
): number {
  target.set(ROUTING, offset);
  let at = writeRoutingJson(routing, target, offset + ROUTING.length);
  target.set(SEQ_MEMBER, at);
  at = writeDecimal(target, at + SEQ_MEMBER.length, seq);
  return at;
}

/** `,"shard":N,"timestamp_ns":"T"}`. */
function writeTail(target: Uint8Array, offset: number, shard: number, timestampNs: string): number {
  target.set(SHARD, offset);
  let at = writeDecimal(target, offset + SHARD.length, shard);
  target.set(TIMESTAMP, at);
  at = writeAscii(target, at + TIMESTAMP.length, timestampNs);
  target.set(END, at);
  return at + END.length;
}

function writeAscii(target: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) target[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/** The canonical JSON string literal of `s`; printable ASCII without `"` or `\\` is copied. */
function writeJsonString(target: Uint8Array, at: number, s: string, path: string): number {
  target[at] = 0x22;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      // Needs escapes or UTF-8: rewrite the literal from its start.
      const { written } = encoder.encodeInto(canonicalString(s, path), target.subarray(at));
      return at + written;
    }
    target[at + 1 + i] = c;
  }
  target[at + 1 + s.length] = 0x22;
  return at + s.length + 2;
}

function writeJsonStringOrNull(
  target: Uint8Array,
  at: number,
  s: string | null,
  path: string,
): number {
  if (s !== null) return writeJsonString(target, at, s, path);
  target.set(NULL, at);
  return at + NULL.length;
}

/**
 * The canonical JSON of a routing object, `{"epoch":E,"key":K,"pointer":P,"strategy":S}`: the envelope's
 * `routing` member and the receipt's. `writeRoutingJson` renders it where decisions are
 * prepared; the bytes are then spliced into envelopes (`EnvelopeTemplate.encodeRoutedInto`)
 * and receipts.
 */
export function routingJson(routing: EnvelopeRouting): string {
  const bytes = new Uint8Array(routingJsonMaxLength(routing));
  return utf8.decode(bytes.subarray(0, writeRoutingJson(routing, bytes, 0)));
}

/** The most bytes `writeRoutingJson` writes for `routing`. */
export function routingJsonMaxLength(routing: EnvelopeRouting): number {
  return (
    ROUTING_OPEN.length +
    MAX_INT_DIGITS +
    KEY.length +
    POINTER.length +
    STRATEGY.length +
    MAX_BYTES_PER_UNIT *
      ((routing.key?.length ?? 2) + (routing.pointer?.length ?? 2) + routing.strategy.length) +
    7
  );
}

/**
 * Writes the UTF-8 of `routingJson(routing)` into `target` at `at` (which needs
 * `routingJsonMaxLength` bytes of room, unchecked) and returns the offset after it. Throws
 * EnvelopeError for a routing with no canonical form.
 */
export function writeRoutingJson(routing: EnvelopeRouting, target: Uint8Array, at: number): number {
  checkRouting(routing);
  target.set(ROUTING_OPEN, at);
  at = writeDecimal(target, at + ROUTING_OPEN.length, routing.epoch);
  target.set(KEY, at);
  at = writeJsonStringOrNull(target, at + KEY.length, routing.key, '$.routing.key');
  target.set(POINTER, at);
  at = writeJsonStringOrNull(target, at + POINTER.length, routing.pointer, '$.routing.pointer');
  target.set(STRATEGY, at);
  at = writeJsonString(target, at + STRATEGY.length, routing.strategy, '$.routing.strategy');
  target[at] = 0x7d; // }
  return at + 1;
}

/**
 * The reading side of `writeRoutingJson`, for a run of routings (a batch answer's receipts):
 * `read(b, at)` is the routing object at b[at..] when its bytes are exactly what
 * `writeRoutingJson` writes with no escape in them, and sets `end` after it; undefined for any
 * other bytes (the caller parses them in full). What it reads, `JSON.parse` reads as the same
 * values. Routings in a row mostly share pointer and strategy: the bytes from `,"pointer":` on
 * are compared with the last ones read, whose strings are then shared.
 */
export class RoutingJsonReader {
  /** Where the last routing read ends. */
  end = 0;
  /** `,"pointer":P,"strategy":S}` of the last routing read, and P and S. */
  #tail: Uint8Array | undefined;
  #pointer: string | null = null;
  #strategy = '';

  read(b: Buffer, at: number): EnvelopeRouting | undefined {
    if (!hasBytesAt(b, at, ROUTING_OPEN)) return undefined;
    at += ROUTING_OPEN.length;
    const digits = decimalEnd(b, at);
    if (digits < 0 || !hasBytesAt(b, digits, KEY)) return undefined;
    const epoch = decimalAt(b, at, digits);
    const key = readPlainStringOrNull(b, digits + KEY.length);
    if (key === undefined) return undefined;
    at = stringEnd;
    const tail = this.#tail;
    if (tail !== undefined && hasBytesAt(b, at, tail)) at += tail.length;
    else {
      at = this.#readTail(b, at);
      if (at < 0) return undefined;
    }
    // checkRouting's rule: a null key comes with a null pointer, and only with one.
    if ((key === null) !== (this.#pointer === null)) return undefined;
    this.end = at;
    return { epoch, key, pointer: this.#pointer, strategy: this.#strategy };
  }

  /** Reads `,"pointer":P,"strategy":S}` at b[at..] and keeps it; the offset after it, or -1. */
  #readTail(b: Buffer, at: number): number {
    const start = at;
    if (!hasBytesAt(b, at, POINTER)) return -1;
    const pointer = readPlainStringOrNull(b, at + POINTER.length);
    if (pointer === undefined) return -1;
    at = stringEnd;
    if (!hasBytesAt(b, at, STRATEGY)) return -1;
    const strategy = readPlainString(b, at + STRATEGY.length);
    if (strategy === undefined || strategy.length === 0 || b[stringEnd] !== 0x7d) return -1;
    at = stringEnd + 1;
    // A copy: a Buffer's slice is a view, and the next body may reuse this one's memory.
    this.#tail = new Uint8Array(b.subarray(start, at));
    this.#pointer = pointer;
    this.#strategy = strategy;
    return at;
  }
}

/**
 * The JSON string literal at b[at..] when it has no escape (what `writeJsonString` writes for a
 * string that needs none), and sets `stringEnd` after it; undefined for anything else, and for
 * bytes that are not UTF-8 (`JSON.parse` of the text would read U+FFFD for them).
 */
function readPlainString(b: Buffer, at: number): string | undefined {
  if (b[at] !== 0x22) return undefined;
  let k = at + 1;
  let ascii = true;
  for (;;) {
    const c = b[k];
    if (c === undefined) return undefined;
    if (c === 0x22) break;
    if (c < 0x80) {
      if (ESCAPED[c] === 1) return undefined;
    } else ascii = false;
    k++;
  }
  stringEnd = k + 1;
  // Only printable ASCII: its Latin-1 decoding is its UTF-8 one, and a cheaper call.
  if (ascii) return b.toString('latin1', at + 1, k);
  const text = b.toString('utf8', at + 1, k);
  return text.includes('\ufffd') ? undefined : text;
}

/** `readPlainString`, or null for `null` (the reading side of `writeJsonStringOrNull`). */
function readPlainStringOrNull(b: Buffer, at: number): string | null | undefined {
  if (!hasBytesAt(b, at, NULL)) return readPlainString(b, at);
  stringEnd = at + NULL.length;
  return null;
}

/** Where the string `readPlainStringOrNull` or `readPlainString` read last ends. */
let stringEnd = 0;

/**
 * Where the characters of `s` at b[at..] end, when they are written as `writeJsonString` writes
 * them with no escape (printable ASCII but `"` and `\` as they are, the rest as UTF-8), or -1:
 * other bytes, or an `s` that needs an escape (controls, `"`, `\`, a lone surrogate), which is
 * not compared. A client compares a receipt's record_id with the one it sent this way.
 */
export function matchJsonChars(b: Uint8Array, at: number, s: string): number {
  let k = at;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (b[k] !== c || ESCAPED[c] === 1) return -1;
      k += 1;
    } else if (c < 0x800) {
      if (b[k] !== (0xc0 | (c >> 6)) || b[k + 1] !== (0x80 | (c & 0x3f))) return -1;
      k += 2;
    } else if (c < 0xd800 || c > 0xdfff) {
      if (
        b[k] !== (0xe0 | (c >> 12)) ||
        b[k + 1] !== (0x80 | ((c >> 6) & 0x3f)) ||
        b[k + 2] !== (0x80 | (c & 0x3f))
      ) {
        return -1;
      }
      k += 3;
    } else {
      const d = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) return -1;
      const p = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      if (
        b[k] !== (0xf0 | (p >> 18)) ||
        b[k + 1] !== (0x80 | ((p >> 12) & 0x3f)) ||
        b[k + 2] !== (0x80 | ((p >> 6) & 0x3f)) ||
        b[k + 3] !== (0x80 | (p & 0x3f))
      ) {
        return -1;
      }
      k += 4;
      i++;
    }
  }
  return k;
}

/** 1 for the ASCII characters a JSON string holds only as escapes: controls, `"` and `\\`. */
const ESCAPED = new Uint8Array(0x80);
ESCAPED.fill(1, 0, 0x20);
ESCAPED[0x22] = 1;
ESCAPED[0x5c] = 1;

function checkMeta(meta: EnvelopeMeta): void {
  if (!isIndex(meta.shard)) bad('$.shard', 'must be a non-negative integer');
  if (!isIndex(meta.seq)) bad('$.seq', 'must be a non-negative integer');
  if (!isTimestamp(meta.timestamp_ns)) bad('$.timestamp_ns', TIMESTAMP_RULE);
  checkRouting(meta.routing as EnvelopeRouting | undefined);
}

const TIMESTAMP_RULE = 'must be a canonical u64 decimal string';

function isTimestamp(timestampNs: unknown): boolean {
  return typeof timestampNs === 'string' && isCanonicalU64(timestampNs);
}

function checkRouting(r: EnvelopeRouting | undefined): void {
  if (typeof r !== 'object' || r === null) bad('$.routing', 'must be an object');
  if (!isIndex(r.epoch)) bad('$.routing.epoch', 'must be a non-negative integer');
  if (typeof r.key !== 'string' && r.key !== null) bad('$.routing.key', 'must be a string or null');
  if (typeof r.pointer !== 'string' && r.pointer !== null) {
    bad('$.routing.pointer', 'must be a string or null');
  }
  if ((r.key === null) !== (r.pointer === null)) {
    bad('$.routing.pointer', 'is null exactly when the key is null');
  }
  if (typeof r.strategy !== 'string' || r.strategy.length === 0) {
    bad('$.routing.strategy', 'must be a non-empty string');
  }
}

function bad(path: string, message: string): never {
  throw new EnvelopeError('invalid_meta', path, message);
}

const ENVELOPE_MEMBERS = ['decision', 'routing', 'seq', 'shard', 'timestamp_ns'];
const ROUTING_MEMBERS = ['epoch', 'key', 'pointer', 'strategy'];

/**
 * Parses envelope bytes strictly: they must be exactly the canonical encoding of a well-formed
 * envelope (so one record has one byte string, and one leaf hash).
 */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  let value: unknown;
  try {
    // Exactly: a decision's integers beyond 2^53 keep their digits, so the bytes re-encode.
    value = parseJsonExact(utf8.decode(bytes));
  } catch (err) {
    if (!(err instanceof TypeError) && !(err instanceof JsonTextError)) throw err;
    throw new EnvelopeError('malformed', '$', `not UTF-8 JSON: ${err.message}`);
  }
  if (!isJsonObject(value)) throw new EnvelopeError('malformed', '$', 'envelope must be an object');
  expectMembers(value, ENVELOPE_MEMBERS, '$');
  const routing = value.routing;
  if (!isJsonObject(routing))
    throw new EnvelopeError('malformed', '$.routing', 'must be an object');
  expectMembers(routing, ROUTING_MEMBERS, '$.routing');
  const meta = {
    shard: value.shard,
    seq: value.seq,
    timestamp_ns: value.timestamp_ns,
    routing: {
      epoch: routing.epoch,
      key: routing.key,
      pointer: routing.pointer,
      strategy: routing.strategy,
    },
  } as EnvelopeMeta;
  try {
    checkMeta(meta);
  } catch (err) {
    if (err instanceof EnvelopeError) throw new EnvelopeError('malformed', err.path, err.message);
    throw err;
  }
  let decisionText: string;
  try {
    decisionText = canonicalJson(value.decision);
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    throw new EnvelopeError('malformed', err.path.replace('$', '$.decision'), err.detail);
  }
  const decisionBytes = utf8.encode(decisionText);
  if (!bytesEqual(encodeEnvelope(meta, decisionBytes), bytes)) {
    throw new EnvelopeError('not_canonical', '$', 'bytes are not the canonical envelope encoding');
  }
  return { meta, decision: value.decision, decisionBytes };
}

function expectMembers(obj: Record<string, unknown>, names: string[], path: string): void {
  const keys = Object.keys(obj);
  for (const name of names) {
    if (!(name in obj)) throw new EnvelopeError('malformed', `${path}.${name}`, 'is required');
  }
  if (keys.length !== names.length) {
    const extra = keys.find((k) => !names.includes(k));
    throw new EnvelopeError('malformed', `${path}.${extra}`, 'is not an envelope field');
  }
}
