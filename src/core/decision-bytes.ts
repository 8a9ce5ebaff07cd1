// Accepts a decision straight from its bytes when they are already its RFC 8785 canonical form,
// without parsing it into objects: ingest's hot path. Producers that write canonical JSON (as
// `agdr submit` does) send exactly such lines, and for them this one pass replaces UTF-8
// decoding, JSON.parse, the field checks and the canonical-form check, and leaves no garbage
// behind but one small object; each field's string is decoded only when it is read (routing
// reads the timestamp and one key field).
//
// It only ever accepts: whenever it returns a value, the full path (`parseDecisionLine`) accepts
// the same bytes as valid, keeps them as the canonical bytes and yields the same fields. Anything
// it does not handle (a problem of any kind, a form it does not check, escapes in the fields it
// returns) makes it return undefined, and the caller takes the full path, which reports problems.
// Tests check this agreement on generated and mutated decisions.
import {
  DECISION_MEMBERS,
  DELTA_NODE_MEMBERS,
  PPP_MEMBERS,
  SPEC_VERSION,
} from './decision/types.ts';
import type { DecisionLimits } from './decision/limits.ts';
import { isAfter, scanPlainKey, scanString, scanValue } from './jcs-bytes.ts';

/** The fields ingest needs from a decision: its idempotency key and its routing fields. */
export interface AcceptedDecision {
  /** Where record_id's text (ASCII, no escapes) lies in the bytes given: [start, end). */
  readonly recordIdStart: number;
  readonly recordIdEnd: number;
  readonly record_id: string;
  readonly timestamp_ns: string;
  readonly entity_id: string;
  readonly session_id: string;
  readonly domain: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** A member's name as it starts the member: `"name":`. */
const member = (name: string): Uint8Array => ascii(`"${name}":`);

// Member names as `"name":` in canonical (byte) order; a member's index is its position in that
// order, so strictly increasing indices mean canonical order without duplicates.
const TOP = DECISION_MEMBERS.map(member);
const top = (name: (typeof DECISION_MEMBERS)[number]): number => DECISION_MEMBERS.indexOf(name);
const CTX = top('ctx');
const DOMAIN = top('domain');
const ENTITY = top('entity_id');
const EXT = top('ext');
const CHAIN = top('human_delta_chain');
const MODEL = top('model_id');
const OUTPUT = top('output');
const PPP = top('ppp_triplet');
const TRACE = top('reasoning_trace');
const RECORD = top('record_id');
const SESSION = top('session_id');
const VERSION = top('spec_version');
const TIME = top('timestamp_ns');
/** Every top-level member but `ext`. */
const REQUIRED_TOP = (1 << TOP.length) - 1 - (1 << EXT);

const PPP_NAMES = PPP_MEMBERS.map(member);

const NODE = DELTA_NODE_MEMBERS.map(member);
const node = (name: (typeof DELTA_NODE_MEMBERS)[number]): number =>
  DELTA_NODE_MEMBERS.indexOf(name);
const N_ACTOR = node('actor');
const N_AUTHORITY = node('authority_ref');
const N_EXT = node('ext');
const N_KIND = node('kind');
const N_MODIFICATION = node('modification');
const N_NOTE = node('note');
const N_OUTCOME = node('outcome');
const N_SEQUENCE = node('sequence');
const N_SIGNATURE = node('signature');
const N_TIME = node('timestamp_ns');

// Kinds and FOI outcomes, as their quoted JSON strings.
const KINDS = ['"delta"', '"escalation"', '"halt"', '"foi"', '"autonomous"'].map(ascii);
const K_DELTA = 0;
const K_ESCALATION = 1;
const K_HALT = 2;
const K_FOI = 3;
const K_AUTONOMOUS = 4;
const OUTCOMES = ['"affirmed"', '"modified"', '"halted"'].map(ascii);
const O_MODIFIED = 1;

const VERSION_VALUE = ascii(JSON.stringify(SPEC_VERSION));
const ACTOR_NAME = ascii('name');
const ACTOR_ROLE = ascii('role');
const U64_MAX = ascii('18446744073709551615');
/** Plain integers of up to 15 digits are safe integers (as jcs-bytes.ts relies on too). */
const MAX_SEQUENCE_DIGITS = 15;

/** Bytes [s, e) of b equal `word`. */
function equals(b: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[s + k] !== word[k]) return false;
  return true;
}

