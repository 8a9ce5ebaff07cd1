// Small files written so that a crash leaves the old content or the new, never a mix: a fresh
// temporary file beside the target (created exclusively, with the final mode), fsync, then
// rename or link into place and fsync the directory.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Writes `text` to a fresh temporary file beside `file` (fsynced); returns its path. */
export async function writeTemp(file: string, text: string, mode: number): Promise<string> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `file` with `text` atomically and durably. */
export async function replaceFile(file: string, text: string, mode: number): Promise<void> {
  const tmp = await writeTemp(file, text, mode);
  await rename(tmp, file);
  await syncDir(path.dirname(file));
}
