// A crash image that needs repair on open: a torn, unacknowledged tail of records and stale and
// missing tile nodes past the durable marker, with intact data below it.
import fs from 'node:fs';
import path from 'node:path';
import { toBase64 } from '../../../src/core/bytes.ts';
import { MerkleLog } from '../../../src/log-store/index.ts';
import { crashImage, entries } from './fixtures.ts';

/** Records per segment in the image (records 1000.. are in the second segment). */
export const SEGMENT = 1000;
/** Records appended; the marker (and a checkpoint) stays at FLOOR. */
export const APPENDED = 1283;
export const FLOOR = 512;
/** Records left once the torn tail (the last TORN records) is cut. */
export const TORN = 10;
export const RECOVERED = APPENDED - TORN;
/** Level-1 tile nodes past the marker the image leaves stale (node 2) or missing (node 3). */
export const STALE_NODES = 2;

export interface TornImage {
  readonly dir: string;
  /** Leaf hashes of every appended record. */
  readonly leaves: Uint8Array[];
  /** Closes the live log the image was copied from. */
  readonly close: () => Promise<void>;
}

export function checkpointNote(size: number, root: Uint8Array): string {
  return `example.org/log\n${size}\n${toBase64(root)}\n\n— x AAAAAAAA\n`;
}

/** Appends, checkpoints at FLOOR, copies the live directory and damages the copy's tail. */
export async function tornImage(live: string): Promise<TornImage> {
  const log = await MerkleLog.open({ dir: live, markIntervalMs: 1e9, segmentRecords: SEGMENT });
  const leaves = (await log.append(entries(FLOOR))).map((r) => r.leafHash);
  await log.saveCheckpoint(FLOOR, checkpointNote(FLOOR, log.root()));
  leaves.push(...(await log.append(entries(APPENDED - FLOOR))).map((r) => r.leafHash));
  const dir = crashImage(live);

  // Torn tail: the second segment ends 2 bytes into record RECOVERED.
  const idx = fs.readFileSync(path.join(dir, 'leaves.idx'));
  const end = idx.readUInt32LE((RECOVERED - 1) * 40 + 32);
  fs.truncateSync(path.join(dir, 'records', '0000000000001000.seg'), end + 2);
  // Tiles past the marker (level-1 nodes 2 and up): node 2 stale, node 3 missing, a partial
  // node after it.
  const level1 = path.join(dir, 'tiles', 'level-1.hashes');
  const nodes = fs.readFileSync(level1).subarray(0, 2 * 32);
  fs.writeFileSync(level1, Buffer.concat([nodes, Buffer.alloc(32, 7), Buffer.alloc(7, 9)]));
  return { dir, leaves, close: () => log.close() };
}
