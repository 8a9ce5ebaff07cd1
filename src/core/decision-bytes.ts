// Accepts a decision straight from its bytes when they are already its canonical form (jcs.ts),
// without parsing it into objects: ingest's hot path. Producers that write canonical JSON (as
// `agdr submit` does) send exactly such lines, and for them this one pass replaces UTF-8
// decoding, parsing, the field checks and the canonical-form check, and leaves no garbage
// behind but one small object; routing then reads the timestamp and the one key its strategy
// needs straight from the bytes.
//
// It only ever accepts: whenever it returns a value, the full path (`parseDecisionLine`) accepts
// the same bytes as valid, keeps them as the canonical bytes and yields the same record_id,
// timestamp and routing keys. Anything it does not handle (a problem of any kind, a form it does
// not check, such as member names with escapes) makes it return undefined, and the caller takes
// the full path, which reports problems. Tests check this agreement on generated and mutated
// decisions.
import { decimalAt } from './bytes.ts';
import type { DecisionLimits } from './decision/limits.ts';
import { ACTION_LABELS, SPEC_VERSION, TERMINAL_NODES } from './decision/types.ts';
import { isAfter, scanPlainKey, scanString, scanValue } from './jcs-bytes.ts';
import { pointerTokens } from './json-pointer.ts';
import { nonStringKey, type NonStringKey, type RoutingSource } from './routing.ts';

