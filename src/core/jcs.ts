// RFC 8785 JSON Canonicalization Scheme (JCS), with one extension: integers keep every digit.
//
// `canonicalJson` checks that the value is strictly JSON (the I-JSON data model: plain objects,
// dense arrays, well-formed strings, finite numbers, booleans, null, plus bigints for integers
// outside the safe range) and serializes it in the same pass. RFC 8785 serializes every number
// as an IEEE 754 double, which rounds integers beyond 2^53 (1796569260694147634 would become
// 1796569260694147600); here a bigint is written as its exact decimal digits, and the record
// reader (json-exact.ts) reads every integer literal outside the safe range as a bigint. For
// values without bigints the output is RFC 8785 byte for byte: tests compare it with the
// `canonicalize` package, the RFC author's implementation, on random values.
import { FieldError } from './errors.ts';
import { utf8 } from './bytes.ts';

/** `bigint` holds an integer outside the safe range exactly (see json-exact.ts). */
export type JsonPrimitive = string | number | bigint | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type CanonicalJsonErrorCode =
  | 'undefined'
  | 'non_finite_number'
  | 'function'
  | 'symbol'
  | 'not_plain_object'
  | 'lone_surrogate'
  | 'array_hole'
  | 'cycle'
  | 'too_deep';

/** A value that has no RFC 8785 canonical form. `path` is a JSON path such as `$.a[2].b`. */
export class CanonicalJsonError extends FieldError<CanonicalJsonErrorCode> {
  override name = 'CanonicalJsonError';
  /** The message without the path. */
  readonly detail: string;
  constructor(code: CanonicalJsonErrorCode, path: string, detail: string) {
    super(code, path, detail);
    this.detail = detail;
  }
}

/** Nesting allowed by default (objects and arrays); deeper values are rejected as `too_deep`. */
export const DEFAULT_MAX_DEPTH = 256;

/** Canonical JSON text of `value` (RFC 8785). Throws `CanonicalJsonError` on non-JSON input. */
export function canonicalJson(value: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): string {
  return canonicalJsonFast(value, '$', 0, maxDepth);
}

/** UTF-8 bytes of `canonicalJson(value)`. */
export function canonicalBytes(value: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): Uint8Array {
  return utf8.encode(canonicalJson(value, maxDepth));
}

/** Throws `CanonicalJsonError` unless `value` is strictly a JSON value. */
export function assertJsonValue(
  value: unknown,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): asserts value is JsonValue {
  canonicalJsonFast(value, '$', 0, maxDepth);
}

/**
 * Canonical JSON text of `value`, validated in the same pass (the hot-path serializer).
 * `path` names `value` in error messages; `depth` is the nesting already consumed above it.
 */
export function canonicalJsonFast(
  value: unknown,
  path = '$',
  depth = 0,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): string {
  try {
    return writeCanonical(value, depth, maxDepth, scratchAncestors);
  } catch (err) {
    scratchAncestors.length = 0;
    if (err instanceof Failure) throw err.toError(path);
    throw err;
  }
}

/** A JSON string literal in canonical form; throws on lone surrogates. */
export function canonicalString(s: string, path = '$'): string {
  if (!s.isWellFormed()) {
    throw new CanonicalJsonError('lone_surrogate', path, 'string contains a lone surrogate');
  }
  return quote(s);
}

/**
 * JSON string literal of a well-formed string. JSON.stringify escapes exactly as RFC 8785
 * §3.2.2.2 requires; most strings need no escape at all, and quoting those directly is several
 * times cheaper than the call.
 */
