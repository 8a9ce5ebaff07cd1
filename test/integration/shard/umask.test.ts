// Under umask 000 a real `agdr shard` still creates its directories 0755 (the key's 0700) and the
// log's files 0644: nothing it writes becomes world-writable.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, epochTable, removeTempDirs, tempDir, writeRouting } from './shard-process.ts';

afterAll(() => removeTempDirs());

/** Every path under `dir` with its permission bits. */
function modes(dir: string): [string, number][] {
  const out: [string, number][] = [];
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    out.push([name, fs.statSync(path.join(dir, name)).mode & 0o777]);
  }
  return out;
}

it('creates no world-writable directory or file under umask 000', async () => {
  const dir = tempDir();
  const routingFile = writeRouting(dir, epochTable(1));
  const data = path.join(dir, 'data');
  const key = path.join(dir, 'keys', 'shard-0.json');
  const agdr = path.join(ROOT, 'src/cli/agdr.ts');
  const args = ['shard', '--data', data, '--shard-id', '0', '--routing', routingFile];
  args.push('--key', key, '--port', '0', '--json', '--log-level', 'warn');
  const quoted = [process.execPath, agdr, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('sh', ['-c', `umask 000 && exec ${quoted}`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void exited.then((code) => reject(new Error(`agdr shard exited (${code}) before listening`)));
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);

  const found = modes(data);
  expect(found.map(([p]) => p)).toEqual(
    expect.arrayContaining(['log', 'log/records', 'log/tiles', 'log/meta.json', 'record-index']),
  );
  for (const [p, mode] of found) {
    const isDir = fs.statSync(path.join(data, p)).isDirectory();
    // Directories exactly 0755; files never writable by others (the log's are 0644, lmdb's
    // own files 0664).
    if (isDir) expect({ p, mode: mode.toString(8) }).toEqual({ p, mode: '755' });
    else expect({ p, worldWritable: (mode & 0o002) !== 0 }).toEqual({ p, worldWritable: false });
    if (p.startsWith('log'))
      expect({ p, mode: mode.toString(8) }).toEqual({ p, mode: isDir ? '755' : '644' });
  }
  expect((fs.statSync(data).mode & 0o777).toString(8)).toBe('755');
  expect((fs.statSync(path.dirname(key)).mode & 0o777).toString(8)).toBe('700');
});
