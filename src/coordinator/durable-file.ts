// Replacing a small file so that a crash leaves the old content or the new, never a mix:
// temporary file, fsync, rename, directory fsync.
import fs from 'node:fs';
import path from 'node:path';

export async function writeFileDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  const dir = await fs.promises.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
