// What the coordinator knows, derived entirely from its global log: replaying the log's
// entries in order rebuilds it after a restart, so there is no second source of truth that
// could disagree with the log (no fork, no duplicate global root id).
import { toHex } from '../core/bytes.ts';
import type { MissedInterval, ShardStatus } from '../core/global-root/index.ts';
import type { MissingReport, ShardListing } from '../clients/coordinator-api.ts';

export type { MissedInterval, ShardStatus };

export type { MissingReport };

/** One shard's line in a global root, reduced to what the coordinator's state needs. */
export interface ShardFact {
  shard_id: number;
  status: ShardStatus;
  /** For ok: the sealed tree size and root. */
  size?: number;
  root?: Uint8Array;
  /** For ok: timestamp_ns of the sealed checkpoint (the shard's clock), when it carries one. */
  checkpoint_ns?: string;
  reason?: string;
}

/** The facts of one global log entry. */
export type EntryFacts =
  | {
      kind: 'global_root';
      id: number;
      interval_start_ns: string;
      interval_end_ns: string;
      /** global_merkle_root, lowercase hex. */
      root: string;
      shards: ShardFact[];
    }
  | {
      kind: 'reconstruction';
      shard_id: number;
      missed: number[];
      size: number;
      root: Uint8Array;
      timestamp_ns: string;
      /** timestamp_ns of the sealed checkpoint, when it carries one. */
      checkpoint_ns?: string;
    };

export interface SealedState {
  size: number;
  root: Uint8Array;
  /** Global log index of the entry that sealed it. */
  index: number;
  /** End of the interval (or time of the reconstruction) in which it was sealed. */
  sealedAtNs: string;
  /** timestamp_ns signed in the sealed checkpoint (the shard's clock); undefined if it has none. */
  checkpointNs: string | undefined;
}

export interface ShardState {
  sealed: SealedState | undefined;
  /** Intervals in which this shard was not sealed, oldest first, awaiting reconstruction. */
  open: MissedInterval[];
  lastStatus: ShardStatus | undefined;
  lastReason: string | undefined;
}

export interface ReconstructionFact {
  index: number;
  shard_id: number;
  missed: MissedInterval[];
  size: number;
}

/**
 * Global log index of each global root id, stored as runs: ids are 0, 1, 2, ... and consecutive
 * ids sit at consecutive indices except where reconstruction records come between, so memory
 * grows with reconstructions, not with history.
 */
export class RootIndex {
  /** Runs in id order: ids [id, next run's id) are at indices index, index + 1, ... */
  readonly runs: { id: number; index: number }[] = [];
  #count = 0;

  get count(): number {
    return this.#count;
  }

  push(index: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last === undefined || last.index + (this.#count - last.id) !== index) {
      this.runs.push({ id: this.#count, index });
    }
    this.#count++;
  }

  /** Index of global root `id`, or undefined. */
  at(id: number): number | undefined {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.#count) return undefined;
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.runs[mid] as { id: number }).id <= id) lo = mid;
      else hi = mid - 1;
    }
    const run = this.runs[lo] as { id: number; index: number };
    return run.index + (id - run.id);
  }

  static fromRuns(runs: { id: number; index: number }[], count: number): RootIndex {
    const r = new RootIndex();
    r.runs.push(...runs);
    r.#count = count;
    return r;
  }
}

/** Reconstructions kept in memory for GET /v1/missing (the log holds them all). */
const RECENT_RECONSTRUCTIONS = 1000;

export class CoordinatorState {
  /** Entries in the global log. */
  size = 0;
  /** Global log index of each global root, by id (ids are 0, 1, 2, ... with no gaps). */
  rootIndex = new RootIndex();
  lastRoot: { id: number; index: number; root: string; interval_end_ns: string } | undefined;
  readonly shards = new Map<number, ShardState>();
  /**
   * Per shard, the runs of consecutive global root ids that have an entry for it (a shard is
   * absent before its epoch starts and after it is retired): what the seal search walks.
   */
  readonly presence = new Map<number, { from: number; to: number }[]>();
  readonly reconstructions: ReconstructionFact[] = [];

