// Field checks shared by the structure checks and the verifiers: each throws a GlobalRootError
// (`invalid_record`) carrying the field path.
import { fromBase64 } from '../bytes.ts';
import { parseCheckpointNote, parseOrigin, type Checkpoint } from '../checkpoint.ts';
import { shapeChecks, type ShapeChecks } from '../json-shape.ts';
import { GlobalRootError } from './types.ts';

export function invalid(path: string, message: string): GlobalRootError {
  return new GlobalRootError('invalid_record', path, message);
}

const shape = shapeChecks(invalid);
export const obj = shape.object;
export const members = shape.members;
export const index: ShapeChecks['index'] = shape.index;
export const u64: ShapeChecks['u64'] = shape.u64;
export const text: ShapeChecks['text'] = shape.text;
export const hexHash = shape.hash;
export function hex32(v: unknown, path: string): void {
  shape.hash(v, path);
}

/** Canonical standard base64 (see fromBase64), as a record error carrying the field path. */
export function strictBase64(text: string, path: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch (err) {
    throw invalid(path, `is not canonical base64: ${(err as Error).message}`);
  }
}

export function checkpointOfNote(note: unknown, path: string): Checkpoint {
  if (typeof note !== 'string') throw invalid(path, 'must be a signed note (string)');
  try {
    return parseCheckpointNote(note);
  } catch (err) {
    throw invalid(path, `not a checkpoint: ${(err as Error).message}`);
  }
}

export function safeOrigin(origin: string, path: string): ReturnType<typeof parseOrigin> {
  try {
    return parseOrigin(origin);
  } catch (err) {
    throw invalid(path, (err as Error).message);
  }
}
