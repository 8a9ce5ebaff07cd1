// The files the pods mount: the routing epoch table, the trust bundle and the shard endpoint
// list. The processes re-read each file when it changes, so updating a ConfigMap never restarts
// a pod. The routing table and the trust bundle are evidence (which epoch put which record on
// which shard; the public keys of key versions Vault no longer holds): like the volumes and the
// keys they carry no owner reference, so they outlive the cluster object and a cluster created
// again under the same name adopts them.
import type { V1ConfigMap, V1ObjectMeta } from '@kubernetes/client-node';
import { trustedKey } from '../../clients/index.ts';
import type { TrustBundle, TrustedKey } from '../../clients/index.ts';
import { defaultKeyPointers } from '../../core/routing.ts';
import type { EpochTable } from '../../core/routing.ts';
import {
  ROUTING_FILE,
  SHARDS_FILE,
  SHARD_PORT,
  TRUST_FILE,
  keptMetadata,
  objectNames,
  ownedMetadata,
} from '../names.ts';
import type { AgDRClusterStored } from '../types.ts';
import type { PublishedKey } from './key-secrets.ts';

function configMap(metadata: V1ObjectMeta, file: string, value: unknown): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data: { [file]: JSON.stringify(value, null, 2) + '\n' },
  };
}

/**
 * The first routing epoch table of a cluster: epoch 0 from the beginning of time, over the
 * shards it runs (spec.shards when created), with the spec's strategy, its default key pointers, bucket function and
 * parameters.
 */
export function initialEpochTable(
  cluster: AgDRClusterStored,
  shards = cluster.spec.shards,
): EpochTable {
  const r = cluster.spec.routing;
  return {
    epochs: [
      {
        epoch: 0,
        strategy: r.strategy,
        key_pointers: defaultKeyPointers(r.strategy),
        bucket: r.bucket,
        shards,
        params: {
          ...(r.windowNs !== undefined ? { window_ns: r.windowNs } : {}),
          ...(r.domainMap !== undefined ? { map: r.domainMap } : {}),
          ...(r.defaultShard !== undefined ? { default: r.defaultShard } : {}),
        },
        effective_from_ns: '0',
      },
    ],
  };
}

/**
 * The routing ConfigMap. The table is the routing log: once published it is only ever
 * extended (by a migration), so an existing table is kept as it is.
 */
export function desiredRoutingConfigMap(
  cluster: AgDRClusterStored,
  observed: { table?: EpochTable; replicas?: number },
): V1ConfigMap {
  const table = observed.table ?? initialEpochTable(cluster, observed.replicas);
  return configMap(
    keptMetadata(cluster, objectNames(cluster.metadata.name).routingConfigMap, 'routing'),
    ROUTING_FILE,
    table,
  );
}

/** One signing key for the trust bundle (the format the coordinator reads: docs/API.md). */
export interface TrustSource {
  readonly role: 'shard' | 'coordinator';
  readonly shardId?: number;
  readonly origin: string;
  readonly keys: readonly PublishedKey[];
}

/**
 * The trust bundle: every version of every shard's and the coordinator's public key, in a
 * stable order (shards by id, then the coordinator) so an unchanged key set is an unchanged
 * ConfigMap. Older versions stay listed: checkpoints they signed must still verify.
 */
export function desiredTrustConfigMap(
  cluster: AgDRClusterStored,
  sources: readonly TrustSource[],
): V1ConfigMap {
  const ordered = [...sources].sort(
    (a, b) =>
      (a.role === 'coordinator' ? 1 : 0) - (b.role === 'coordinator' ? 1 : 0) ||
      (a.shardId ?? 0) - (b.shardId ?? 0),
  );
  const keys = ordered.flatMap((s) =>
    s.keys.map((k) =>
      trustedKey(
        s.role,
        { name: s.origin, publicKey: k.publicKey, keyVersion: k.keyVersion },
        s.shardId,
      ),
    ),
  );
  return trustConfigMapOf(cluster, keys);
}

/** The trust ConfigMap holding exactly `keys` (keys.provider vault plans them: plan/keys.ts). */
export function trustConfigMapOf(
  cluster: AgDRClusterStored,
  keys: readonly TrustedKey[],
): V1ConfigMap {
  const bundle: TrustBundle = { version: 1, keys: [...keys] };
  return configMap(
    keptMetadata(cluster, objectNames(cluster.metadata.name).trustConfigMap, 'trust'),
    TRUST_FILE,
    bundle,
  );
}

export interface ShardEndpoint {
  readonly id: number;
  /** The shard pod's IP; absent while the pod has none. */
  readonly podIP?: string;
}

/** `http://IP:port` of a pod, with IPv6 addresses bracketed. */
export function podUrl(ip: string, port: number): string {
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/**
 * The shard endpoint list the coordinator reads (`--shards-file`): each shard pod's IP, taken
 * from the pods themselves. Pod IPs need neither cluster DNS nor a Service proxy, so the same
 * list works in any cluster; a shard whose pod has no IP yet is left out (the coordinator
 * records it missing until it appears).
 */
export function desiredShardsConfigMap(
  cluster: AgDRClusterStored,
  endpoints: readonly ShardEndpoint[],
): V1ConfigMap {
  const shards = endpoints
    .filter((e): e is ShardEndpoint & { podIP: string } => e.podIP !== undefined)
    .sort((a, b) => a.id - b.id)
    .map((e) => ({ id: e.id, url: podUrl(e.podIP, SHARD_PORT) }));
  return configMap(
    ownedMetadata(cluster, objectNames(cluster.metadata.name).shardsConfigMap, 'shard'),
    SHARDS_FILE,
    { shards },
  );
}
