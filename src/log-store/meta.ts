// meta.json: what a log directory holds (format, hash function, geometry) and whose log it is
// (its identity: origin, shard, cluster), written once when the log is created and checked on
// every open, so that a log can never be opened as another one (directories swapped or mounted
// on the wrong pod).
import fs from 'node:fs';
import type { Hasher } from '../core/hash.ts';
import { syncDirectory } from './append-file.ts';
import { LogStoreError } from './errors.ts';
import { FORMAT, TILE_HEIGHT, logLayout } from './layout.ts';

/** Whose log a directory holds: `origin` and whatever else names it (shard id, cluster). */
export type LogIdentity = Readonly<Record<string, string | number>> & { readonly origin: string };

export interface LogMeta {
  format: string;
  hash: string;
  segment_records: number;
  tile_height: number;
  /** Absent only in logs created before identities were kept (adopted on their next open). */
  identity?: LogIdentity;
}

export interface LoadedMeta {
  readonly meta: LogMeta;
  /** The log had no identity and this open wrote the one it was opened as. */
  readonly adopted: boolean;
}

function sameIdentity(a: LogIdentity, b: LogIdentity): boolean {
  const keys = Object.keys(a).sort();
  const other = Object.keys(b).sort();
  return keys.length === other.length && keys.every((k, i) => k === other[i] && a[k] === b[k]);
}

/** Writes meta.json atomically: temporary file, fsync, rename, directory fsync. */
function writeMeta(dir: string, metaPath: string, meta: LogMeta): void {
  const tmp = `${metaPath}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(meta) + '\n', { mode: 0o644 });
  const fd = fs.openSync(tmp, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, metaPath);
  syncDirectory(dir);
}

/**
 * Reads meta.json (creating it for a new log) and checks this build can use the log and, with
 * `identity`, that it is that log (LogStoreError `wrong_log` otherwise). A log without an
 * identity adopts `identity` (unless `readOnly`).
 */
export function loadMeta(
  dir: string,
  hasher: Hasher,
  segmentRecords: number,
  identity?: LogIdentity,
  readOnly = false,
): LoadedMeta {
  const metaPath = logLayout(dir, segmentRecords).meta;
  const want: LogMeta = {
    format: FORMAT,
    hash: hasher.name,
    segment_records: segmentRecords,
    tile_height: TILE_HEIGHT,
    ...(identity === undefined ? {} : { identity }),
  };
  let text: string;
  try {
    text = fs.readFileSync(metaPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!Number.isSafeInteger(segmentRecords) || segmentRecords < 1) {
      throw new LogStoreError(
        'bad_argument',
        `segmentRecords must be a positive integer, got ${segmentRecords}`,
      );
    }
    writeMeta(dir, metaPath, want);
    return { meta: want, adopted: false };
  }
  const have = JSON.parse(text) as LogMeta;
  for (const key of ['format', 'hash', 'tile_height'] as const) {
    if (have[key] !== want[key]) {
      throw new LogStoreError(
        'incompatible',
        `${metaPath}: ${key} is ${String(have[key])}, this build needs ${String(want[key])}`,
      );
    }
  }
  if (!Number.isSafeInteger(have.segment_records) || have.segment_records < 1) {
    throw new LogStoreError(
      'incompatible',
      `${metaPath}: bad segment_records ${String(have.segment_records)}`,
    );
  }
  if (identity === undefined) return { meta: have, adopted: false };
  if (have.identity === undefined) {
    if (readOnly) return { meta: have, adopted: false };
    const adopted = { ...have, identity };
    writeMeta(dir, metaPath, adopted);
    return { meta: adopted, adopted: true };
  }
  if (!sameIdentity(have.identity, identity)) {
    throw new LogStoreError(
      'wrong_log',
      `${metaPath}: this directory holds the log of ${JSON.stringify(have.identity)}, not of ${JSON.stringify(identity)}; refusing to open it as another log`,
    );
  }
  return { meta: have, adopted: false };
}
