// The record_ids being appended (from the append call until the index has committed them), so a
// repeat that arrives meanwhile is answered with the original. Tens of thousands are in flight
// at full ingest, each for a fraction of a second: an open-addressing table over typed arrays
// (linear probing, deletion by backward shift) keyed by the id's 32-bit hash and checked against
// its bytes, so adding, finding and removing an id allocate nothing and build no string.
import { rangesEqual, startOf } from '../core/bytes.ts';
import type { IdList } from './record-ids.ts';

/** A match: entry k of the call added with `value`. */
export interface InFlightMatch<V> {
  readonly value: V;
  readonly k: number;
}

interface Call<V> {
  readonly list: IdList;
  /** Entry k is id items[k] of list. */
  readonly items: readonly number[];
  readonly value: V;
}

const EMPTY = -1;
const INITIAL_CAPACITY = 1 << 14;

export class InFlightIds<V> {
  /** Per slot: the call's handle (EMPTY when free), the entry k, the id's hash. */
  #owner = new Int32Array(INITIAL_CAPACITY).fill(EMPTY);
  #entry = new Int32Array(INITIAL_CAPACITY);
  #hash = new Uint32Array(INITIAL_CAPACITY);
  #mask = INITIAL_CAPACITY - 1;
  #size = 0;
  readonly #calls = new Map<number, Call<V>>();
  #nextHandle = 0;

  /** Ids in the table. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds ids items[0..] of `list` as entries k = 0.. of one call; returns the call's handle for
   * `remove`. An id already in the table is not expected (a repeat is answered, not re-added);
   * if one is added anyway, `find` returns one of the two.
   */
  add(list: IdList, items: readonly number[], value: V): number {
    const handle = this.#nextHandle;
    this.#nextHandle = (this.#nextHandle + 1) & 0x7fffffff; // handles are >= 0 (EMPTY is -1)
    this.#calls.set(handle, { list, items, value });
    this.#reserve(items.length);
    for (let k = 0; k < items.length; k++) {
      this.#insert(handle, k, list.idHashes[items[k] as number] as number);
    }
    return handle;
  }

  /** Removes every id of the call `handle` (no-op once removed). */
  remove(handle: number): void {
    const call = this.#calls.get(handle);
    if (call === undefined) return;
    this.#calls.delete(handle);
    for (let k = 0; k < call.items.length; k++) {
      const hash = call.list.idHashes[call.items[k] as number] as number;
      let slot = hash & this.#mask;
      while (this.#owner[slot] !== handle || this.#entry[slot] !== k) {
        // Every entry of a call is in the table until it is removed: a free slot first means
        // the table is broken, and failing beats probing forever on the event loop.
        if (this.#owner[slot] === EMPTY)
          throw new Error(`in-flight id ${k} of call ${handle} lost`);
        slot = (slot + 1) & this.#mask;
      }
      this.#deleteAt(slot);
    }
  }

  /** The call and entry holding the id bytes[start..end) (whose idHash is `hash`), if any. */
  find(bytes: Uint8Array, start: number, end: number, hash: number): InFlightMatch<V> | undefined {
    const owner = this.#owner;
    for (let slot = hash & this.#mask; owner[slot] !== EMPTY; slot = (slot + 1) & this.#mask) {
      if (this.#hash[slot] !== hash) continue;
      const call = this.#calls.get(owner[slot] as number) as Call<V>;
      const k = this.#entry[slot] as number;
      const i = call.items[k] as number;
      if (
        rangesEqual(
          call.list.ids,
          startOf(call.list.idEnds, i),
          call.list.idEnds[i] as number,
          bytes,
          start,
          end,
        )
      ) {
        return { value: call.value, k };
      }
    }
    return undefined;
  }

  #insert(handle: number, k: number, hash: number): void {
    let slot = hash & this.#mask;
    while (this.#owner[slot] !== EMPTY) slot = (slot + 1) & this.#mask;
    this.#owner[slot] = handle;
    this.#entry[slot] = k;
    this.#hash[slot] = hash;
    this.#size++;
  }

  /** Frees `slot`, moving later entries of its probe run back so every lookup still finds them. */
  #deleteAt(slot: number): void {
    const mask = this.#mask;
    const owner = this.#owner;
    let hole = slot;
    for (let next = (hole + 1) & mask; owner[next] !== EMPTY; next = (next + 1) & mask) {
      const home = (this.#hash[next] as number) & mask;
      // The entry at `next` may move into the hole when its home is not cyclically in (hole, next].
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        owner[hole] = owner[next] as number;
        this.#entry[hole] = this.#entry[next] as number;
        this.#hash[hole] = this.#hash[next] as number;
        hole = next;
      }
    }
    owner[hole] = EMPTY;
    this.#size--;
  }

  /** Keeps the load at most one half after `more` inserts (the table only grows). */
  #reserve(more: number): void {
    let capacity = this.#mask + 1;
    while (2 * (this.#size + more) > capacity) capacity *= 2;
    if (capacity === this.#mask + 1) return;
    const owner = this.#owner;
    const entry = this.#entry;
    const hash = this.#hash;
    this.#owner = new Int32Array(capacity).fill(EMPTY);
    this.#entry = new Int32Array(capacity);
    this.#hash = new Uint32Array(capacity);
    this.#mask = capacity - 1;
    this.#size = 0;
    for (let s = 0; s < owner.length; s++) {
      if (owner[s] !== EMPTY)
        this.#insert(owner[s] as number, entry[s] as number, hash[s] as number);
    }
  }
}
