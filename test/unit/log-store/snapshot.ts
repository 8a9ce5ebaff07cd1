// A byte-level snapshot of a directory tree (every entry's relative path and kind, and every
// file's SHA-256), for asserting that a read-only operation left a directory exactly as it was.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function snapshotTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const name = path.join(rel, e.name);
      if (e.isDirectory()) {
        out.push(`${name}/`);
        walk(name);
      } else {
        const digest = createHash('sha256').update(fs.readFileSync(path.join(root, name)));
        out.push(`${name} ${digest.digest('hex')}`);
      }
    }
  };
  walk('');
  return out.sort();
}
