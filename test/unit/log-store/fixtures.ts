// Shared helpers for log-store tests: temporary directories, deterministic entries, and
// "crash images" (a copy of a live log's files: what a killed process leaves behind).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import type { EntryBuilder } from '../../../src/log-store/index.ts';

const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-log-'));
  dirs.push(d);
  return d;
}

/** An entry whose bytes name its sequence number and vary in length. */
export function entry(tag = 'e'): EntryBuilder {
  return (seq) => utf8.encode(`${tag}:${seq}:${'x'.repeat(seq % 37)}`);
}

export function entries(n: number, tag = 'e'): EntryBuilder[] {
  return Array.from({ length: n }, () => entry(tag));
}

/** Copies a (possibly open) log directory, as a crash would leave it. */
export function crashImage(dir: string): string {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}
