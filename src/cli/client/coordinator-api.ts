// Client for the coordinator's HTTP API, and discovery of the shards through it.
import { getJson, getText, joinUrl } from '../../coordinator/http.ts';
import { HttpError } from '../../coordinator/errors.ts';
import type { EpochTable } from '../../core/routing.ts';
import type { TrustBundle } from '../../coordinator/trust.ts';
import type { GlobalLogEntry } from '../../coordinator/api.ts';
import { hashesOf } from './shard-api.ts';
import type { ProofJson } from './shard-api.ts';

export interface ShardListing {
  shard_id: number;
  url: string | null;
  status: string | null;
  sealed_size: number | null;
}

export class CoordinatorClient {
  readonly url: string;
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs = 30_000) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
  }

  #get<T>(path: string): Promise<T> {
    return getJson<T>(joinUrl(this.url, path), this.timeoutMs);
  }

  routing(): Promise<EpochTable> {
    return this.#get<EpochTable>('/v1/routing');
  }

  keys(): Promise<TrustBundle> {
    return this.#get<TrustBundle>('/v1/keys');
  }

  async shards(): Promise<ShardListing[]> {
    return (await this.#get<{ shards: ShardListing[] }>('/v1/shards')).shards;
  }

  async latestGlobalRoot(): Promise<GlobalLogEntry | undefined> {
    return this.#orUndefined(this.#get<GlobalLogEntry>('/v1/global-roots/latest'));
  }

  /** The earliest global log entry that sealed `shard` at a size >= `size`, if any yet. */
  sealing(shard: number, size: number): Promise<GlobalLogEntry | undefined> {
    return this.#orUndefined(this.#get<GlobalLogEntry>(`/v1/sealed?shard=${shard}&size=${size}`));
  }

  latestCheckpoint(): Promise<string> {
    return getText(joinUrl(this.url, '/v1/checkpoint'), this.timeoutMs);
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return hashesOf(
      await this.#get<ProofJson>(`/v1/proofs/inclusion?index=${index}&size=${size}`),
      this.url,
    );
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return hashesOf(
      await this.#get<ProofJson>(`/v1/proofs/consistency?from=${from}&to=${to}`),
      this.url,
    );
  }

  async #orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }
}

/** Shard id -> URL as the coordinator knows them. */
export async function shardUrls(coordinator: CoordinatorClient): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const s of await coordinator.shards()) if (s.url !== null) out.set(s.shard_id, s.url);
  return out;
}
