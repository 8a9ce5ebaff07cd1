// RFC 6901 JSON pointers, as routing tables name where a decision's routing key lies.
import { memberPath } from './jcs.ts';

const TOKEN = /^(?:[^~]|~[01])*$/;

/** A pointer to a member or element: "/a/b", never "" (the whole document). */
export function isKeyPointer(pointer: string): boolean {
  if (!pointer.startsWith('/')) return false;
  return pointer
    .slice(1)
    .split('/')
    .every((t) => TOKEN.test(t));
}

/** The reference tokens of a pointer, unescaped (~1 is "/", ~0 is "~"). */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const INDEX = /^(?:0|[1-9][0-9]*)$/;

/** The value `pointer` refers to in `doc`, or undefined when there is none (RFC 6901 §4). */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(v)) {
      if (!INDEX.test(token)) return undefined;
      v = v[Number(token)];
    } else if (typeof v === 'object' && v !== null && Object.hasOwn(v, token)) {
      v = (v as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
    if (v === undefined) return undefined;
  }
  return v;
}

/** The JSON path a pointer names, for error messages: "/ctx/entity_id" is "$.ctx.entity_id". */
export function pointerPath(pointer: string): string {
  let path = '$';
  for (const token of pointerTokens(pointer)) {
    path = INDEX.test(token) ? `${path}[${token}]` : memberPath(path, token);
  }
  return path;
}
