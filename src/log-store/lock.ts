// One writer per log directory: a LOCK file holding the owner's pid, plus an in-process set
// (tests and `agdr local` open several logs in one process, never the same one twice).
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

export function acquireLock(lockPath: string): void {
  checkFree(lockPath);
  fs.writeFileSync(lockPath, `${process.pid}\n`);
  heldHere.add(path.resolve(lockPath));
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
  checkFree(lockPath);
  let wrote = true;
  try {
    fs.writeFileSync(lockPath, `${process.pid}\n`);
  } catch (err) {
    if (!CANNOT_WRITE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    wrote = false;
  }
  heldHere.add(path.resolve(lockPath));
  return wrote;
}

/** Throws `locked` when this process or another live one holds the lock. */
function checkFree(lockPath: string): void {
  const key = path.resolve(lockPath);
  if (heldHere.has(key))
    throw new LogStoreError('locked', `${lockPath}: log is already open in this process`);
  let owner = NaN;
  try {
    owner = Number(fs.readFileSync(lockPath, 'utf8').trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // A stale lock from a killed process is taken over; recovery then checks the data.
  if (Number.isSafeInteger(owner) && owner !== process.pid && alive(owner)) {
    throw new LogStoreError('locked', `${lockPath}: log is open in process ${owner}`);
  }
}

/** Releases the lock; `wrote: false` (a read-only check that wrote none) leaves the file alone. */
export function releaseLock(lockPath: string, wrote = true): void {
  heldHere.delete(path.resolve(lockPath));
  if (wrote) fs.rmSync(lockPath, { force: true });
}