/** Index in `names` (from `from` on) of the `"name":` starting at i, or -1. */
function memberAt(b: Uint8Array, i: number, names: Uint8Array[], from: number): number {
  for (let k = from; k < names.length; k++) {
    const name = names[k] as Uint8Array;
    let j = 0;
    while (j < name.length && b[i + j] === name[j]) j++;
    if (j === name.length) return k;
  }
  return -1;
}

/** Index in `words` of the value token [s, e), or -1. */
function wordIndex(b: Uint8Array, s: number, e: number, words: Uint8Array[]): number {
  for (let k = 0; k < words.length; k++) if (equals(b, s, e, words[k] as Uint8Array)) return k;
  return -1;
}

/**
 * UTF-16 length of the canonical string body [s, e) (between its quotes, already checked): one
 * unit per escape and per UTF-8 sequence, two for a 4-byte sequence (a surrogate pair).
 */
function utf16Length(b: Uint8Array, s: number, e: number): number {
  let units = 0;
  for (let i = s; i < e; units++) {
    const c = b[i] as number;
    if (c === BACKSLASH) i += b[i + 1] === 0x75 ? 6 : 2;
    else if (c < 0x80) i++;
    else if (c < 0xe0) i += 2;
    else if (c < 0xf0) i += 3;
    else {
      i += 4;
      units++;
    }
  }
  return units;
}

/** A string value at i holding 1..max UTF-16 units (checkText); the index after it, or -1. */
function scanText(b: Uint8Array, i: number, max: number): number {
  if (b[i] !== QUOTE) return -1;
  const end = scanString(b, i + 1);
  if (end < 0 || end - 1 === i + 1) return -1;
  // Each unit takes at least one byte, so a short enough string needs no counting.
  if (end - i - 2 > max && utf16Length(b, i + 1, end - 1) > max) return -1;
  return end;
}

/** A canonical u64 decimal string at i (isCanonicalU64); the index after it, or -1. */
function scanU64(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  let k = i + 1;
  while (b[k] !== QUOTE) {
    const c = b[k];
    if (c === undefined || c < ZERO || c > NINE) return -1;
    k++;
  }
  const digits = k - i - 1;
  if (digits === 0 || digits > 20 || (digits > 1 && b[i + 1] === ZERO)) return -1;
  if (digits === 20 && compareDigits(b, i + 1, U64_MAX, 0, 20) > 0) return -1;
  return k + 1;
}

