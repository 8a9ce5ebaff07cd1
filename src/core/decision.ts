// AgDR v0.2 decisions: validation (every problem, with its JSON path) and canonical bytes, done
// once on ingest so that the log writer only splices and hashes. The decision format is the
// upstream AgDR v0.2 record (docs/spec/30-decisions-and-envelopes.md).
//
// `prepareDecision` is a pure function of its input: it runs in worker threads.
import { utf8 } from './bytes.ts';
import { checkChain } from './decision/chain.ts';
import {
  checkBoolean,
  checkInteger,
  checkObject,
  checkString,
  checkTimestamp,
  describe,
  isPlainObject,
  present,
} from './decision/fields.ts';
import { decisionLimits, type DecisionLimits } from './decision/limits.ts';
import { DecisionValidationError, ProblemList, type DecisionProblem } from './decision/problems.ts';
import {
  PPP_MEMBERS,
  SPEC_VERSION,
  type Decision,
  type PreparedDecision,
} from './decision/types.ts';
import { CanonicalJsonError, canonicalJsonFast } from './jcs.ts';
import { isCanonicalJsonBytes } from './jcs-bytes.ts';
import { JsonTextError, parseJsonWithCanonical } from './json-exact.ts';

export * from './decision/types.ts';
export * from './decision/problems.ts';
export * from './decision/limits.ts';
export { isCanonicalU64, parseU64, formatU64 } from './decision/timestamp.ts';

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
  canonicalText?: string,
): DecisionResult {
  const problems = new ProblemList();
  if (!isPlainObject(input)) {
    problems.add('$', 'type', `a decision must be a JSON object, got ${describe(input)}`);
    return { ok: false, problems: problems.items ?? [] };
  }
  const timestampNs = checkFields(problems, input, limits);
  let canonical: Uint8Array;
  // Declined (or a problem found) means serializing, which also reports values that are not
  // JSON; the recognizer declines whatever the serializer would reject as too deep.
  if (
    problems.items === null &&
    source !== undefined &&
    isCanonicalJsonBytes(source, limits.maxDepth)
  ) {
    canonical = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  } else if (problems.items === null && canonicalText !== undefined) {
    // Built while parsing (json-exact.ts): the same text the serializer writes.
    canonical = encodeUtf8View(canonicalText);
  } else {
    const text = serialize(problems, input, limits);
    if (problems.items !== null || text === undefined) {
      return { ok: false, problems: problems.items ?? [] };
    }
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
      timestampNs: timestampNs as string,
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
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return fail('bom', 'input starts with a UTF-8 byte order mark; send JSON without it');
  }
  let text: string;
  try {
    // Strict: invalid sequences, encoded surrogates and overlong forms throw.
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
  let parsed: { value: unknown; canonical: string | undefined };
  try {
    // Exact: every integer digit kept; duplicate names, a BOM and inexact numbers refused.
    parsed = parseJsonWithCanonical(text, limits.maxDepth);
  } catch (err) {
    if (!(err instanceof JsonTextError)) throw err;
    if (err.code === 'malformed_json') {
      const detail = text.trim() === '' ? 'empty input' : err.detail;
      return {
        ok: false,
        problems: [{ path: err.path, code: err.code, message: `input is not JSON: ${detail}` }],
      };
    }
    return { ok: false, problems: [{ path: err.path, code: err.code, message: err.detail }] };
  }
  return prepareValue(parsed.value, limits, source, parsed.canonical);
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

function fail(code: 'too_large' | 'invalid_utf8' | 'bom', message: string): DecisionResult {
  return { ok: false, problems: [{ path: '$', code, message }] };
}

/** Checks every member this product reads; returns timestamp_ns as decimal when valid. */
function checkFields(
  problems: ProblemList,
  d: Record<string, unknown>,
  limits: DecisionLimits,
): string | undefined {
  const id = d.record_id;
  if (checkString(problems, '$.record_id', id, true)) {
    if (id.length === 0) problems.add('$.record_id', 'empty', 'must not be empty');
    else if (id.length > limits.maxIdLength) {
      problems.add(
        '$.record_id',
        'too_long',
        `must be at most ${limits.maxIdLength} characters, got ${id.length}`,
      );
    } else if (!RECORD_ID.test(id)) {
      problems.add('$.record_id', 'pattern', 'may contain only A-Z a-z 0-9 . _ : -');
    }
  }
  if (present(problems, '$.spec_version', d.spec_version) && d.spec_version !== SPEC_VERSION) {
    problems.add(
      '$.spec_version',
      'unsupported_version',
      `must be "${SPEC_VERSION}", got ${describeValue(d.spec_version)}`,
    );
  }
  checkObject(problems, '$.ctx', d.ctx);
  if (d.model_id !== null) checkString(problems, '$.model_id', d.model_id, false);
  present(problems, '$.reasoning_trace', d.reasoning_trace);
  present(problems, '$.output', d.output);
  if (checkObject(problems, '$.ppp_triplet', d.ppp_triplet)) {
    const ppp = d.ppp_triplet;
    for (const name of PPP_MEMBERS) {
      const path = `$.ppp_triplet.${name}`;
      const v = ppp[name];
      if (checkString(problems, path, v, true) && v.trim() === '') {
        problems.add(
          path,
          'empty',
          v === '' ? 'must not be empty' : 'must state something (it is only whitespace)',
        );
      }
    }
  }
  checkChain(problems, '$.human_delta_chain', d.human_delta_chain, limits);
  checkString(problems, '$.merkle_hash', d.merkle_hash, false);
  checkInteger(problems, '$.merkle_position', d.merkle_position, false);
  if (d.prev_merkle_hash !== null) {
    checkString(problems, '$.prev_merkle_hash', d.prev_merkle_hash, false);
  }
  checkString(problems, '$.signature', d.signature, false);
  if (checkBoolean(problems, '$.committed', d.committed, false) && d.committed !== true) {
    problems.add('$.committed', 'const', 'must be true when present (partial records never exist)');
  }
  return checkTimestamp(problems, '$.timestamp_ns', d.timestamp_ns);
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describe(v);
}

/**
 * Canonical JSON of the whole decision; a non-JSON value anywhere (a lone surrogate, a
 * non-finite number, nesting too deep, ...) becomes a problem and the result undefined.
 */
function serialize(
  problems: ProblemList,
  d: Record<string, unknown>,
  limits: DecisionLimits,
): string | undefined {
  try {
    return canonicalJsonFast(d, '$', 0, limits.maxDepth);
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    problems.add(err.path, err.code === 'too_deep' ? 'too_deep' : 'not_json', err.detail);
    return undefined;
  }
}
