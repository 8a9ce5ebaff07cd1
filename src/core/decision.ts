// AgDR v0.2 decisions: validation (every problem, with its JSON path) and canonical bytes, done
// once on ingest so that the log writer only splices and hashes.
//
// `prepareDecision` is a pure function of its input: it runs in worker threads.
import { utf8 } from './bytes.ts';
import { checkChain } from './decision/chain.ts';
import {
  checkKnownMembers,
  checkObject,
  checkText,
  checkTimestamp,
  describe,
  isPlainObject,
} from './decision/fields.ts';
import { decisionLimits, type DecisionLimits } from './decision/limits.ts';
import { DecisionValidationError, ProblemList, type DecisionProblem } from './decision/problems.ts';
import {
  DECISION_MEMBERS,
  PPP_MEMBERS,
  SPEC_VERSION,
  type Decision,
  type PreparedDecision,
} from './decision/types.ts';
import { CanonicalJsonError, canonicalJsonFast } from './jcs.ts';
import { isCanonicalJsonBytes } from './jcs-bytes.ts';

export * from './decision/types.ts';
export * from './decision/problems.ts';
export * from './decision/limits.ts';
export { isCanonicalU64, parseU64, formatU64 } from './decision/timestamp.ts';

/** Top-level members in canonical order, which is also emission order. */
const MEMBERS = DECISION_MEMBERS;
const MEMBER_SET: ReadonlySet<string> = new Set(MEMBERS);
// Member names are ASCII identifiers: their JSON form is the name in quotes.
const MEMBER_PREFIX = MEMBERS.map((m, i) => `${i === 0 ? '' : ','}"${m}":`);
const PPP_MEMBER_SET: ReadonlySet<string> = new Set(PPP_MEMBERS);

/** record_id: safe in URLs, file names and log lines without escaping. */
const RECORD_ID = /^[A-Za-z0-9._:-]+$/;

/** Whether `text` could be a decision's record_id: the pattern, at most `maxLength` long. */
export function isRecordId(text: string, maxLength: number): boolean {
  return text.length <= maxLength && RECORD_ID.test(text);
}

export type DecisionResult =
  { ok: true; prepared: PreparedDecision } | { ok: false; problems: DecisionProblem[] };

/** Every problem of `input` as a decision; an empty list means it is valid. */
export function validateDecision(
  input: unknown,
  limits?: Partial<DecisionLimits>,
): DecisionProblem[] {
  const result = tryPrepareDecision(input, limits);
  return result.ok ? [] : result.problems;
}

/** Validates and canonicalizes; throws `DecisionValidationError` listing every problem. */
export function prepareDecision(
  input: unknown,
  limits?: Partial<DecisionLimits>,
): PreparedDecision {
  const result = tryPrepareDecision(input, limits);
  if (!result.ok) throw new DecisionValidationError(result.problems);
  return result.prepared;
}

/** `prepareDecision` returning problems as a value instead of throwing. */
export function tryPrepareDecision(
  input: unknown,
  overrides?: Partial<DecisionLimits>,
): DecisionResult {
  return prepareValue(input, decisionLimits(overrides), undefined);
}

/**
 * Validates and canonicalizes `input`. `source`, when given, is the UTF-8 text `input` was
 * parsed from: if it is already canonical it is kept as the canonical bytes (a view, no copy),
 * since canonical(parse(b)) is b for canonical b; otherwise the value is serialized.
 */
function prepareValue(
  input: unknown,
  limits: DecisionLimits,
  source: Uint8Array | undefined,
): DecisionResult {
  const problems = new ProblemList();
  if (!isPlainObject(input)) {
    problems.add('$', 'type', `a decision must be a JSON object, got ${describe(input)}`);
    return { ok: false, problems: problems.items ?? [] };
  }
  checkFields(problems, input, limits);
  let canonical: Uint8Array;
  // Declined (or a problem found) means serializing, which also reports values that are not
  // JSON; the recognizer declines whatever the serializer would reject as too deep.
  if (
    problems.items === null &&
    source !== undefined &&
    isCanonicalJsonBytes(source, limits.maxDepth)
  ) {
    canonical = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  } else {
    const text = serialize(problems, input, limits);
    if (problems.items !== null) return { ok: false, problems: problems.items };
    canonical = encodeUtf8View(text);
  }
  if (canonical.length > limits.maxRecordBytes) {
    problems.add(
      '$',
      'too_large',
      `canonical decision is ${canonical.length} bytes; the limit is ${limits.maxRecordBytes}`,
    );
    return { ok: false, problems: problems.items ?? [] };
  }
  const decision = input as unknown as Decision;
  return {
    ok: true,
    prepared: {
      decision,
      canonical,
      recordId: decision.record_id,
      timestampNs: BigInt(decision.timestamp_ns),
      entityId: decision.entity_id,
      sessionId: decision.session_id,
      domain: decision.domain,
    },
  };
}

/**
 * One NDJSON line (or request body) to a prepared decision. Invalid UTF-8, malformed JSON and
 * oversize input are problems like any other; nothing throws. When `bytes` is already canonical
 * JSON, `prepared.canonical` is a view of `bytes` itself: leave them unmodified while it is used.
 */
