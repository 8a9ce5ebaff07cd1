// Where the shards are. `--shards` is either an explicit list or a URL template for the
// stable per-pod names a Kubernetes StatefulSet gives (`http://agdr-shard-{i}.agdr-shard:7070`,
// the headless-service DNS form); with a template the shard ids come from the routing table.
import { ClientError } from './errors.ts';

export interface ShardEndpoint {
  id: number;
  url: string;
}

export type ShardDirectory =
  { kind: 'list'; shards: ShardEndpoint[] } | { kind: 'template'; template: string };

function checkUrl(url: string, path: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.replace('{i}', '0'));
  } catch {
    throw new ClientError('bad_config', `not a URL: '${url}'`, path);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ClientError('bad_config', `shard URL must be http(s): '${url}'`, path);
  }
  return url.replace(/\/+$/, '');
}

/**
 * Parses `--shards`: `URL,URL,...` (ids 0, 1, ... in order), `ID=URL,ID=URL,...`, or a single
 * URL containing `{i}`.
 */
export function parseShardDirectory(spec: string): ShardDirectory {
  const text = spec.trim();
  if (text === '') throw new ClientError('bad_config', 'empty shard list', '--shards');
  if (text.includes('{i}')) {
    if (text.includes(',')) {
      throw new ClientError('bad_config', 'a {i} template is one URL, not a list', '--shards');
    }
    return { kind: 'template', template: checkUrl(text, '--shards') };
  }
  const shards: ShardEndpoint[] = [];
  const parts = text.split(',').map((p) => p.trim());
  parts.forEach((part, index) => {
    const path = `--shards[${index}]`;
    const m = /^(\d+)=(.+)$/.exec(part);
    const id = m ? Number(m[1]) : index;
    const url = checkUrl(m ? (m[2] as string) : part, path);
    if (!Number.isSafeInteger(id)) throw new ClientError('bad_config', 'bad shard id', path);
    if (shards.some((s) => s.id === id)) {
      throw new ClientError('bad_config', `shard ${id} listed twice`, path);
    }
    shards.push({ id, url });
  });
  return { kind: 'list', shards: shards.sort((a, b) => a.id - b.id) };
}

/** The URL of shard `id`, or undefined if the directory does not know it. */
export function shardUrl(dir: ShardDirectory, id: number): string | undefined {
  if (dir.kind === 'template') return dir.template.replaceAll('{i}', String(id));
  return dir.shards.find((s) => s.id === id)?.url;
}