/** Compares equal-length digit runs a[as..] and w[ws..] of length n. */
function compareDigits(a: Uint8Array, as: number, w: Uint8Array, ws: number, n: number): number {
  for (let k = 0; k < n; k++) {
    const d = (a[as + k] as number) - (w[ws + k] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** Numeric order of two canonical u64 strings [s1, e1) and [s2, e2) of b (compareU64Text). */
function compareU64(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): number {
  if (e1 - s1 !== e2 - s2) return e1 - s1 - (e2 - s2);
  return compareDigits(b, s1, b, s2, e1 - s1);
}

/** Whether the string body [s, e) has no escapes (its bytes are then its text). */
function isPlain(b: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (b[k] === BACKSLASH) return false;
  return true;
}

/**
 * The fields of an accepted decision, each decoded from the string body it lies in when first
 * read. The bytes are well-formed UTF-8 without escapes (checked before this is made); Buffer's
 * decoder is the fastest for short strings. The caller keeps the bytes unchanged while reading.
 */
class AcceptedFields implements AcceptedDecision {
  readonly #b: Buffer;
  /** Start and end of record_id, timestamp_ns, entity_id, session_id, domain, in that order. */
  readonly #spans: readonly number[];

  constructor(b: Uint8Array, spans: readonly number[]) {
    this.#b = b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.#spans = spans;
  }

  get recordIdStart(): number {
    return this.#spans[0] as number;
  }

  get recordIdEnd(): number {
    return this.#spans[1] as number;
  }

  #text(field: number): string {
    return this.#b.toString('utf8', this.#spans[2 * field], this.#spans[2 * field + 1]);
  }

  get record_id(): string {
    return this.#text(0);
  }

  get timestamp_ns(): string {
    return this.#text(1);
  }

  get entity_id(): string {
    return this.#text(2);
  }

  get session_id(): string {
    return this.#text(3);
  }

  get domain(): string {
    return this.#text(4);
  }
}

/** record_id's pattern, [A-Za-z0-9._:-]+. */
function isRecordIdBody(b: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; k++) {
    const c = b[k] as number;
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= ZERO && c <= NINE) ||
      c === 0x2e ||
      c === 0x5f ||
      c === 0x3a ||
      c === 0x2d;
    if (!ok) return false;
  }
  return true;
}

/**
 * The decision whose canonical bytes `b` are, when `parseDecisionLine(b, limits)` accepts them
 * unchanged and every field returned was written without escapes; undefined otherwise (take the
 * full path). `b` is one NDJSON line without its line end.
 */
export function acceptCanonicalDecision(
  b: Uint8Array,
  limits: DecisionLimits,
): AcceptedDecision | undefined {
  if (b.length > limits.maxInputBytes || b.length > limits.maxRecordBytes) return undefined;
  if (b[0] !== OPEN_OBJECT || limits.maxDepth <= 0) return undefined;
  const id = limits.maxIdLength;
  let seen = 0;
  let next = 0;
  // Value spans (between the quotes) of the fields returned.
  let recordS = 0;
  let recordE = 0;
  let timeS = 0;
  let timeE = 0;
  let entityS = 0;
  let entityE = 0;
  let sessionS = 0;
  let sessionE = 0;
  let domainS = 0;
  let domainE = 0;
  let i = 1;
  for (;;) {
    // Known names in increasing order: canonical order, no duplicates, nothing unknown.
    const m = memberAt(b, i, TOP, next);
    if (m < 0) return undefined;
    next = m + 1;
    seen |= 1 << m;
    const v = i + (TOP[m] as Uint8Array).length;
    let end: number;
    switch (m) {
      case RECORD:
        end = scanText(b, v, id);
        if (end < 0 || !isRecordIdBody(b, v + 1, end - 1)) return undefined;
        recordS = v + 1;
        recordE = end - 1;
        break;
      case VERSION:
        end = v + VERSION_VALUE.length;
        if (!equals(b, v, end, VERSION_VALUE)) return undefined;
        break;
      case CTX:
      case EXT:
        end = b[v] === OPEN_OBJECT ? scanValue(b, v, 1, limits.maxDepth) : -1;
        break;
      case MODEL:
        end = scanText(b, v, id);
        break;
      case TRACE:
        end = b[v] === QUOTE || b[v] === OPEN_ARRAY ? scanValue(b, v, 1, limits.maxDepth) : -1;
        break;
      case OUTPUT:
        end = scanValue(b, v, 1, limits.maxDepth);
        break;
      case PPP:
        end = scanPpp(b, v, limits);
        break;
      case CHAIN:
        end = scanChain(b, v, limits);
        break;
      case TIME:
        end = scanU64(b, v);
        timeS = v + 1;
        timeE = end - 1;
        break;
      case ENTITY:
        end = scanText(b, v, id);
        entityS = v + 1;
        entityE = end - 1;
        break;
      case SESSION:
        end = scanText(b, v, id);
        sessionS = v + 1;
        sessionE = end - 1;
        break;
      case DOMAIN:
        end = scanText(b, v, id);
        domainS = v + 1;
        domainE = end - 1;
        break;
      default:
        return undefined; // memberAt returns indices of TOP only
    }
    if (end < 0) return undefined;
    if (b[end] === CLOSE_OBJECT) {
      if (end + 1 !== b.length) return undefined;
      break;
    }
    if (b[end] !== COMMA) return undefined;
    i = end + 1;
  }
  if ((seen & REQUIRED_TOP) !== REQUIRED_TOP) return undefined;
  if (
    !isPlain(b, entityS, entityE) ||
    !isPlain(b, sessionS, sessionE) ||
    !isPlain(b, domainS, domainE)
  ) {
    return undefined;
  }
  // record_id and timestamp_ns cannot hold a backslash (their pattern; digits only).
  return new AcceptedFields(b, [
    recordS,
    recordE,
    timeS,
    timeE,
    entityS,
    entityE,
    sessionS,
    sessionE,
    domainS,
    domainE,
  ]);
}