function quote(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

// Ancestor stack reused across calls (serialization is synchronous); reset after a failure.
const scratchAncestors: object[] = [];

// Internal failure: paths are assembled only while unwinding, so the success path allocates
// no path strings.
class Failure {
  readonly code: CanonicalJsonErrorCode;
  readonly message: string;
  readonly segments: string[] = [];
  constructor(code: CanonicalJsonErrorCode, message: string) {
    this.code = code;
    this.message = message;
  }
  toError(base: string): CanonicalJsonError {
    let path = base;
    for (let i = this.segments.length - 1; i >= 0; i--) path += this.segments[i];
    return new CanonicalJsonError(this.code, path, this.message);
  }
}

function writeCanonical(
  value: unknown,
  depth: number,
  maxDepth: number,
  ancestors: object[],
): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed())
        throw new Failure('lone_surrogate', 'string contains a lone surrogate');
      return quote(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new Failure('non_finite_number', `${value} is not a JSON number`);
      }
      // Number::toString is the RFC 8785 §3.2.2.3 serialization (and gives "0" for -0).
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      throw new Failure('undefined', 'undefined is not a JSON value');
    case 'bigint':
      // An integer outside the safe range, kept exact (json-exact.ts): its decimal digits.
      return value.toString(10);
    case 'function':
      throw new Failure('function', 'a function is not a JSON value');
    case 'symbol':
      throw new Failure('symbol', 'a symbol is not a JSON value');
  }
  if (value === null) return 'null';
  const obj = value as object;
  if (depth >= maxDepth) {
    // Cycles are found here too: a cycle always runs into the depth limit.
    if (ancestors.includes(obj)) throw new Failure('cycle', 'circular reference');
    throw new Failure('too_deep', `nesting deeper than ${maxDepth}`);
  }
  // A subtree that is valid JSON with every object's keys already in canonical order serializes
  // the same through the native JSON.stringify, several times faster than building it here.
  if (isCanonicalReady(obj, depth, maxDepth)) return JSON.stringify(obj);
  ancestors.push(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = obj[i];
      try {
        if (item === undefined && !(i in obj)) throw new Failure('array_hole', 'sparse array');
        out += writeCanonical(item, depth + 1, maxDepth, ancestors);
      } catch (err) {
        if (err instanceof Failure) err.segments.push(`[${i}]`);
        throw err;
      }
    }
    out += ']';
  } else {
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new Failure('not_plain_object', `${name} is not a plain JSON object`);
    }
    const record = obj as Record<string, unknown>;
    // Default sort orders by UTF-16 code units, exactly RFC 8785 §3.2.3.
    const keys = Object.keys(record);
    if (!isSorted(keys)) keys.sort();
    out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0) out += ',';
      try {
        if (!key.isWellFormed())
          throw new Failure('lone_surrogate', 'member name contains a lone surrogate');
        out += quote(key);
        out += ':';
        out += writeCanonical(record[key], depth + 1, maxDepth, ancestors);
      } catch (err) {
        if (err instanceof Failure) err.segments.push(memberSegment(key));
        throw err;
      }
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}

/**
 * True when `v` is strictly JSON within the depth limit and every object's own keys enumerate
 * in strictly increasing UTF-16 order, so that JSON.stringify(v) is its RFC 8785 form: number
 * and string forms are the same (ECMAScript Number::toString, JSON.stringify escaping of
 * well-formed strings), and JSON.stringify emits members in Object.keys order.
 */
function isCanonicalReady(v: object, depth: number, maxDepth: number): boolean {
  if (depth >= maxDepth) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!isReadyValue(v[i], depth + 1, maxDepth)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const record = v as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0 && (keys[i - 1] as string) >= key) return false;
    if (!key.isWellFormed() || !isReadyValue(record[key], depth + 1, maxDepth)) return false;
  }
  return true;
}

function isReadyValue(x: unknown, depth: number, maxDepth: number): boolean {
  switch (typeof x) {
    case 'string':
      return x.isWellFormed();
    case 'number':
      return Number.isFinite(x);
    case 'boolean':
      return true;
    case 'object':
      return x === null || isCanonicalReady(x, depth, maxDepth);
    default:
      return false;
  }
}

// Input from canonical producers is usually sorted already; checking is cheaper than sorting.
function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** JSON path of member `key` of the value at `path`: `$.a` or `$["a b"]`. */
export function memberPath(path: string, key: string): string {
  return path + memberSegment(key);
}

function memberSegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
