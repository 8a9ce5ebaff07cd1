// kubelet's atomic layout of ConfigMap/Secret volumes: `..data` swapped by one rename.
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { writeAtomically } from '../../cluster/harness/pod-runner/atomic-writer.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const file = (text: string, mode = 0o644) => ({ data: Buffer.from(text), mode });

describe('writeAtomically', () => {
  it('lays files out behind ..data, updates by swapping it, and drops removed keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agdr-atomic-'));
    dirs.push(dir);
    const first = new Map([
      ['routing.json', file('{"v":1}')],
      ['a/b.txt', file('b', 0o600)],
    ]);
    expect(writeAtomically(dir, first)).toBe(true);
    const firstDir = readlinkSync(join(dir, '..data'));
    expect(firstDir).toMatch(/^\.\.\d{4}_/);
    expect(readlinkSync(join(dir, 'routing.json'))).toBe('..data/routing.json');
    expect(readFileSync(join(dir, 'routing.json'), 'utf8')).toBe('{"v":1}');
    expect(readFileSync(join(dir, 'a/b.txt'), 'utf8')).toBe('b');
    expect(statSync(join(dir, 'a/b.txt')).mode & 0o777).toBe(0o600);

    // Same content: nothing is rewritten.
    expect(writeAtomically(dir, first)).toBe(false);
    expect(readlinkSync(join(dir, '..data'))).toBe(firstDir);

    expect(writeAtomically(dir, new Map([['routing.json', file('{"v":2}')]]))).toBe(true);
    expect(readlinkSync(join(dir, '..data'))).not.toBe(firstDir);
    expect(readFileSync(join(dir, 'routing.json'), 'utf8')).toBe('{"v":2}');
    expect(readdirSync(dir).sort()).toEqual(
      ['..data', readlinkSync(join(dir, '..data')), 'routing.json'].sort(),
    );
  });
});
