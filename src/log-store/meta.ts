// meta.json: what a log directory holds (format, hash function, geometry), written once when
// the log is created and checked on every open.
import fs from 'node:fs';
import type { Hasher } from '../core/hash.ts';
import { syncDirectory } from './append-file.ts';
import { LogStoreError } from './errors.ts';
import { FORMAT, TILE_HEIGHT, logLayout } from './layout.ts';

export interface LogMeta {
  format: string;
  hash: string;
  segment_records: number;
  tile_height: number;
}

/** Reads meta.json (creating it for a new log) and checks this build can use the log. */
export function loadMeta(dir: string, hasher: Hasher, segmentRecords: number): LogMeta {
  const metaPath = logLayout(dir, segmentRecords).meta;
  const want: LogMeta = {
    format: FORMAT,
    hash: hasher.name,
    segment_records: segmentRecords,
    tile_height: TILE_HEIGHT,
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
    const tmp = `${metaPath}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(want) + '\n');
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, metaPath);
    syncDirectory(dir);
    return want;
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
  return have;
}