/** ppp_triplet at i: exactly provenance, place and purpose, each text; index after it or -1. */
function scanPpp(b: Uint8Array, i: number, limits: DecisionLimits): number {
  if (b[i] !== OPEN_OBJECT || limits.maxDepth <= 1) return -1;
  i++;
  for (let m = 0; m < PPP_NAMES.length; m++) {
    if (memberAt(b, i, PPP_NAMES, m) !== m) return -1;
    i = scanText(b, i + (PPP_NAMES[m] as Uint8Array).length, limits.maxTextLength);
    if (i < 0) return -1;
    if (b[i] !== (m === PPP_NAMES.length - 1 ? CLOSE_OBJECT : COMMA)) return -1;
    i++;
  }
  return i;
}

/** human_delta_chain at i, every node and order rule of chain.ts; index after it or -1. */
function scanChain(b: Uint8Array, i: number, limits: DecisionLimits): number {
  if (b[i] !== OPEN_ARRAY || limits.maxDepth <= 1) return -1;
  if (b[i + 1] === CLOSE_ARRAY) return -1;
  let count = 0;
  let prevKind = -1;
  let prevSequence = -1;
  let prevTimeS = -1;
  let prevTimeE = -1;
  i++;
  for (;;) {
    if (++count > limits.maxChainLength) return -1;
    // A node's fields, recorded as it is scanned.
    let kind = -1;
    let sequence = -1;
    let timeS = -1;
    let timeE = -1;
    let hasActor = false;
    let hasAuthority = false;
    let hasModification = false;
    let outcome = -1;
    if (b[i] !== OPEN_OBJECT || limits.maxDepth <= 2) return -1;
    if (b[i + 1] === CLOSE_OBJECT) return -1;
    let next = 0;
    i++;
    for (;;) {
      const m = memberAt(b, i, NODE, next);
      if (m < 0) return -1;
      next = m + 1;
      const v = i + (NODE[m] as Uint8Array).length;
      let end: number;
      switch (m) {
        case N_ACTOR:
          end = scanActor(b, v, limits);
          hasActor = true;
          break;
        case N_AUTHORITY:
          end = scanText(b, v, limits.maxTextLength);
          hasAuthority = true;
          break;
        case N_EXT:
        case N_MODIFICATION:
          end = b[v] === OPEN_OBJECT ? scanValue(b, v, 3, limits.maxDepth) : -1;
          if (m === N_MODIFICATION) hasModification = true;
          break;
        case N_KIND:
          end = b[v] === QUOTE ? scanString(b, v + 1) : -1;
          kind = end < 0 ? -1 : wordIndex(b, v, end, KINDS);
          if (kind < 0) return -1;
          break;
        case N_OUTCOME:
          end = b[v] === QUOTE ? scanString(b, v + 1) : -1;
          outcome = end < 0 ? -1 : wordIndex(b, v, end, OUTCOMES);
          if (outcome < 0) return -1;
          break;
        case N_SEQUENCE:
          end = scanSequence(b, v);
          if (end < 0) return -1;
          sequence = 0;
          for (let k = v; k < end; k++) sequence = sequence * 10 + ((b[k] as number) - ZERO);
          break;
        case N_TIME:
          end = scanU64(b, v);
          timeS = v + 1;
          timeE = end - 1;
          break;
        case N_NOTE:
        case N_SIGNATURE:
          end = scanText(b, v, limits.maxTextLength);
          break;
        default:
          return -1; // memberAt returns indices of NODE only
      }
      if (end < 0) return -1;
      i = end;
      if (b[i] === CLOSE_OBJECT) break;
      if (b[i] !== COMMA) return -1;
      i++;
    }
    i++;
    // Per-node rules (chain.ts checkChain and checkNodeByKind).
    if (kind < 0 || sequence <= prevSequence || timeS < 0) return -1;
    if (prevTimeS >= 0 && compareU64(b, timeS, timeE, prevTimeS, prevTimeE) < 0) return -1;
    if (!hasActor && kind !== K_AUTONOMOUS) return -1;
    if (kind === K_AUTONOMOUS && !hasAuthority) return -1;
    if (kind === K_FOI) {
      if (outcome < 0 || (outcome === O_MODIFIED) !== hasModification) return -1;
    } else if (outcome >= 0 || (hasModification && kind !== K_DELTA)) return -1;
    // Order rules: nothing follows a halt or the FOI node; an escalation is followed by a
    // delta, a halt or the FOI node.
    if (prevKind === K_HALT || prevKind === K_FOI) return -1;
    if (prevKind === K_ESCALATION && kind !== K_DELTA && kind !== K_HALT && kind !== K_FOI) {
      return -1;
    }
    prevKind = kind;
    prevSequence = sequence;
    prevTimeS = timeS;
    prevTimeE = timeE;
    if (b[i] === CLOSE_ARRAY) break;
    if (b[i] !== COMMA) return -1;
    i++;
  }
  if (prevKind === K_ESCALATION) return -1;
  return i + 1;
}

