// The record_id index's LMDB environment, as both of its threads open it: the shard's main
// thread reads it, the index writer thread (record-index-worker.ts) writes it. lmdb shares one
// environment per path within a process, so both see the same data.
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { DIR_MODE } from '../log-store/index.ts';

/** record_id (string or its ASCII bytes) -> seq; and the watermark. */
export type IndexDb = Database<number, string | Uint8Array>;

// Not a valid record_id (those match /^[A-Za-z0-9._:-]+$/), so it cannot collide.
/** Key of the watermark: how many records, from seq 0, the index holds. */
export const WATERMARK = '\u0000indexed';

export function openIndexDb(dir: string): { root: RootDatabase; db: IndexDb } {
  // Created here with an explicit mode (not by lmdb), so a umask of 000 cannot widen it.
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const root = open({ path: dir, compression: false });
  return { root, db: root as unknown as IndexDb };
}

/**
 * One commit for the writer thread: id i is keys[startOf(ends, i) .. ends[i]), and the ids are
 * the records of `runs` in order.
 */
export interface IndexWrite {
  type: 'write';
  id: number;
  keys: Uint8Array;
  ends: Uint32Array;
  /** [first seq, count] of each run of consecutive seqs, in log order. */
  runs: [number, number][];
}

export type IndexWorkerRequest = IndexWrite | { type: 'close' };

export type IndexWorkerReply = { id: number; error?: string } | { type: 'closed' };
