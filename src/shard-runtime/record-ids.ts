// The record_ids of a prepared batch as bytes: one buffer of ASCII ids back to back, their end
// offsets, and a 32-bit hash of each. The prepare step makes them once in its worker, so the
// writer thread never builds a string per decision: the in-flight lookup hashes nothing, the
// LMDB index takes the bytes as its key (the same bytes lmdb's key encoding writes for the
// string, so the stored index is unchanged), and receipts copy them.
import { copyBytes, rangesEqual, startOf, withRoom } from '../core/bytes.ts';

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
 * Builds an IdList one id at a time, from the id's bytes (its text in a canonical line) or from
 * a string. Ids are validated first, so ASCII (/^[A-Za-z0-9._:-]+$/).
 */
export class IdListBuilder {
  #ids: Uint8Array;
  #at = 0;
  #count = 0;
  readonly #ends: Uint32Array;
  readonly #hashes: Uint32Array;

  /** Room for `count` ids (the byte buffer grows when needed). */
  constructor(count: number) {
    this.#ids = new Uint8Array(Math.max(64, 32 * count));
    this.#ends = new Uint32Array(count);
    this.#hashes = new Uint32Array(count);
  }

  /** Adds the id whose bytes are b[start..end). */
  addBytes(b: Uint8Array, start: number, end: number): void {
    const from = this.#reserve(end - start);
    this.#at = copyBytes(b, start, end, this.#ids, this.#at);
    this.#close(from);
  }

  /** Adds `id`; throws on a character past ASCII rather than store a byte that is not the id's. */
  addString(id: string): void {
    const from = this.#reserve(id.length);
    for (let c = 0; c < id.length; c++) {
      const code = id.charCodeAt(c);
      if (code > 0x7f) throw new RangeError(`record_id ${JSON.stringify(id)} is not ASCII`);
      this.#ids[this.#at++] = code;
    }
    this.#close(from);
  }

  finish(): IdList {
    return {
      ids: this.#ids.subarray(0, this.#at),
      idEnds: this.#ends.subarray(0, this.#count),
      idHashes: this.#hashes.subarray(0, this.#count),
    };
  }

  #reserve(bytes: number): number {
    this.#ids = withRoom(this.#ids, this.#at, this.#at + bytes);
    return this.#at;
  }

  #close(from: number): void {
    this.#ends[this.#count] = this.#at;
    this.#hashes[this.#count] = idHash(this.#ids, from, this.#at);
    this.#count++;
  }
}

/** Packs validated record ids into an IdList (see IdListBuilder.addString). */
export function packIds(recordIds: readonly string[]): IdList {
  const builder = new IdListBuilder(recordIds.length);
  for (const id of recordIds) builder.addString(id);
  return builder.finish();
}

/** For each id, the index of its first occurrence when that is earlier, else -1. */
export function repeats(list: IdList): Int32Array {
  const n = list.idEnds.length;
  const hashes = list.idHashes;
  const sameAs = new Int32Array(n).fill(-1);
  // An open-addressing table of the first index of each distinct id, found from its hash's
  // slot on (a few typed arrays per batch, not a Map entry per decision): a lookup walks past
  // other ids to its own (a repeat) or to a free slot (a first occurrence, which takes it).
  let size = 16;
  while (size < 2 * n) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  for (let i = 0; i < n; i++) {
    const h = hashes[i] as number;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const j = slots[slot] as number;
      if (j < 0) {
        slots[slot] = i;
        break;
      }
      if (hashes[j] === h && sameId(list, i, j)) {
        sameAs[i] = j;
        break;
      }
    }
  }
  return sameAs;
}

function sameId(list: IdList, i: number, j: number): boolean {
  const { ids, idEnds } = list;
  return rangesEqual(
    ids,
    startOf(idEnds, i),
    idEnds[i] as number,
    ids,
    startOf(idEnds, j),
    idEnds[j] as number,
  );
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