/** A node's sequence: a plain non-negative integer short enough to be safe; index after it. */
function scanSequence(b: Uint8Array, i: number): number {
  let k = i;
  while (k < b.length && (b[k] as number) >= ZERO && (b[k] as number) <= NINE) k++;
  const digits = k - i;
  if (digits === 0 || digits > MAX_SEQUENCE_DIGITS || (digits > 1 && b[i] === ZERO)) return -1;
  // A fraction or exponent would make it another number (or not an integer).
  return b[k] === COMMA || b[k] === CLOSE_OBJECT ? k : -1;
}

/** A node's actor at i: an object with text `name` and `role` among any other members. */
function scanActor(b: Uint8Array, i: number, limits: DecisionLimits): number {
  if (b[i] !== OPEN_OBJECT || limits.maxDepth <= 3) return -1;
  if (b[i + 1] === CLOSE_OBJECT) return -1;
  let hasName = false;
  let hasRole = false;
  let prevS = -1;
  let prevE = -1;
  i++;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const s = i + 1;
    const e = scanPlainKey(b, s);
    if (e < 0 || b[e + 1] !== COLON) return -1;
    if (prevS >= 0 && !isAfter(b, prevS, prevE, s, e)) return -1;
    prevS = s;
    prevE = e;
    if (equals(b, s, e, ACTOR_NAME)) {
      i = scanText(b, e + 2, limits.maxTextLength);
      hasName = true;
    } else if (equals(b, s, e, ACTOR_ROLE)) {
      i = scanText(b, e + 2, limits.maxTextLength);
      hasRole = true;
    } else {
      i = scanValue(b, e + 2, 4, limits.maxDepth);
    }
    if (i < 0) return -1;
    if (b[i] === CLOSE_OBJECT) return hasName && hasRole ? i + 1 : -1;
    if (b[i] !== COMMA) return -1;
    i++;
  }
}
