// Field checks shared by the decision and chain validators. Each returns true when the field is
// acceptable and records a problem otherwise.
import { memberPath } from '../jcs.ts';
import type { ProblemList } from './problems.ts';
import { isCanonicalU64 } from './timestamp.ts';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A required string that is non-empty and at most `maxLength` UTF-16 code units. */
export function checkText(
  problems: ProblemList,
  path: string,
  value: unknown,
  maxLength: number,
): value is string {
  if (value === undefined) {
    problems.add(path, 'required', 'is required');
    return false;
  }
  if (typeof value !== 'string') {
    problems.add(path, 'type', `must be a string, got ${describe(value)}`);
    return false;
  }
  if (value.length === 0) {
    problems.add(path, 'empty', 'must not be empty');
    return false;
  }
  if (value.length > maxLength) {
    problems.add(path, 'too_long', `must be at most ${maxLength} characters, got ${value.length}`);
    return false;
  }
  return true;
}

export function checkTimestamp(problems: ProblemList, path: string, value: unknown): boolean {
  if (value === undefined) {
    problems.add(path, 'required', 'is required');
    return false;
  }
  if (typeof value !== 'string') {
    problems.add(
      path,
      'timestamp',
      `must be a decimal string of nanoseconds (a u64 does not fit a JSON number), got ${describe(value)}`,
    );
    return false;
  }
  if (!isCanonicalU64(value)) {
    problems.add(
      path,
      'timestamp',
      'must be an unsigned 64-bit integer in canonical decimal (digits only, no leading zeros)',
    );
    return false;
  }
  return true;
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

/** Reports every member of `obj` not in `allowed`. */
export function checkKnownMembers(
  problems: ProblemList,
  path: string,
  obj: Record<string, unknown>,
  allowed: ReadonlySet<string>,
): void {
  for (const key in obj) {
    if (!allowed.has(key) && Object.hasOwn(obj, key)) {
      problems.add(
        memberPath(path, key),
        'unknown_field',
        'is not a field of this record (put extensions under "ext")',
      );
    }
  }
}