/** What ingest needs of a decision: its idempotency key, its timestamp and its routing keys. */
export interface AcceptedDecision extends RoutingSource {
  /** Where record_id's text (ASCII, no escapes) lies in the bytes given: [start, end). */
  readonly recordIdStart: number;
  readonly recordIdEnd: number;
  readonly record_id: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;

/** Names shorter than this are found through their list's table. */
const MAX_TABLED = 32;
/** Table entry for a length and first byte that more than one name of the list has. */
const COLLIDING = 255;
/** Per name list: index + 1 of the name with each (length, first byte), 0 for none. */
const NAME_TABLES = new Map<readonly Uint8Array[], Uint8Array>();

/** Registers `list` for nameIndex's table look-up. */
function tabled(list: Uint8Array[]): Uint8Array[] {
  const table = new Uint8Array(MAX_TABLED << 8);
  list.forEach((w, k) => {
    if (w.length === 0 || w.length >= MAX_TABLED) return;
    const at = (w.length << 8) | (w[0] as number);
    table[at] = table[at] === 0 ? k + 1 : COLLIDING;
  });
  NAME_TABLES.set(list, table);
  return list;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const names = (list: readonly string[]): Uint8Array[] => tabled(list.map(ascii));

// Member names this recognizer checks, each list in canonical (byte) order. Other members are
// allowed anywhere (upstream's schemas allow further members) and only need to be canonical.
const TOP_NAMES = [
  'committed',
  'ctx',
  'human_delta_chain',
  'merkle_hash',
  'merkle_position',
  'model_id',
  'output',
  'ppp_triplet',
  'prev_merkle_hash',
  'reasoning_trace',
  'record_id',
  'signature',
  'spec_version',
  'timestamp_ns',
] as const;
const TOP = names(TOP_NAMES);
const top = (name: (typeof TOP_NAMES)[number]): number => TOP_NAMES.indexOf(name);
const T_COMMITTED = top('committed');
const T_CTX = top('ctx');
const T_CHAIN = top('human_delta_chain');
const T_MERKLE_HASH = top('merkle_hash');
const T_MERKLE_POSITION = top('merkle_position');
const T_MODEL = top('model_id');
const T_OUTPUT = top('output');
const T_PPP = top('ppp_triplet');
const T_PREV = top('prev_merkle_hash');
const T_TRACE = top('reasoning_trace');
const T_RECORD = top('record_id');
const T_SIGNATURE = top('signature');
const T_VERSION = top('spec_version');
const T_TIME = top('timestamp_ns');
/** ctx, human_delta_chain, output, ppp_triplet, reasoning_trace, record_id, spec_version, timestamp_ns. */
const REQUIRED_TOP =
  (1 << T_CTX) |
  (1 << T_CHAIN) |
  (1 << T_OUTPUT) |
  (1 << T_PPP) |
  (1 << T_TRACE) |
  (1 << T_RECORD) |
  (1 << T_VERSION) |
  (1 << T_TIME);

const CHAIN_NAMES = [
  'agent_decision_ref',
  'autonomous',
  'autonomous_authority_ref',
  'chain_id',
  'chain_signature',
  'deltas',
  'foi_escalation',
  'initiated_at_ns',
  'merkle_root',
  'resolved',
  'terminal_node',
] as const;
const CHAIN = names(CHAIN_NAMES);
const chain = (name: (typeof CHAIN_NAMES)[number]): number => CHAIN_NAMES.indexOf(name);
const C_REF = chain('agent_decision_ref');
const C_AUTONOMOUS = chain('autonomous');
const C_AUTHORITY = chain('autonomous_authority_ref');
const C_ID = chain('chain_id');
const C_SIGNATURE = chain('chain_signature');
const C_DELTAS = chain('deltas');
const C_FOI = chain('foi_escalation');
const C_INITIATED = chain('initiated_at_ns');
const C_ROOT = chain('merkle_root');
const C_RESOLVED = chain('resolved');
const C_TERMINAL = chain('terminal_node');

const DELTA_NAMES = [
  'action',
  'action_label',
  'actor',
  'delta_id',
  'escalated',
  'escalation_reason',
  'latency_ns',
  'modification',
  'sequence',
  'signature',
  'timestamp_ns',
] as const;
const DELTA = names(DELTA_NAMES);
const delta = (name: (typeof DELTA_NAMES)[number]): number => DELTA_NAMES.indexOf(name);
const D_ACTION = delta('action');
const D_LABEL = delta('action_label');
const D_ACTOR = delta('actor');
const D_ID = delta('delta_id');
const D_ESCALATED = delta('escalated');
const D_REASON = delta('escalation_reason');
const D_LATENCY = delta('latency_ns');
const D_MODIFICATION = delta('modification');
const D_SEQUENCE = delta('sequence');
const D_TIME = delta('timestamp_ns');

const FOI_NAMES = [
  'actor',
  'decision',
  'decision_code',
  'rationale',
  'signature',
  'timestamp_ns',
] as const;
const FOI = names(FOI_NAMES);
const foiMember = (name: (typeof FOI_NAMES)[number]): number => FOI_NAMES.indexOf(name);
const F_ACTOR = foiMember('actor');
const F_DECISION = foiMember('decision');
const F_CODE = foiMember('decision_code');
const F_TIME = foiMember('timestamp_ns');

const PPP = names(['place', 'provenance', 'purpose']);
const ACTOR = names(['employee_id', 'jurisdiction', 'name', 'role']);
const FOI_ACTOR = names(['jurisdiction', 'name', 'title']);

const VERSION_VALUE = ascii(JSON.stringify(SPEC_VERSION));
const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');
const LABELS = ACTION_LABELS.map((l) => ascii(JSON.stringify(l)));
const TERMINALS = TERMINAL_NODES.map((t) => ascii(JSON.stringify(t)));
const TERMINAL_FOI = TERMINAL_NODES.indexOf('foi');
const TERMINAL_AUTONOMOUS = TERMINAL_NODES.indexOf('autonomous');
const TERMINAL_HUMAN = TERMINAL_NODES.indexOf('human_delta');
const U64_MAX = ascii('18446744073709551615');
/** Action codes as tokens, by action + 1. */
const ACTIONS = ['-1', '0', '1', '2'].map(ascii);
const HALTED = -1;
const ESCALATED = 0;
const WITH_MODIFICATION = 2;
/** Plain integers of up to 15 digits are safe integers. */
const MAX_SAFE_DIGITS = 15;

/** Bytes [s, e) of b equal `word`. */
function equals(b: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[s + k] !== word[k]) return false;
  return true;
}

/** Index in `list` of the name [s, e), or -1. */
function nameIndex(b: Uint8Array, s: number, e: number, list: readonly Uint8Array[]): number {
  const table = NAME_TABLES.get(list);
  if (table !== undefined && e - s < MAX_TABLED && e > s) {
    // One look-up by length and first byte instead of comparing with every name in turn.
    const k = (table[((e - s) << 8) | (b[s] as number)] as number) - 1;
    if (k !== COLLIDING - 1) return k >= 0 && equals(b, s, e, list[k] as Uint8Array) ? k : -1;
  }
  for (let k = 0; k < list.length; k++) if (equals(b, s, e, list[k] as Uint8Array)) return k;
  return -1;
}

/** Index in `words` of the value token at i that ends at a `,` `}` or `]`, with its end. */
function tokenAt(b: Uint8Array, i: number, words: readonly Uint8Array[]): number {
  for (let k = 0; k < words.length; k++) {
    const w = words[k] as Uint8Array;
    if (equals(b, i, i + w.length, w)) {
      const next = b[i + w.length];
      if (next === COMMA || next === CLOSE_OBJECT || next === CLOSE_ARRAY) return k;
    }
  }
  return -1;
}

/** A string at i; the index after it, or -1. */
function scanStr(b: Uint8Array, i: number): number {
  return b[i] === QUOTE ? scanString(b, i + 1) : -1;
}

/** A string or null at i; the index after it, or -1. */
function scanStrOrNull(b: Uint8Array, i: number): number {
  return equals(b, i, i + 4, NULL) ? i + 4 : scanStr(b, i);
}

/** true or false at i; the index after it, or -1. */
function scanBool(b: Uint8Array, i: number): number {
  if (equals(b, i, i + 4, TRUE)) return i + 4;
  return equals(b, i, i + 5, FALSE) ? i + 5 : -1;
}

/** A canonical integer literal at i (digits, optional minus, not -0); index after it, or -1. */
function scanInteger(b: Uint8Array, i: number): number {
  let k = b[i] === MINUS ? i + 1 : i;
  const first = k;
  while ((b[k] as number) >= ZERO && (b[k] as number) <= NINE) k++;
  const digits = k - first;
  if (digits === 0 || (digits > 1 && b[first] === ZERO)) return -1;
  if (first > i && digits === 1 && b[first] === ZERO) return -1;
  const next = b[k];
  return next === COMMA || next === CLOSE_OBJECT || next === CLOSE_ARRAY ? k : -1;
}

/** A canonical u64 integer literal at i; index after it, or -1. */
function scanU64(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) return -1;
  const end = scanInteger(b, i);
  if (end < 0) return -1;
  const digits = end - i;
  if (digits > 20) return -1;
  if (digits === 20) {
    for (let k = 0; k < 20; k++) {
      const d = (b[i + k] as number) - (U64_MAX[k] as number);
      if (d < 0) break;
      if (d > 0) return -1;
    }
  }
  return end;
}

