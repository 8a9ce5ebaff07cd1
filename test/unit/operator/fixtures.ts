// Readable AgDRCluster fixtures: `cluster().withShards(5).withKeys('vault').build()`.
import type { V1Pod } from '@kubernetes/client-node';
import type { MissingReport } from '../../../src/clients/coordinator-api.ts';
import { AGDR_API_VERSION, AGDR_KIND } from '../../../src/operator/types.ts';
import type { AgDRClusterStored, AgDRClusterStatus } from '../../../src/operator/types.ts';
import type {
  ClusterObservation,
  CoordinatorShardView,
  KeysObservation,
  ShardPodObservation,
} from '../../../src/operator/plan/observation.ts';

class ClusterFixture {
  readonly #c: AgDRClusterStored = {
    apiVersion: AGDR_API_VERSION,
    kind: AGDR_KIND,
    metadata: { name: 'decisions', namespace: 'prod', uid: 'uid-1', generation: 1 },
    spec: {
      shards: 3,
      routing: { strategy: 'hash-by-entity', bucket: 'jump' },
      aggregation: { interval: '60s' },
      keys: { provider: 'file', rotation: { interval: '720h' } },
      storage: { size: '10Gi' },
      scaling: { epochLeadTime: '5m' },
    },
  };

  withShards(n: number): this {
    this.#c.spec.shards = n;
    return this;
  }
  withKeys(provider: 'file' | 'vault'): this {
    this.#c.spec.keys.provider = provider;
    return this;
  }
  with(patch: Partial<AgDRClusterStored['spec']>): this {
    Object.assign(this.#c.spec, patch);
    return this;
  }
  withStatus(status: AgDRClusterStatus): this {
    this.#c.status = status;
    return this;
  }
  build(): AgDRClusterStored {
    return structuredClone(this.#c);
  }
}

export function cluster(): ClusterFixture {
  return new ClusterFixture();
}

export const OPTIONS = { defaultImage: 'agdr:test' };

/** An observation of a cluster with `n` shards, all ready and sealed ok, and a global root. */
export function healthy(n = 3): ObservationFixture {
  return new ObservationFixture(n);
}

class ObservationFixture {
  #obs: {
    -readonly [K in keyof ClusterObservation]: ClusterObservation[K];
  };
  constructor(n: number) {
    const shards: ShardPodObservation[] = Array.from({ length: n }, (_, id) => ({
      id,
      exists: true,
      ready: true,
      restarts: 0,
      podIP: `10.244.0.${id + 10}`,
      treeSize: 100 + id,
    }));
    const views = new Map<number, CoordinatorShardView>(
      shards.map((s) => [s.id, { status: 'ok', reason: null, sealedSize: 90 + s.id }]),
    );
    this.#obs = {
      generation: 1,
      desiredShards: n,
      runningShards: n,
      rolledOut: true,
      shards,
      coordinator: {
        exists: true,
        ready: true,
        podIP: '10.244.0.2',
        shards: views,
        latest: { id: 7, root: 'ab'.repeat(32), timestampNs: '1767225600000000000' },
        missing: { open: [], reconstructed: [] },
      },
      routing: {
        epochs: [
          {
            epoch: 0,
            strategy: 'hash-by-entity',
            key_pointers: ['/entity_id'],
            bucket: 'jump',
            shards: n,
            params: {},
            effective_from_ns: '0',
          },
        ],
      },
      shardKeys: new Map(),
      selector: 'sel',
    };
  }
  shardDown(id: number, restarts = 1): this {
    this.#obs.shards = this.#obs.shards.map((s) =>
      s.id === id ? { id, exists: true, ready: false, restarts } : s,
    );
    return this;
  }
  sealed(id: number, status: 'ok' | 'missing' | 'unverified' | null): this {
    const views = new Map(this.#obs.coordinator.shards);
    views.set(id, { status, reason: status === 'missing' ? 'unreachable' : null, sealedSize: 1 });
    this.#obs.coordinator = { ...this.#obs.coordinator, shards: views };
    return this;
  }
  /**
   * The coordinator records shard `id` missing in `count` intervals of 1 s from global root
   * `from`, the first starting at `startS` (s since the epoch), for `reason`.
   */
  missed(
    id: number,
    from: number,
    count: number,
    reason = 'unreachable',
    startS = 1_800_000_000,
  ): this {
    const missing = this.#missing();
    const intervals = Array.from({ length: count }, (_, k) => ({
      global_root_id: from + k,
      interval_start_ns: `${startS + k}000000000`,
      interval_end_ns: `${startS + k + 1}000000000`,
      status: 'missing' as const,
      reason,
    }));
    const open = missing.open.filter((o) => o.shard_id !== id);
    open.push({ shard_id: id, status: 'missing', reason, intervals });
    this.#obs.coordinator = { ...this.#obs.coordinator, missing: { ...missing, open } };
    return this.sealed(id, 'missing');
  }
  /** The coordinator appended a reconstruction record (global log `index`) for shard `id`'s open intervals. */
  reconstructed(id: number, index: number, size: number): this {
    const missing = this.#missing();
    const missed = missing.open.find((o) => o.shard_id === id)?.intervals ?? [];
    this.#obs.coordinator = {
      ...this.#obs.coordinator,
      missing: {
        open: missing.open.filter((o) => o.shard_id !== id),
        reconstructed: [...missing.reconstructed, { index, shard_id: id, missed, size }],
      },
    };
    return this.sealed(id, 'ok');
  }
  #missing(): MissingReport {
    return this.#obs.coordinator.missing ?? { open: [], reconstructed: [] };
  }
  coordinatorDown(): this {
    this.#obs.coordinator = { exists: true, ready: false };
    return this;
  }
  desired(n: number): this {
    this.#obs.desiredShards = n;
    return this;
  }
  /** keys.provider vault: every key ready unless `keys` says otherwise. */
  withVaultKeys(keys: Partial<KeysObservation> = {}): this {
    const n = this.#obs.shards.length;
    this.#obs.keys = {
      readyForShards: n,
      coordinatorReady: true,
      wantedShards: n,
      conflicts: [],
      trimWaits: [],
      rotated: [],
      trimmed: [],
      ...keys,
    };
    return this;
  }
  blocked(reason: string, message: string): this {
    this.#obs.blocker = { reason, message };
    return this;
  }
  build(): ClusterObservation {
    return this.#obs;
  }
}

export function pod(
  name: string,
  labels: Record<string, string>,
  ready: boolean,
  ip?: string,
): V1Pod {
  return {
    metadata: { name, namespace: 'prod', labels },
    status: {
      ...(ip !== undefined ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}