export function parseDecisionLine(
  bytes: Uint8Array,
  overrides?: Partial<DecisionLimits>,
): DecisionResult {
  const limits = decisionLimits(overrides);
  if (bytes.length > limits.maxInputBytes) {
    return fail(
      'too_large',
      `input is ${bytes.length} bytes; the limit is ${limits.maxInputBytes}`,
    );
  }
  let text: string;
  try {
    // Strict: invalid sequences, encoded surrogates and overlong forms throw (a BOM is dropped).
    text = utf8.decode(bytes);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return fail('invalid_utf8', 'input is not valid UTF-8');
  }
  return parseAndPrepare(text, limits, bytes);
}

/** Like `parseDecisionLine`, for text already decoded. */
export function parseDecisionText(
  text: string,
  overrides?: Partial<DecisionLimits>,
): DecisionResult {
  return parseAndPrepare(text, decisionLimits(overrides), undefined);
}

/** `text` as JSON, then `prepareValue`; `source` is the bytes `text` was decoded from, if any. */
function parseAndPrepare(
  text: string,
  limits: DecisionLimits,
  source: Uint8Array | undefined,
): DecisionResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const detail = text.trim() === '' ? 'empty input' : err.message;
    return fail('malformed_json', `input is not JSON: ${detail}`);
  }
  return prepareValue(value, limits, source);
}

/**
 * UTF-8 bytes of `text` as a plain Uint8Array view. Node's Buffer.from encodes several times
 * faster than TextEncoder for short strings; small results share a pooled ArrayBuffer, so the
 * view has a byteOffset and its `.buffer` must never be transferred or assumed exclusive.
 */
function encodeUtf8View(text: string): Uint8Array {
  const b = Buffer.from(text, 'utf8');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function fail(
  code: 'too_large' | 'invalid_utf8' | 'malformed_json',
  message: string,
): DecisionResult {
  return { ok: false, problems: [{ path: '$', code, message }] };
}

function checkFields(
  problems: ProblemList,
  d: Record<string, unknown>,
  limits: DecisionLimits,
): void {
  const id = limits.maxIdLength;
  checkKnownMembers(problems, '$', d, MEMBER_SET);
  if (
    checkText(problems, '$.record_id', d.record_id, id) &&
    !RECORD_ID.test(d.record_id as string)
  ) {
    problems.add('$.record_id', 'pattern', 'may contain only A-Z a-z 0-9 . _ : -');
  }
  if (d.spec_version === undefined) {
    problems.add('$.spec_version', 'required', 'is required');
  } else if (d.spec_version !== SPEC_VERSION) {
    problems.add(
      '$.spec_version',
      'unsupported_version',
      `must be "${SPEC_VERSION}", got ${JSON.stringify(d.spec_version) ?? describe(d.spec_version)}`,
    );
  }
  checkObject(problems, '$.ctx', d.ctx);
  checkText(problems, '$.model_id', d.model_id, id);
  const trace = d.reasoning_trace;
  if (trace === undefined) {
    problems.add('$.reasoning_trace', 'required', 'is required');
  } else if (typeof trace !== 'string' && !Array.isArray(trace)) {
    problems.add(
      '$.reasoning_trace',
      'type',
      `must be a string or an array of steps, got ${describe(trace)}`,
    );
  }
  if (d.output === undefined) problems.add('$.output', 'required', 'is required');
  if (checkObject(problems, '$.ppp_triplet', d.ppp_triplet)) {
    const ppp = d.ppp_triplet;
    checkKnownMembers(problems, '$.ppp_triplet', ppp, PPP_MEMBER_SET);
    checkText(problems, '$.ppp_triplet.provenance', ppp.provenance, limits.maxTextLength);
    checkText(problems, '$.ppp_triplet.place', ppp.place, limits.maxTextLength);
    checkText(problems, '$.ppp_triplet.purpose', ppp.purpose, limits.maxTextLength);
  }
  checkChain(problems, '$.human_delta_chain', d.human_delta_chain, limits);
  checkTimestamp(problems, '$.timestamp_ns', d.timestamp_ns);
  checkText(problems, '$.entity_id', d.entity_id, id);
  checkText(problems, '$.session_id', d.session_id, id);
  checkText(problems, '$.domain', d.domain, id);
  if (d.ext !== undefined) checkObject(problems, '$.ext', d.ext);
}

/**
 * Canonical JSON of the known members, in canonical order; non-JSON values anywhere below them
 * (lone surrogates, non-finite numbers, nesting too deep, ...) become problems.
 */
function serialize(
  problems: ProblemList,
  d: Record<string, unknown>,
  limits: DecisionLimits,
): string {
  let out = '{';
  let first = true;
  for (let i = 0; i < MEMBERS.length; i++) {
    const name = MEMBERS[i] as string;
    const value = d[name];
    if (value === undefined) continue;
    const prefix = MEMBER_PREFIX[i] as string;
    out += first ? (i === 0 ? prefix : prefix.slice(1)) : prefix;
    first = false;
    try {
      out += canonicalJsonFast(value, `$.${name}`, 1, limits.maxDepth);
    } catch (err) {
      if (!(err instanceof CanonicalJsonError)) throw err;
      problems.add(err.path, err.code === 'too_deep' ? 'too_deep' : 'not_json', err.detail);
    }
  }
  return out + '}';
}
