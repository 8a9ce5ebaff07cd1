// Structural checks of parsed JSON records (envelopes, global log entries, evidence bundles).
// `shapeChecks(fail)` binds the checks to the caller's error type: each check throws
// `fail(path, message)`.
import { fromHex } from './bytes.ts';
import { isCanonicalU64 } from './decision/timestamp.ts';

export type Fail = (path: string, message: string) => Error;

export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-negative safe integer (sizes, indexes, ids). */
export function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** A 32-byte hash in lowercase hex, the only accepted spelling (no RegExp: clients test thousands). */
export function isHashHex(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

export interface ShapeChecks {
  object(value: unknown, path: string): Record<string, unknown>;
  /** Exactly these members: each present, no other. */
  members(o: Record<string, unknown>, names: readonly string[], path: string): void;
  index(value: unknown, path: string): asserts value is number;
  u64(value: unknown, path: string): asserts value is string;
  text(value: unknown, path: string): asserts value is string;
  /** A 32-byte hash in lowercase hex (the only accepted spelling). */
  hash(value: unknown, path: string): Uint8Array;
  hashList(value: unknown, path: string): Uint8Array[];
}

export function shapeChecks(fail: Fail): ShapeChecks {
  const hash = (v: unknown, path: string): Uint8Array => {
    if (!isHashHex(v)) {
      throw fail(path, 'must be a 32-byte hash in lowercase hex');
    }
    return fromHex(v);
  };
  return {
    object(v, path) {
      if (!isJsonObject(v)) throw fail(path, 'must be an object');
      return v;
    },
    members(o, names, path) {
      for (const n of names) if (!Object.hasOwn(o, n)) throw fail(`${path}.${n}`, 'is required');
      for (const k of Object.keys(o)) {
        if (!names.includes(k)) throw fail(`${path}.${k}`, 'is not a field here');
      }
    },
    index(v, path) {
      if (!isIndex(v)) throw fail(path, 'must be a non-negative integer');
    },
    u64(v, path) {
      if (typeof v !== 'string' || !isCanonicalU64(v)) {
        throw fail(path, 'must be a canonical u64 decimal string');
      }
    },
    text(v, path) {
      if (typeof v !== 'string' || v.length === 0) throw fail(path, 'must be a non-empty string');
    },
    hash,
    hashList(v, path) {
      if (!Array.isArray(v)) throw fail(path, 'must be an array of hashes');
      return v.map((h: unknown, i: number) => hash(h, `${path}[${i}]`));
    },
  };
}
