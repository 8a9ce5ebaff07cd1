import { describe, expect, it } from 'vitest';
import { parseShardDirectory, shardUrl } from '../../../src/clients/shard-endpoints.ts';
import { ClientError } from '../../../src/clients/errors.ts';

describe('parseShardDirectory', () => {
  it('numbers a plain list in order', () => {
    const dir = parseShardDirectory('http://127.0.0.1:7071/, http://127.0.0.1:7072');
    expect(dir).toEqual({
      kind: 'list',
      shards: [
        { id: 0, url: 'http://127.0.0.1:7071' },
        { id: 1, url: 'http://127.0.0.1:7072' },
      ],
    });
  });

  it('takes explicit ids and sorts by id', () => {
    const dir = parseShardDirectory('3=http://b:1,1=http://a:1');
    expect(shardUrl(dir, 1)).toBe('http://a:1');
    expect(shardUrl(dir, 3)).toBe('http://b:1');
    expect(shardUrl(dir, 2)).toBeUndefined();
  });

  it('expands a {i} template for any shard id (StatefulSet pod DNS names)', () => {
    const dir = parseShardDirectory('http://agdr-shard-{i}.agdr-shard.ns.svc:7070');
    expect(shardUrl(dir, 12)).toBe('http://agdr-shard-12.agdr-shard.ns.svc:7070');
  });

  it.each([
    ['', '--shards'],
    ['ftp://x', '--shards[0]'],
    ['not a url', '--shards[0]'],
    ['0=http://a,0=http://b', '--shards[1]'],
    ['http://a-{i},http://b', '--shards'],
  ])('rejects %j with a path', (spec, path) => {
    try {
      parseShardDirectory(spec);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).path).toBe(path);
    }
  });
});