  get nextId(): number {
    return this.rootIndex.count;
  }

  shard(id: number): ShardState {
    let s = this.shards.get(id);
    if (s === undefined) {
      s = { sealed: undefined, open: [], lastStatus: undefined, lastReason: undefined };
      this.shards.set(id, s);
    }
    return s;
  }

  #seal(
    shardId: number,
    size: number,
    root: Uint8Array,
    index: number,
    sealedAtNs: string,
    checkpointNs: string | undefined,
  ): void {
    this.shard(shardId).sealed = { size, root, index, sealedAtNs, checkpointNs };
  }

  #present(shardId: number, id: number): void {
    let runs = this.presence.get(shardId);
    if (runs === undefined) this.presence.set(shardId, (runs = []));
    const last = runs[runs.length - 1];
    if (last !== undefined && last.to === id - 1) last.to = id;
    else runs.push({ from: id, to: id });
  }

  /** Applies the entry at global log index `index` (which must be the next one). */
  apply(index: number, facts: EntryFacts): void {
    if (index !== this.size) throw new RangeError(`entry ${index} applied at size ${this.size}`);
    this.size++;
    if (facts.kind === 'reconstruction') {
      const s = this.shard(facts.shard_id);
      const ids = new Set(facts.missed);
      const missed = s.open.filter((m) => ids.has(m.global_root_id));
      s.open = s.open.filter((m) => !ids.has(m.global_root_id));
      this.#seal(
        facts.shard_id,
        facts.size,
        facts.root,
        index,
        facts.timestamp_ns,
        facts.checkpoint_ns,
      );
      this.reconstructions.push({ index, shard_id: facts.shard_id, missed, size: facts.size });
      if (this.reconstructions.length > RECENT_RECONSTRUCTIONS) this.reconstructions.shift();
      return;
    }
    if (facts.id !== this.nextId) {
      throw new RangeError(`global root id ${facts.id} at index ${index}, expected ${this.nextId}`);
    }
    this.rootIndex.push(index);
    this.lastRoot = {
      id: facts.id,
      index,
      root: facts.root,
      interval_end_ns: facts.interval_end_ns,
    };
    for (const f of facts.shards) {
      this.#present(f.shard_id, facts.id);
      const s = this.shard(f.shard_id);
      s.lastStatus = f.status;
      s.lastReason = f.reason;
      if (f.status === 'ok') {
        if (f.size === undefined || f.root === undefined) {
          throw new RangeError(
            `global root ${facts.id}: ok shard ${f.shard_id} without size and root`,
          );
        }
        this.#seal(f.shard_id, f.size, f.root, index, facts.interval_end_ns, f.checkpoint_ns);
      } else {
        s.open.push({
          global_root_id: facts.id,
          interval_start_ns: facts.interval_start_ns,
          interval_end_ns: facts.interval_end_ns,
          status: f.status,
          reason: f.reason ?? '',
        });
      }
    }
  }

  /** Open and recently reconstructed intervals, for GET /v1/missing. */
  missingReport(recent = 100): MissingReport {
    const open = [...this.shards.entries()]
      .filter(([, s]) => s.open.length > 0)
      .sort(([a], [b]) => a - b)
      .map(([id, s]) => ({
        shard_id: id,
        ...(s.lastStatus !== undefined ? { status: s.lastStatus } : {}),
        ...(s.lastReason !== undefined ? { reason: s.lastReason } : {}),
        intervals: s.open,
      }));
    return { open, reconstructed: this.reconstructions.slice(-recent) };
  }

  openIntervalCount(): number {
    let n = 0;
    for (const s of this.shards.values()) n += s.open.length;
    return n;
  }

  describeShard(id: number): Omit<ShardListing, 'url'> {
    const s = this.shards.get(id);
    return {
      shard_id: id,
      status: s?.lastStatus ?? null,
      reason: s?.lastReason ?? null,
      sealed_size: s?.sealed?.size ?? null,
      sealed_root: s?.sealed ? toHex(s.sealed.root) : null,
      sealed_checkpoint_ns: s?.sealed?.checkpointNs ?? null,
      open_intervals: s?.open.length ?? 0,
    };
  }
}
