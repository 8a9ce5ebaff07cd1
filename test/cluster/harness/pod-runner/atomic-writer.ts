// kubelet's AtomicWriter for ConfigMap, Secret, downward API and projected volumes: the files
// live in a timestamped directory `..YYYY_MM_DD_hh_mm_ss.N`, `..data` is a symlink to it, and
// each top-level name is a symlink through `..data`. An update writes a new directory and swaps
// `..data` with one rename, so a reader sees the old set of files or the new one, never a mix.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

export interface PayloadFile {
  readonly data: Uint8Array;
  /** File mode, e.g. 0o644. */
  readonly mode: number;
}

/** Relative path inside the volume → content. */
export type Payload = ReadonlyMap<string, PayloadFile>;

const DATA_LINK = '..data';
const DATA_TMP_LINK = '..data_tmp';
let sequence = 0;

/** Writes `payload` into `dir` atomically; returns false when the files were already current. */
export function writeAtomically(dir: string, payload: Payload): boolean {
  mkdirSync(dir, { recursive: true });
  const dataLink = join(dir, DATA_LINK);
  const current = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  if (current !== undefined && sameContent(join(dir, current), payload)) return false;

  const stamp = new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*$/, '');
  const tsName = `..${stamp}.${process.pid}${(sequence += 1)}`;
  const tsDir = join(dir, tsName);
  mkdirSync(tsDir);
  for (const [path, file] of payload) {
    const target = join(tsDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.data);
    chmodSync(target, file.mode);
  }
  const tmpLink = join(dir, DATA_TMP_LINK);
  rmSync(tmpLink, { force: true });
  symlinkSync(tsName, tmpLink);
  renameSync(tmpLink, dataLink);

  const topLevel = new Set([...payload.keys()].map((p) => p.split('/')[0] ?? p));
  for (const name of topLevel) {
    const link = join(dir, name);
    if (!isSymlink(link)) symlinkSync(join(DATA_LINK, name), link);
  }
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..')) {
      if (entry !== DATA_LINK && entry !== tsName) rmSync(join(dir, entry), { recursive: true });
    } else if (!topLevel.has(entry)) {
      rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
  return true;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function sameContent(tsDir: string, payload: Payload): boolean {
  const files = listFiles(tsDir);
  if (files.length !== payload.size) return false;
  for (const path of files) {
    const want = payload.get(path);
    if (!want) return false;
    const full = join(tsDir, path);
    if ((lstatSync(full).mode & 0o777) !== want.mode) return false;
    if (!Buffer.from(want.data).equals(readFileSync(full))) return false;
  }
  return true;
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out;
}
