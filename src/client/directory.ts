// Where decisions go: the routing epoch table in force and the shards' URLs, from a coordinator
// or from explicit shard URLs, reloaded when a shard says the client's table is stale (a 421, a
// 409 shard_retired, or an X-AgDR-Routing-Hash that differs from the table's hash).
import { epochTableHash } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import { CoordinatorClient, shardUrls } from '../clients/coordinator-api.ts';
import { ShardClient } from '../clients/shard-api.ts';
import { shardUrl } from '../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import type { TokenSource } from '../clients/bearer-token.ts';

export type DirectorySource =
  | { kind: 'coordinator'; coordinator: CoordinatorClient; table: EpochTable | undefined }
  | { kind: 'shards'; shards: ShardDirectory; table: EpochTable | undefined };

export interface RoutingView {
  table: EpochTable;
  hash: string;
}

export class ShardDirectoryView {
  readonly #source: DirectorySource;
  readonly #timeoutMs: number;
  readonly #token: TokenSource | undefined;
  #view: RoutingView | undefined;
  #urls = new Map<number, string>();
  #reloading: Promise<void> | undefined;
  #loaded = false;
  /** Bumped on every table change: a batch routed under an older version is re-routed. */
  version = 0;

  constructor(source: DirectorySource, timeoutMs: number, token: TokenSource | undefined) {
    this.#source = source;
    this.#timeoutMs = timeoutMs;
    this.#token = token;
    if (source.table !== undefined) this.#adopt(source.table);
    // Explicit shards and a table: nothing to ask anyone before routing.
    this.#loaded = source.kind === 'shards' && source.table !== undefined;
  }

  /** The table in force (after `load`). */
  get view(): RoutingView {
    if (this.#view === undefined) throw new Error('the routing table is not loaded yet');
    return this.#view;
  }

  /** Whether routing can start: the table and (from a coordinator) the shard URLs are in. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** A reload in progress, if any: routing waits for it. */
  get reloading(): Promise<void> | undefined {
    return this.#reloading;
  }

  urlOf(shard: number): string | undefined {
    if (this.#source.kind === 'shards') return shardUrl(this.#source.shards, shard);
    return this.#urls.get(shard);
  }

  /** The first load: the table and the shard URLs. Errors propagate (nothing to route by). */
  async load(): Promise<void> {
    if (this.#source.kind === 'coordinator') {
      const c = this.#source.coordinator;
      const [table, urls] = await Promise.all([this.#source.table ?? c.routing(), shardUrls(c)]);
      this.#urls = urls;
      if (this.#view === undefined) this.#adopt(table);
    } else if (this.#view === undefined) {
      this.#adopt(await this.#fromShards());
    }
    this.#loaded = true;
  }

  /**
   * Reloads after a shard said the table is stale: its own table (the one it enforces) is
   * adopted when it is newer than ours, and the shard URLs are refreshed. Concurrent calls share
   * one reload. Failures leave the table as it was (the caller retries and asks again).
   */
  reload(hintUrl: string | undefined): Promise<void> {
    this.#reloading ??= this.#reload(hintUrl).finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reload(hintUrl: string | undefined): Promise<void> {
    const candidates: EpochTable[] = [];
    if (hintUrl !== undefined) {
      candidates.push(await new ShardClient(hintUrl, this.#timeoutMs, this.#token).routing());
    }
    if (this.#source.kind === 'coordinator') {
      const c = this.#source.coordinator;
      const [table, urls] = await Promise.all([c.routing(), shardUrls(c)]);
      for (const [id, url] of urls) this.#urls.set(id, url);
      candidates.push(table);
    } else if (hintUrl === undefined) {
      candidates.push(await this.#fromShards());
    }
    for (const t of candidates) if (isNewer(t, this.#view?.table)) this.#adopt(t);
  }

  async #fromShards(): Promise<EpochTable> {
    const dir = (this.#source as { shards: ShardDirectory }).shards;
    const first = dir.kind === 'list' ? dir.shards[0]?.url : shardUrl(dir, 0);
    if (first === undefined) throw new Error('no shard URL to read the routing table from');
    return new ShardClient(first, this.#timeoutMs, this.#token).routing();
  }

  #adopt(table: EpochTable): void {
    this.#view = { table, hash: epochTableHash(table) };
    this.version++;
  }
}

/**
 * Whether `t` should replace `current`. Tables only grow at the end (a new epoch per scale), so
 * the one with the later last epoch is newer; a table of a shard that has not yet re-read its
 * file is older and is not adopted (the shard catches up within its poll interval).
 */
function isNewer(t: EpochTable, current: EpochTable | undefined): boolean {
  if (current === undefined) return true;
  const last = (x: EpochTable): number => x.epochs[x.epochs.length - 1]?.epoch ?? -1;
  if (last(t) !== last(current)) return last(t) > last(current);
  return epochTableHash(t) !== epochTableHash(current) && t.epochs.length >= current.epochs.length;
}
