// `--shards-file`: the shard endpoint list as a JSON file the coordinator re-reads when it
// changes, `{"shards": [{"id": 0, "url": "http://10.244.0.5:7071"}, ...]}`. The operator writes
// it into a ConfigMap from the shard pods' IPs, so a shard that comes back on a new address is
// found again without cluster DNS and without restarting the coordinator.
import { ClientError } from '../clients/errors.ts';
import { CoordinatorError } from './errors.ts';
import { parseShardDirectory } from '../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import { WatchedJsonFile } from './watched-file.ts';
import type { ReloadListener } from './watched-file.ts';

/** Checks a parsed shard list file; throws with the JSON path of the first problem. */
export function validateShardList(value: unknown): ShardDirectory {
  const fail = (message: string, path: string): never => {
    throw new CoordinatorError('bad_config', message, path);
  };
  if (typeof value !== 'object' || value === null) fail('shard list must be an object', '$');
  const shards = (value as { shards?: unknown }).shards;
  if (!Array.isArray(shards)) return fail('shards must be an array', '$.shards');
  if (shards.length === 0) return { kind: 'list', shards: [] };
  const entries = shards.map((s: unknown, i) => {
    const e = s as { id?: unknown; url?: unknown } | null;
    if (typeof e !== 'object' || e === null) fail('must be an object', `$.shards[${i}]`);
    if (!Number.isSafeInteger(e?.id) || (e?.id as number) < 0)
      fail('id must be a non-negative integer', `$.shards[${i}].id`);
    if (typeof e?.url !== 'string' || e.url.includes(',') || e.url.includes('{'))
      fail('url must be an http(s) URL', `$.shards[${i}].url`);
    return `${e?.id as number}=${e?.url as string}`;
  });
  try {
    return parseShardDirectory(entries.join(','));
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    const index = /\[(\d+)\]/.exec(err.path ?? '')?.[1];
    throw new CoordinatorError('bad_config', err.message, `$.shards[${index ?? '?'}]`);
  }
}

export function openShardListFile(
  path: string,
  onReload?: ReloadListener,
): WatchedJsonFile<ShardDirectory> {
  return new WatchedJsonFile(path, validateShardList, 'bad_config', onReload);
}