/** Numeric order of two canonical u64 literals [s1, e1) and [s2, e2) of b. */
function compareU64(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): number {
  if (e1 - s1 !== e2 - s2) return e1 - s1 - (e2 - s2);
  for (let k = 0; k < e1 - s1; k++) {
    const d = (b[s1 + k] as number) - (b[s2 + k] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * A PPP member at i: a string that states something. Accepted only when it holds a printable
 * ASCII character other than space (literal, or the escaped quote or backslash), so that
 * JavaScript's trim() cannot empty it; other strings, even valid ones, are declined to the full
 * path. The letter of an escape such as \t is not text: " \t" is only whitespace.
 */
function scanStatement(b: Uint8Array, i: number): number {
  const end = scanStr(b, i);
  if (end < 0) return -1;
  for (let k = i + 1; k < end - 1; k++) {
    const c = b[k] as number;
    if (c === BACKSLASH) {
      // \" and \\ are text; the other escapes (control characters, some of them whitespace to
      // String.prototype.trim) are skipped: then only the full path decides.
      const e = b[k + 1] as number;
      if (e === QUOTE || e === BACKSLASH) return end;
      k += e === 0x75 ? 5 : 1;
    } else if (c > 0x20 && c < 0x7f) {
      return end;
    }
  }
  return -1;
}

/** Whether the value [s, e) states something: not null, "", {} or []. */
function isNonEmpty(b: Uint8Array, s: number, e: number): boolean {
  if (e - s === 2) return false; // "" {} []
  return !equals(b, s, e, NULL);
}

/** The known members (bit i: name i of the list) of the object scanObjectWith last finished. */
let lastSeen = 0;

/**
 * Scans the value at v of the known member m (its index in the name list) of an object; returns
 * the index after it, or -1. Module-level functions, not closures: nothing is allocated per
 * decision (what they learn goes to the module's scan state).
 */
type MemberScanner = (b: Uint8Array, m: number, v: number) => number;

/**
 * Walks the members of the canonical object at b[i] === '{' (at nesting `depth`), strictly in
 * canonical order, calling `member(b, index in known, value start)` for each known member.
 * Unknown members (index -1) are scanned here. Returns the index after the object, or -1;
 * `lastSeen` then holds the known members seen.
 */
function scanObjectWith(
  b: Uint8Array,
  i: number,
  depth: number,
  maxDepth: number,
  known: readonly Uint8Array[],
  member: MemberScanner,
): number {
  if (b[i] !== OPEN_OBJECT || depth >= maxDepth) return -1;
  i++;
  let seen = 0;
  if (b[i] === CLOSE_OBJECT) {
    lastSeen = seen;
    return i + 1;
  }
  let prevS = -1;
  let prevE = -1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const s = i + 1;
    const e = scanPlainKey(b, s);
    if (e < 0 || b[e + 1] !== COLON) return -1;
    if (prevS >= 0 && !isAfter(b, prevS, prevE, s, e)) return -1;
    prevS = s;
    prevE = e;
    const m = nameIndex(b, s, e, known);
    const v = e + 2;
    if (m >= 0) seen |= 1 << m;
    i = m < 0 ? scanValue(b, v, depth + 1, maxDepth) : member(b, m, v);
    if (i < 0) return -1;
    if (b[i] === CLOSE_OBJECT) {
      lastSeen = seen;
      return i + 1;
    }
    if (b[i] !== COMMA) return -1;
    i++;
  }
}

/**
 * The decision's fields, each read from the bytes when asked. The bytes are well-formed UTF-8
 * (checked before this is made); the caller keeps them unchanged while reading.
 */
class AcceptedFields implements AcceptedDecision {
  /** The decision's bytes, scanned again by keyAt. */
  #b: Uint8Array = EMPTY;
  /** Where strings are decoded from: a Buffer holding #b at #base. */
  #text: Buffer = EMPTY_BUFFER;
  #base = 0;
  recordIdStart = 0;
  recordIdEnd = 0;
  #timeStart = 0;
  #timeEnd = 0;
  /** Name start and value start of each top-level member, in order: #members[0, #count). */
  #members: Int32Array = new Int32Array(0);
  #count = 0;

  /** Takes what the last scan found about `b`; `text` holds b at `base`, `members` its members. */
  bind(b: Uint8Array, text: Buffer, base: number, members: Int32Array, count: number): this {
    this.#b = b;
    this.#text = text;
    this.#base = base;
    this.recordIdStart = scanned.recordIdStart;
    this.recordIdEnd = scanned.recordIdEnd;
    this.#timeStart = scanned.timeStart;
    this.#timeEnd = scanned.timeEnd;
    this.#members = members;
    this.#count = count;
    return this;
  }

  get record_id(): string {
    return this.#decode('latin1', this.recordIdStart, this.recordIdEnd);
  }

  get timestampNs(): string {
    return this.#decode('latin1', this.#timeStart, this.#timeEnd);
  }

  keyAt(pointer: string): string | undefined | NonStringKey {
    const b = this.#b;
    const tokens = tokensOf(pointer);
    let at = -1;
    const first = tokens[0];
    if (first === undefined) return undefined;
    const members = this.#members;
    for (let k = 0; k < this.#count; k += 2) {
      const s = members[k] as number;
      const v = members[k + 1] as number;
      if (equals(b, s, v - 2, first)) {
        at = v;
        break;
      }
    }
    for (let t = 1; t < tokens.length && at >= 0; t++) at = child(b, at, tokens[t] as Uint8Array);
    if (at < 0) return undefined;
    const c = b[at];
    if (c === QUOTE) {
      const end = scanString(b, at + 1);
      for (let k = at + 1; k < end - 1; k++) {
        if (b[k] === BACKSLASH) return JSON.parse(this.#decode('utf8', at, end)) as string;
      }
      return this.#decode('utf8', at + 1, end - 1);
    }
    return nonStringKey(c);
  }

  /** The text of bytes [s, e) of the decision. */
  #decode(encoding: 'latin1' | 'utf8', s: number, e: number): string {
    return this.#text.toString(encoding, this.#base + s, this.#base + e);
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

// Pointers in use are few (those of the routing tables in force): their tokens are kept.
const pointerCache = new Map<string, Uint8Array[]>();
const ENCODER = new TextEncoder();

function tokensOf(pointer: string): Uint8Array[] {
  let tokens = pointerCache.get(pointer);
  if (tokens === undefined) {
    if (pointerCache.size >= 256) pointerCache.clear();
    // Names in accepted bytes are printable ASCII without escapes: UTF-8 bytes compare as is.
    tokens = pointerTokens(pointer).map((t) => ENCODER.encode(t));
    pointerCache.set(pointer, tokens);
  }
  return tokens;
}

/** Where the value of member (or element) `token` of the container at i starts, or -1. */
function child(b: Uint8Array, i: number, token: Uint8Array): number {
  if (b[i] === OPEN_OBJECT) {
    i++;
    if (b[i] === CLOSE_OBJECT) return -1;
    for (;;) {
      const s = i + 1;
      const e = scanPlainKey(b, s);
      if (equals(b, s, e, token)) return e + 2;
      i = scanValue(b, e + 2, 0, Infinity);
      if (b[i] !== COMMA) return -1;
      i++;
    }
  }
  if (b[i] !== OPEN_ARRAY) return -1;
  let index = 0;
  if (token.length === 0 || (token.length > 1 && token[0] === ZERO)) return -1;
  for (const c of token) {
    if (c < ZERO || c > NINE) return -1;
    index = index * 10 + (c - ZERO);
  }
  i++;
  if (b[i] === CLOSE_ARRAY) return -1;
  for (let k = 0; ; k++) {
    if (k === index) return i;
    i = scanValue(b, i, 0, Infinity);
    if (b[i] !== COMMA) return -1;
    i++;
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
 * unchanged; undefined otherwise (take the full path). `b` is one NDJSON line without its end.
 * The result is the caller's to keep (it holds `b`, which must not change while it is read).
 */
export function acceptCanonicalDecision(
  b: Uint8Array,
  limits: DecisionLimits,
): AcceptedDecision | undefined {
  if (!scanDecision(b, limits)) return undefined;
  const text = b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const members = scanned.members.slice(0, scanned.count);
  return new AcceptedFields().bind(b, text, 0, members, members.length);
}

/** The one AcceptedFields that acceptCanonicalDecisionTransient returns, bound anew each call. */
const transient = new AcceptedFields();
/** A Buffer over the whole ArrayBuffer the last transient decision lay in (often the same). */
let transientText: Buffer = EMPTY_BUFFER;

/**
 * `acceptCanonicalDecision` without allocating: the result is one object reused by every call,
 * valid only until the next call of either function (ingest reads it at once, per line): read
 * what must outlive that first. It holds `b` (and reads strings through a Buffer over b's whole
 * ArrayBuffer, made once per ArrayBuffer).
 */
export function acceptCanonicalDecisionTransient(
  b: Uint8Array,
  limits: DecisionLimits,
): AcceptedDecision | undefined {
  if (!scanDecision(b, limits)) return undefined;
  if (transientText.buffer !== b.buffer) transientText = Buffer.from(b.buffer);
  return transient.bind(b, transientText, b.byteOffset, scanned.members, scanned.count);
}

/**
 * What the last scanDecision found (the scan is synchronous and not re-entrant): the name start
 * and value start of each top-level member, members[0, count), and where record_id's text and
 * timestamp_ns lie.
 */
const scanned = {
  members: new Int32Array(64),
  count: 0,
  recordIdStart: 0,
  recordIdEnd: 0,
  timeStart: 0,
  timeEnd: 0,
};

/** Notes a top-level member's name start s and value start v in `scanned`. */
function addMember(s: number, v: number): void {
  if (scanned.count + 2 > scanned.members.length) {
    const more = new Int32Array(2 * scanned.members.length);
    more.set(scanned.members);
    scanned.members = more;
  }
  scanned.members[scanned.count++] = s;
  scanned.members[scanned.count++] = v;
}

/** Whether `b` is a decision acceptCanonicalDecision accepts; `scanned` then says where things are. */
function scanDecision(b: Uint8Array, limits: DecisionLimits): boolean {
  if (b.length > limits.maxInputBytes || b.length > limits.maxRecordBytes) return false;
  if (b[0] !== OPEN_OBJECT || limits.maxDepth <= 0) return false;
  const maxDepth = limits.maxDepth;
  let seen = 0;
  scanned.count = 0;
  let i = 1;
  let prevS = -1;
  let prevE = -1;
  for (;;) {
    if (b[i] !== QUOTE) return false;
    const s = i + 1;
    const e = scanPlainKey(b, s);
    if (e < 0 || b[e + 1] !== COLON) return false;
    if (prevS >= 0 && !isAfter(b, prevS, prevE, s, e)) return false;
    prevS = s;
    prevE = e;
    const v = e + 2;
    addMember(s, v);
    const m = nameIndex(b, s, e, TOP);
    if (m >= 0) seen |= 1 << m;
    let end: number;
    switch (m) {
      case T_COMMITTED:
        end = equals(b, v, v + 4, TRUE) ? v + 4 : -1;
        break;
      case T_CTX:
        end = b[v] === OPEN_OBJECT ? scanValue(b, v, 1, maxDepth) : -1;
        break;
      case T_CHAIN:
        end = scanChain(b, v, limits);
        break;
      case T_MERKLE_HASH:
      case T_SIGNATURE:
        end = scanStr(b, v);
        break;
      case T_MERKLE_POSITION:
        end = scanInteger(b, v);
        break;
      case T_MODEL:
      case T_PREV:
        end = scanStrOrNull(b, v);
        break;
      case T_PPP:
        end = scanObjectWith(b, v, 1, maxDepth, PPP, statementMember);
        if (end >= 0 && !hadAll(ALL_PPP)) end = -1;
        break;
      case T_RECORD:
        end = scanStr(b, v);
        if (end < 0 || end - v - 2 < 1 || end - v - 2 > limits.maxIdLength) return false;
        if (!isRecordIdBody(b, v + 1, end - 1)) return false;
        scanned.recordIdStart = v + 1;
        scanned.recordIdEnd = end - 1;
        break;
      case T_VERSION:
        end = v + VERSION_VALUE.length;
        if (!equals(b, v, end, VERSION_VALUE)) return false;
        break;
      case T_TIME:
        end = scanU64(b, v);
        scanned.timeStart = v;
        scanned.timeEnd = end;
        break;
      default: // T_OUTPUT, T_TRACE and members of the producer's own
        end = scanValue(b, v, 1, maxDepth);
    }
    if (end < 0) return false;
    if (b[end] === CLOSE_OBJECT) {
      if (end + 1 !== b.length) return false;
      break;
    }
    if (b[end] !== COMMA) return false;
    i = end + 1;
  }
  return (seen & REQUIRED_TOP) === REQUIRED_TOP;
}

/** A PPP member: a statement (scanStatement). */
const statementMember: MemberScanner = (b, _m, v) => scanStatement(b, v);
/** A member that is a string (the actors' members). */
const stringMember: MemberScanner = (b, _m, v) => scanStr(b, v);

/** Whether the object scanObjectWith just scanned had every known member in `mask`. */
function hadAll(mask: number): boolean {
  return (lastSeen & mask) === mask;
}

/** Bit i set for each name i of a list. */
const bits = (...indices: number[]): number => indices.reduce((m, i) => m | (1 << i), 0);
const ALL_PPP = bits(0, 1, 2);
const FOI_ACTOR_REQUIRED = bits(1, 2); // name, title
const ACTOR_REQUIRED = bits(2, 3); // name, role

/**
 * Facts of the human_delta_chain being scanned, gathered by its member scanners (one chain at a
 * time: the scan is synchronous and not re-entrant). Reset by scanChain.
 */
const chainFacts = {
  maxDepth: 0,
  maxChainLength: 0,
  seen: 0,
  resolved: -1, // -1 absent, 0 false, 1 true
  autonomous: -1,
  terminal: -1,
  hasFoi: false,
  seenFoi: 0,
  foiTimeS: -1,
  foiTimeE: -1,
  // Facts of the deltas, gathered as the array is scanned.
  count: 0,
  lastAction: 2,
  lastTimeS: -1,
  lastTimeE: -1,
};

/** Facts of the delta being scanned (reset by deltaAt). */
const deltaFacts = {
  seen: 0,
  action: -2,
  sequenceOk: false,
  reason: false,
  modified: false,
  timeS: -1,
  timeE: -1,
};

/** human_delta_chain at i: every shape and invariant of chain.ts; index after it or -1. */
function scanChain(b: Uint8Array, i: number, limits: DecisionLimits): number {
  const f = chainFacts;
  f.maxDepth = limits.maxDepth;
  f.maxChainLength = limits.maxChainLength;
  f.seen = 0;
  f.resolved = -1;
  f.autonomous = -1;
  f.terminal = -1;
  f.hasFoi = false;
  f.foiTimeS = -1;
  f.foiTimeE = -1;
  f.count = 0;
  f.lastAction = 2;
  f.lastTimeS = -1;
  f.lastTimeE = -1;
  const end = scanObjectWith(b, i, 1, f.maxDepth, CHAIN, chainMember);
  if (end < 0) return -1;
  const need = (1 << C_REF) | (1 << C_ID) | (1 << C_DELTAS);
  if ((f.seen & need) !== need) return -1;
  // Invariants between the nodes (chain.ts): the FOI review follows an escalation and comes
  // last in time; a chain ending in an escalation without it says it is unresolved.
  const count = f.count;
  if (f.hasFoi) {
    if (count === 0 || f.lastAction !== ESCALATED) return -1;
    if (compareU64(b, f.foiTimeS, f.foiTimeE, f.lastTimeS, f.lastTimeE) < 0) return -1;
  }
  const pending = count > 0 && f.lastAction === ESCALATED && !f.hasFoi;
  if (pending ? f.resolved !== 0 : f.resolved === 0) return -1;
  if (f.autonomous >= 0 && f.autonomous !== (count === 0 ? 1 : 0)) return -1;
  if (f.terminal >= 0) {
    const want = f.hasFoi ? TERMINAL_FOI : count === 0 ? TERMINAL_AUTONOMOUS : TERMINAL_HUMAN;
    if (f.terminal !== want) return -1;
  }
  return end;
}

/** A member of human_delta_chain (index m of CHAIN) at v. */
function chainMember(b: Uint8Array, m: number, v: number): number {
  const f = chainFacts;
  f.seen |= 1 << m;
  switch (m) {
    case C_REF:
    case C_ID:
    case C_AUTHORITY:
    case C_SIGNATURE:
    case C_ROOT:
      return scanStr(b, v);
    case C_AUTONOMOUS:
    case C_RESOLVED: {
      const e = scanBool(b, v);
      const flag = e - v === 4 ? 1 : 0;
      if (m === C_AUTONOMOUS) f.autonomous = flag;
      else f.resolved = flag;
      return e;
    }
    case C_INITIATED:
      return scanInteger(b, v);
    case C_TERMINAL: {
      const e = scanStr(b, v);
      f.terminal = e < 0 ? -1 : nameIndex(b, v, e, TERMINALS);
      return f.terminal < 0 ? -1 : e;
    }
    case C_FOI: {
      if (equals(b, v, v + 4, NULL)) return v + 4;
      f.hasFoi = true;
      f.seenFoi = 0;
      const e = scanObjectWith(b, v, 2, f.maxDepth, FOI, foiEscalationMember);
      const need = (1 << F_ACTOR) | (1 << F_DECISION) | (1 << F_CODE) | (1 << F_TIME);
      return (f.seenFoi & need) === need ? e : -1;
    }
    case C_DELTAS:
      return scanDeltas(b, v);
    default:
      return -1; // scanObjectWith passes indices of CHAIN only
  }
}

/** The decision codes an FOI review may give (1 and 2). */
const FOI_CODES = [ACTIONS[1] as Uint8Array, ACTIONS[2] as Uint8Array];

/** A member of foi_escalation (index f of FOI) at w. */
function foiEscalationMember(b: Uint8Array, f: number, w: number): number {
  chainFacts.seenFoi |= 1 << f;
  switch (f) {
    case F_ACTOR: {
      const a = scanObjectWith(b, w, 3, chainFacts.maxDepth, FOI_ACTOR, stringMember);
      return a >= 0 && hadAll(FOI_ACTOR_REQUIRED) ? a : -1;
    }
    case F_CODE:
      return tokenAt(b, w, FOI_CODES) < 0 ? -1 : w + 1;
    case F_TIME: {
      const t = scanU64(b, w);
      chainFacts.foiTimeS = w;
      chainFacts.foiTimeE = t;
      return t;
    }
    default: // decision, rationale, signature
      return scanStr(b, w);
  }
}

/** The deltas array at v, each delta checked in order against the ones before it. */
function scanDeltas(b: Uint8Array, v: number): number {
  const f = chainFacts;
  if (b[v] !== OPEN_ARRAY || 2 >= f.maxDepth) return -1;
  let k = v + 1;
  if (b[k] === CLOSE_ARRAY) return k + 1;
  for (;;) {
    if (f.count === f.maxChainLength) return -1;
    k = deltaAt(b, k);
    if (k < 0) return -1;
    if (b[k] === CLOSE_ARRAY) return k + 1;
    if (b[k] !== COMMA) return -1;
    k++;
  }
}

/** Delta number chainFacts.count at k: its shape, and its place after the previous one. */
function deltaAt(b: Uint8Array, k: number): number {
  const f = chainFacts;
  const d = deltaFacts;
  d.seen = 0;
  d.action = -2;
  d.sequenceOk = false;
  d.reason = false;
  d.modified = false;
  d.timeS = -1;
  d.timeE = -1;
  const end = scanObjectWith(b, k, 3, f.maxDepth, DELTA, deltaMember);
  if (end < 0) return -1;
  const need = (1 << D_ID) | (1 << D_SEQUENCE) | (1 << D_ACTOR) | (1 << D_ACTION) | (1 << D_TIME);
  if ((d.seen & need) !== need || !d.sequenceOk) return -1;
  if (d.action === WITH_MODIFICATION && !d.modified) return -1;
  if (d.action === ESCALATED && !d.reason) return -1;
  // A halt is terminal; timestamps never go back.
  if (f.count > 0 && f.lastAction === HALTED) return -1;
  if (f.lastTimeS >= 0 && compareU64(b, d.timeS, d.timeE, f.lastTimeS, f.lastTimeE) < 0) return -1;
  f.lastAction = d.action;
  f.lastTimeS = d.timeS;
  f.lastTimeE = d.timeE;
  f.count++;
  return end;
}

/** A member of a delta (index m of DELTA) at w. */
function deltaMember(b: Uint8Array, m: number, w: number): number {
  const d = deltaFacts;
  const maxDepth = chainFacts.maxDepth;
  d.seen |= 1 << m;
  switch (m) {
    case D_ACTION:
      d.action = tokenAt(b, w, ACTIONS) - 1;
      return d.action < -1 ? -1 : w + (ACTIONS[d.action + 1] as Uint8Array).length;
    case D_LABEL: {
      const e = scanStr(b, w);
      return e >= 0 && nameIndex(b, w, e, LABELS) >= 0 ? e : -1;
    }
    case D_ACTOR: {
      const a = scanObjectWith(b, w, 4, maxDepth, ACTOR, stringMember);
      return a >= 0 && hadAll(ACTOR_REQUIRED) ? a : -1;
    }
    case D_ESCALATED:
      return scanBool(b, w);
    case D_REASON: {
      const e = scanStr(b, w);
      d.reason = e - w > 2;
      return e;
    }
    case D_LATENCY:
      return scanInteger(b, w);
    case D_MODIFICATION: {
      const e = scanValue(b, w, 4, maxDepth);
      d.modified = e >= 0 && isNonEmpty(b, w, e);
      return e;
    }
    case D_SEQUENCE: {
      const e = scanInteger(b, w);
      if (e < 0 || e - w > MAX_SAFE_DIGITS) return -1;
      d.sequenceOk = b[w] !== MINUS && decimalAt(b, w, e) === chainFacts.count;
      return e;
    }
    case D_TIME: {
      const e = scanU64(b, w);
      d.timeS = w;
      d.timeE = e;
      return e;
    }
    default: // delta_id, signature
      return scanStr(b, w);
  }
}
