// The record_ids of a prepared batch as bytes: one buffer of ASCII ids back to back, their end
// offsets, and a 32-bit hash of each. The prepare step makes them once in its worker, so the
// writer thread never builds a string per decision: the in-flight lookup hashes nothing, the
// LMDB index takes the bytes as its key (the same bytes lmdb's key encoding writes for the
// string, so the stored index is unchanged), and receipts copy them.
import { startOf } from '../core/bytes.ts';

/** Record ids i = 0..n-1 as bytes: id i is ids[startOf(idEnds, i) .. idEnds[i]). */
export interface IdList {
  readonly ids: Uint8Array;
  readonly idEnds: Uint32Array;
  /** idHash of each id. */
  readonly idHashes: Uint32Array;
}

/** 32-bit FNV-1a of b[start..end): cheap, and spreads the short ASCII ids well enough for a table. */
export function idHash(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ (b[k] as number), 0x01000193);
  return h >>> 0;
}

/**
 * Packs record ids (validated, so ASCII: /^[A-Za-z0-9._:-]+$/) into an IdList. Throws on a
 * character past ASCII rather than store a byte that is not the id's.
 */
export function packIds(recordIds: readonly string[]): IdList {
  let total = 0;
  for (const id of recordIds) total += id.length;
  const ids = new Uint8Array(total);
  const idEnds = new Uint32Array(recordIds.length);
  const idHashes = new Uint32Array(recordIds.length);
  let at = 0;
  for (let i = 0; i < recordIds.length; i++) {
    const id = recordIds[i] as string;
    const start = at;
    for (let c = 0; c < id.length; c++) {
      const code = id.charCodeAt(c);
      if (code > 0x7f) throw new RangeError(`record_id ${JSON.stringify(id)} is not ASCII`);
      ids[at++] = code;
    }
    idEnds[i] = at;
    idHashes[i] = idHash(ids, start, at);
  }
  return { ids, idEnds, idHashes };
}

/** Id i's bytes (a view, no copy). */
export function idAt(list: IdList, i: number): Uint8Array {
  return list.ids.subarray(startOf(list.idEnds, i), list.idEnds[i]);
}

/** Id i as a string (for the few places that report it). */
export function recordIdAt(list: IdList, i: number): string {
  return Buffer.from(list.ids.buffer, list.ids.byteOffset, list.ids.byteLength).toString(
    'latin1',
    startOf(list.idEnds, i),
    list.idEnds[i],
  );
}
