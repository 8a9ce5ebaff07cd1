// Answers as they cross the wire: every JSON body a client returns is checked by core's
// checkers first, and a body that fails is an `http_body` error naming the URL and the field.
import { reasonOf } from '../core/errors.ts';
import { shapeChecks } from '../core/json-shape.ts';
import type { ShapeChecks } from '../core/json-shape.ts';
import { HttpError } from './errors.ts';

/** `check(body)`, with any failure reported as an unusable answer from `url`. */
export function checked<T>(url: string, body: unknown, check: (value: unknown) => T): T {
  try {
    return check(body);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError('http_body', url, `${url}: ${reasonOf(err)}`);
  }
}

/** Shape checks whose failures are `http_body` errors of `url`. */
export function bodyChecks(url: string): ShapeChecks {
  return shapeChecks(
    (path, message) => new HttpError('http_body', url, `${url}: ${path} ${message}`),
  );
}

/** The `hashes` of a proof answer (`{"hashes": ["<hex>", ...]}`), as bytes. */
export function proofHashes(url: string, body: unknown): Uint8Array[] {
  const c: ShapeChecks = bodyChecks(url);
  return c.hashList(c.object(body, '$').hashes, '$.hashes');
}
