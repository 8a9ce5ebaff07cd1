// One writer per log directory: a LOCK file holding the owner's pid, created whole and atomically
// (link of a written file), plus an in-process set (tests and `agdr local` open several logs in
// one process, never the same one twice).
import fs from 'node:fs';
import path from 'node:path';
import { LogStoreError } from './errors.ts';

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the LOCK holding this pid, atomically and whole: the pid is written to a file of its
 * own, which is then linked as LOCK (link fails if LOCK exists). A full disk or any other write
 * error leaves no LOCK behind (an empty one would block every later start). Returns false when
 * a LOCK already exists.
 */
function createLock(lockPath: string): boolean {
  const tmp = `${lockPath}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
    fs.linkSync(tmp, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The LOCK's content, or undefined when there is none. */
function readLock(lockPath: string): string | undefined {
  try {
    return fs.readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The pid a LOCK's content names, or undefined (empty, torn or not a pid: a stale lock). */
function ownerOf(content: string): number | undefined {
  const text = content.trim();
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * Takes the lock: created if there is none; taken over if the one there is stale (its process
 * is gone, or it names no process: an empty or torn file); refused (`locked`) while a live
 * process holds it. A stale lock is moved aside by rename, so of two processes taking it over at
 * once only one moves it; the other finds the new owner's lock and is refused.
 */
export function acquireLock(lockPath: string): void {
  checkHeldHere(lockPath);
  for (let attempt = 0; attempt < 4; attempt++) {
    if (createLock(lockPath)) {
      heldHere.add(path.resolve(lockPath));
      return;
    }
    const content = readLock(lockPath);
    if (content === undefined) continue;
    const owner = ownerOf(content);
    if (owner !== undefined && owner !== process.pid && alive(owner)) {
      throw new LogStoreError('locked', `${lockPath}: log is open in process ${owner}`);
    }
    const aside = `${lockPath}.stale.${process.pid}`;
    try {
      fs.renameSync(lockPath, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    // Another process may have replaced the stale lock between the read and the rename: then
    // its live lock was moved, and goes back.
    if (fs.readFileSync(aside, 'utf8') !== content) {
      try {
        fs.linkSync(aside, lockPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    fs.rmSync(aside, { force: true });
  }
  throw new LogStoreError(
    'locked',
    `${lockPath}: could not take the lock (other processes race for it)`,
  );
}

/** Errors of writing the lock where nothing may be written: read-only media, no permission. */
const CANNOT_WRITE = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * The lock for a read-only check: refused while a live process holds it, as for a writer, and
 * taken when it can be written (so no writer starts during the check). Where the directory may
 * not be written (read-only media, an archive copy without write permission) the check goes on
 * without one: nothing can write there either. Returns whether the lock file was written.
 */
export function acquireReadLock(lockPath: string): boolean {
  try {
    acquireLock(lockPath);
    return true;
  } catch (err) {
    if (!CANNOT_WRITE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  // Nothing can be written here; a live owner still refuses the check.
  const content = readLock(lockPath);
  const owner = content === undefined ? undefined : ownerOf(content);
  if (owner !== undefined && owner !== process.pid && alive(owner)) {
    throw new LogStoreError('locked', `${lockPath}: log is open in process ${owner}`);
  }
  heldHere.add(path.resolve(lockPath));
  return false;
}

/** Throws `locked` when this process holds the lock already. */
function checkHeldHere(lockPath: string): void {
  if (heldHere.has(path.resolve(lockPath)))
    throw new LogStoreError('locked', `${lockPath}: log is already open in this process`);
}

/** Releases the lock; `wrote: false` (a read-only check that wrote none) leaves the file alone. */
export function releaseLock(lockPath: string, wrote = true): void {
  heldHere.delete(path.resolve(lockPath));
  if (wrote) fs.rmSync(lockPath, { force: true });
}
