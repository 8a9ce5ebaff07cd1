import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoordinatorError } from '../../../src/coordinator/errors.ts';
import { openShardListFile, validateShardList } from '../../../src/coordinator/shard-list-file.ts';

function pathOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CoordinatorError) return err.path;
    throw err;
  }
  return 'accepted';
}

describe('shard list file', () => {
  it('accepts {"shards": [{id, url}]} in any order and an empty list', () => {
    expect(
      validateShardList({
        shards: [
          { id: 2, url: 'http://10.244.0.9:7071/' },
          { id: 0, url: 'http://10.244.0.8:7071' },
        ],
      }),
    ).toEqual({
      kind: 'list',
      shards: [
        { id: 0, url: 'http://10.244.0.8:7071' },
        { id: 2, url: 'http://10.244.0.9:7071' },
      ],
    });
    expect(validateShardList({ shards: [] })).toEqual({ kind: 'list', shards: [] });
  });

  it('names the field of a bad entry', () => {
    expect(pathOf(() => validateShardList([]))).toBe('$.shards');
    expect(pathOf(() => validateShardList({ shards: [{ id: -1, url: 'http://a' }] }))).toBe(
      '$.shards[0].id',
    );
    expect(pathOf(() => validateShardList({ shards: [{ id: 0, url: 'ftp://a' }] }))).toBe(
      '$.shards[0]',
    );
    expect(
      pathOf(() =>
        validateShardList({
          shards: [
            { id: 0, url: 'http://a' },
            { id: 0, url: 'http://b' },
          ],
        }),
      ),
    ).toBe('$.shards[1]');
    expect(pathOf(() => validateShardList({ shards: [{ id: 0, url: 'http://{i}' }] }))).toBe(
      '$.shards[0].url',
    );
  });

  it('is re-read when it changes and keeps the last good list when it turns bad', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'agdr-shards-'));
    try {
      const file = path.join(dir, 'shards.json');
      await writeFile(file, JSON.stringify({ shards: [{ id: 0, url: 'http://10.0.0.1:1' }] }));
      const reloads: string[] = [];
      const watched = openShardListFile(file, (r) => reloads.push(r));
      await writeFile(file, JSON.stringify({ shards: [{ id: 0, url: 'http://10.0.0.2:1' }] }));
      await utimes(file, new Date(), new Date(Date.now() + 5_000));
      expect(watched.current()).toEqual({
        kind: 'list',
        shards: [{ id: 0, url: 'http://10.0.0.2:1' }],
      });
      await writeFile(file, '{"shards": 1}');
      await utimes(file, new Date(), new Date(Date.now() + 10_000));
      expect(watched.current()).toEqual({
        kind: 'list',
        shards: [{ id: 0, url: 'http://10.0.0.2:1' }],
      });
      expect(reloads).toEqual(['ok', 'error']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
