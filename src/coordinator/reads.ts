// The coordinator's read side: what its HTTP API serves, answered from the global log, the state
// rebuilt from it and the files in force. Reads only; sealing lives in coordinator.ts. Every
// answer is a core type (global log entries parsed by core's checker), never `unknown`.
import type { Registry } from 'prom-client';
import type { GlobalLogEntry, ShardListing } from '../clients/coordinator-api.ts';
import { shardUrl } from '../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import type { TrustBundle } from '../clients/trust.ts';
import { toHex } from '../core/bytes.ts';
import { parseGlobalLogEntry } from '../core/global-root/index.ts';
import type { GlobalLogRecord, GlobalRootRecord, ShardEntry } from '../core/global-root/index.ts';
import type { KeyHistory } from '../core/key-history.ts';
import type { EpochTable } from '../core/routing.ts';
import type { Signer } from '../core/signer.ts';
import type { CoordinatorView } from './api.ts';
import { coordinatorKeyEntry } from './checkpoints.ts';
import type { GlobalLog } from './global-log.ts';
import type { RoutingHistory } from './routing-history.ts';
import { earliestAtLeast } from './seal-search.ts';
import { shardsToAggregate } from './shard-set.ts';
import type { CoordinatorState, MissingReport } from './state.ts';

/** A page of GET /v1/global-roots stops after this many bytes of records. */
const PAGE_BYTES = 8 * 1024 * 1024;

/** What the reads are answered from; functions where the coordinator replaces the value. */
export interface CoordinatorReadSources {
  readonly log: GlobalLog;
  /** The state in force (recovery replaces it). */
  state(): CoordinatorState;
  trust(): TrustBundle;
  routing(): EpochTable;
  shardDirectory(): ShardDirectory;
  readonly tables: RoutingHistory;
  readonly signer: Signer;
  keyHistory(): KeyHistory;
  clockNs(): bigint;
  ready(): boolean;
  failure(): Error | undefined;
  readonly registry: Registry;
}

type RootEntry = GlobalLogEntry<GlobalRootRecord>;

function isRootEntry(e: GlobalLogEntry): e is RootEntry {
  return e.record.type === 'global_root';
}

export class CoordinatorReads implements CoordinatorView {
  readonly #src: CoordinatorReadSources;

  constructor(sources: CoordinatorReadSources) {
    this.#src = sources;
  }

  ready(): boolean {
    return this.#src.ready();
  }

  failure(): Error | undefined {
    return this.#src.failure();
  }

  registry(): Registry {
    return this.#src.registry;
  }

  size(): number {
    return this.#src.log.size;
  }

  globalRootCount(): number {
    return this.#src.state().nextId;
  }

  async entry(index: number): Promise<GlobalLogEntry | undefined> {
    const { log } = this.#src;
    if (!Number.isSafeInteger(index) || index < 0 || index >= log.size) return undefined;
    return this.#entryOf(index, await log.read(index));
  }

  async #entryOf(index: number, bytes: Uint8Array): Promise<GlobalLogEntry<GlobalLogRecord>> {
    return {
      index,
      leaf_hash: toHex(await this.#src.log.leafHash(index)),
      record: parseGlobalLogEntry(bytes),
    };
  }

  /** The entry at `index`, which the state says holds a global root record. */
  async #rootEntry(index: number, bytes?: Uint8Array): Promise<RootEntry> {
    const e = await this.#entryOf(index, bytes ?? (await this.#src.log.read(index)));
    if (!isRootEntry(e)) throw new RangeError(`global log entry ${index} is not a global root`);
    return e;
  }

  async globalRoots(from: number, limit: number): Promise<RootEntry[]> {
    const state = this.#src.state();
    const out: RootEntry[] = [];
    // A record lists every shard; with many shards a page is cut by size as well as count.
    let bytes = 0;
    for (let id = from; id < state.nextId && out.length < limit && bytes < PAGE_BYTES; id++) {
      const index = state.rootIndex.at(id) as number;
      const raw = await this.#src.log.read(index);
      bytes += raw.length;
      out.push(await this.#rootEntry(index, raw));
    }
    return out;
  }

  globalRoot(id: number): Promise<RootEntry | undefined> {
    const index = this.#src.state().rootIndex.at(id);
    return index === undefined ? Promise.resolve(undefined) : this.#rootEntry(index);
  }

  latestGlobalRoot(): Promise<RootEntry | undefined> {
    const last = this.#src.state().lastRoot;
    return last === undefined ? Promise.resolve(undefined) : this.#rootEntry(last.index);
  }

  async sealing(shard: number, minSize: number): Promise<RootEntry | undefined> {
    const entryOf = async (id: number): Promise<{ e: RootEntry; shard: ShardEntry }> => {
      const e = await this.globalRoot(id);
      if (e === undefined) throw new RangeError(`no global root ${id}`);
      const s = e.record.shard_roots.find((x) => x.shard_id === shard);
      if (s === undefined)
        throw new RangeError(`global root ${id} has no entry for shard ${shard}`);
      return { e, shard: s };
    };
    for (const run of this.#src.state().presence.get(shard) ?? []) {
      const first = await earliestAtLeast(
        run.from,
        run.to,
        minSize,
        async (id) => (await entryOf(id)).shard.tree_size,
      );
      if (first === undefined) continue;
      // The first root at that size sealed it (ok), unless the seal was a reconstruction record,
      // whose round's global root is the next one with the shard ok.
      for (let id = first; id <= run.to; id++) {
        const { e, shard: s } = await entryOf(id);
        if (s.status === 'ok') return e;
      }
    }
    return undefined;
  }

  latestCheckpoint(): Promise<string | undefined> {
    return this.#src.log.latestCheckpoint();
  }

  checkpointAt(size: number): Promise<string | undefined> {
    return this.#src.log.checkpointAt(size);
  }

  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return this.#src.log.inclusionProof(index, size);
  }

  consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return this.#src.log.consistencyProof(from, to);
  }

  missing(): MissingReport {
    return this.#src.state().missingReport();
  }

  keys(): TrustBundle {
    const bundle = this.#src.trust();
    const own = coordinatorKeyEntry(this.#src.signer);
    const keys = bundle.keys.some((k) => k.verifier_key === own.verifier_key)
      ? bundle.keys
      : [...bundle.keys, own];
    return { version: 1, keys };
  }

  keyHistory(): KeyHistory {
    return this.#src.keyHistory();
  }

  routing(): EpochTable {
    return this.#src.routing();
  }

  routingTable(hash: string): Promise<EpochTable | undefined> {
    return this.#src.tables.get(hash);
  }

  shards(): { shards: ShardListing[] } {
    const state = this.#src.state();
    const ids = shardsToAggregate(this.#src.routing(), this.#src.clockNs(), state);
    const known = new Set([...ids, ...state.shards.keys()]);
    const directory = this.#src.shardDirectory();
    return {
      shards: [...known]
        .sort((a, b) => a - b)
        .map((id) => ({ ...state.describeShard(id), url: shardUrl(directory, id) ?? null })),
    };
  }
}
