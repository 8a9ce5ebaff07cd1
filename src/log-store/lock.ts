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
  fs.writeFileSync(lockPath, `${process.pid}\n`);
  heldHere.add(key);
}

export function releaseLock(lockPath: string): void {
  heldHere.delete(path.resolve(lockPath));
  fs.rmSync(lockPath, { force: true });
}
