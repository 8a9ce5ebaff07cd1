// Field checks shared by the decision and chain validators. Each returns whether the field is
// acceptable and records a problem otherwise.
import type { ProblemList } from './problems.ts';
import { U64_MAX } from './timestamp.ts';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Records `required` when `value` is absent; returns whether it is present. */
export function present(problems: ProblemList, path: string, value: unknown): boolean {
  if (value !== undefined) return true;
  problems.add(path, 'required', 'is required');
  return false;
}

/** A string (any, also empty); absent is a problem only when `required`. */
export function checkString(
  problems: ProblemList,
  path: string,
  value: unknown,
  required: boolean,
): value is string {
  if (value === undefined) {
    if (required) problems.add(path, 'required', 'is required');
    return false;
  }
  if (typeof value === 'string') return true;
  problems.add(path, 'type', `must be a string, got ${describe(value)}`);
  return false;
}

/** A boolean; absent is a problem only when `required`. */
export function checkBoolean(
  problems: ProblemList,
  path: string,
  value: unknown,
  required: boolean,
): value is boolean {
  if (value === undefined) {
    if (required) problems.add(path, 'required', 'is required');
    return false;
  }
  if (typeof value === 'boolean') return true;
  problems.add(path, 'type', `must be true or false, got ${describe(value)}`);
  return false;
}

export function isInteger(value: unknown): value is number | bigint {
  return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
}

/** A JSON integer (JSON Schema "integer": any number without a fraction). */
export function checkInteger(
  problems: ProblemList,
  path: string,
  value: unknown,
  required: boolean,
): value is number | bigint {
  if (value === undefined) {
    if (required) problems.add(path, 'required', 'is required');
    return false;
  }
  if (isInteger(value)) return true;
  problems.add(path, 'type', `must be an integer, got ${describe(value)}`);
  return false;
}

/**
 * A nanosecond timestamp: an integer in [0, 2^64 - 1]. Returns its canonical decimal text, or
 * undefined (with a problem recorded) when it is absent or not such an integer.
 */
export function checkTimestamp(
  problems: ProblemList,
  path: string,
  value: unknown,
): string | undefined {
  if (!checkInteger(problems, path, value, true)) return undefined;
  const n = typeof value === 'bigint' ? value : BigInt(value);
  if (n < 0n || n > U64_MAX) {
    problems.add(
      path,
      'timestamp',
      'must be nanoseconds since the Unix epoch: an integer from 0 to 18446744073709551615',
    );
    return undefined;
  }
  return n.toString(10);
}

export function checkObject(
  problems: ProblemList,
  path: string,
  value: unknown,
): value is Record<string, unknown> {
  if (value === undefined) {
    problems.add(path, 'required', 'is required');
    return false;
  }
  if (!isPlainObject(value)) {
    problems.add(path, 'type', `must be an object, got ${describe(value)}`);
    return false;
  }
  return true;
}
