// Builds a ClusterObservation: the pods and workloads from the informer caches, the processes'
// state over HTTP. Reads only; every decision is made from the result by plan/.
import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { EpochTable } from '../core/routing.ts';
import {
  COORDINATOR_PORT,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_POD_INDEX,
  SHARD_PORT,
  objectNames,
  selectorLabels,
  selectorString,
} from './names.ts';
import type {
  CoordinatorObservation,
  ClusterObservation,
  PublicKeyView,
  ShardPodObservation,
} from './plan/observation.ts';
import type { Blocker, KeysObservation } from './plan/observation.ts';
import type { ProcessReader } from './process-reads.ts';
import { podUrl } from './specs/config-maps.ts';
import type { AgDRClusterStored } from './types.ts';

export type CachedKind = 'Pod' | 'StatefulSet' | 'Deployment' | 'Secret' | 'ConfigMap';

/** Read access to the controller's informer caches (objects labelled managed-by the operator). */
export interface ObjectCache {
  get<T>(kind: CachedKind, namespace: string, name: string): T | undefined;
  list<T>(kind: CachedKind, namespace: string): T[];
}

function podReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined) return false;
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function podsOf(
  cache: ObjectCache,
  cluster: AgDRClusterStored,
  component: 'shard' | 'coordinator',
): V1Pod[] {
  const ns = cluster.metadata.namespace ?? 'default';
  return cache
    .list<V1Pod>('Pod', ns)
    .filter(
      (p) =>
        p.metadata?.labels?.[LABEL_INSTANCE] === cluster.metadata.name &&
        p.metadata?.labels?.[LABEL_COMPONENT] === component,
    );
}

/** Shard id of a shard pod: its pod-index label, or the ordinal at the end of its name. */
export function shardIdOf(pod: V1Pod): number | undefined {
  const text =
    pod.metadata?.labels?.[LABEL_POD_INDEX] ?? /-(\d+)$/.exec(pod.metadata?.name ?? '')?.[1];
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/** The pods of shards 0..replicas-1 (a shard without a pod is not ready). */
export function shardPods(
  cache: ObjectCache,
  cluster: AgDRClusterStored,
  replicas: number,
): { id: number; pod: V1Pod | undefined }[] {
  const byId = new Map<number, V1Pod>();
  for (const p of podsOf(cache, cluster, 'shard')) {
    const id = shardIdOf(p);
    if (id !== undefined) byId.set(id, p);
  }
  return Array.from({ length: replicas }, (_, id) => ({ id, pod: byId.get(id) }));
}

/** The coordinator's pod (not one being deleted), if there is one. */
export function coordinatorPodOf(
  cache: ObjectCache,
  cluster: AgDRClusterStored,
): V1Pod | undefined {
  return podsOf(cache, cluster, 'coordinator').find(
    (p) => p.metadata?.deletionTimestamp === undefined,
  );
}

/** The URL of a process on `port` of `pod`, once the pod is Ready and has an IP. */
export function readyPodUrl(pod: V1Pod | undefined, port: number): string | undefined {
  const ip = pod?.status?.podIP;
  return pod !== undefined && podReady(pod) && ip !== undefined ? podUrl(ip, port) : undefined;
}

export interface ObserveInput {
  readonly cluster: AgDRClusterStored;
  readonly cache: ObjectCache;
  readonly reader: ProcessReader;
  readonly routing?: EpochTable;
  readonly shardKeys: ReadonlyMap<number, PublicKeyView>;
  readonly blocker?: Blocker;
  readonly keys?: KeysObservation;
  /** Also read which routing table each process serves (while a migration may be under way). */
  readonly readRouting?: boolean;
}

type Settled<T> = { value?: T; error?: string };

const NOT_READ: Settled<never> = {};

async function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  try {
    return { value: await p };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

export async function observe(input: ObserveInput): Promise<ClusterObservation> {
  const { cluster, cache, reader } = input;
  const ns = cluster.metadata.namespace ?? 'default';
  const names = objectNames(cluster.metadata.name);
  const sts = cache.get<V1StatefulSet>('StatefulSet', ns, names.shardStatefulSet);
  const running = sts?.spec?.replicas ?? 0;
  const rolledOut =
    sts === undefined ||
    ((sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0) &&
      (sts.status?.updatedReplicas ?? 0) >= running &&
      (sts.status?.currentRevision === undefined ||
        sts.status.currentRevision === sts.status.updateRevision));
  const pods = shardPods(cache, cluster, running);
  const shards: ShardPodObservation[] = await Promise.all(
    pods.map(async ({ id, pod }) => {
      const ready = pod !== undefined && podReady(pod);
      const podIP = pod?.status?.podIP;
      const restarts =
        pod?.status?.containerStatuses?.reduce((n, c) => n + (c.restartCount ?? 0), 0) ?? 0;
      const url = podIP !== undefined ? podUrl(podIP, SHARD_PORT) : undefined;
      const [size, routing] =
        ready && url !== undefined
          ? await Promise.all([
              settle(reader.shardTreeSize(url)),
              input.readRouting === true ? settle(reader.routingHash(url, 'shard')) : NOT_READ,
            ])
          : [NOT_READ, NOT_READ];
      return {
        id,
        exists: pod !== undefined,
        ready,
        restarts,
        ...(podIP !== undefined ? { podIP } : {}),
        ...(size.value !== undefined ? { treeSize: size.value } : {}),
        ...(routing.value !== undefined ? { routingHash: routing.value } : {}),
      };
    }),
  );
  const deployment = cache.get<V1Deployment>('Deployment', ns, names.coordinatorDeployment);
  const coordinatorPod = coordinatorPodOf(cache, cluster);
  let coordinator: CoordinatorObservation = {
    exists: deployment !== undefined && coordinatorPod !== undefined,
    ready: coordinatorPod !== undefined && podReady(coordinatorPod),
  };
  const ip = coordinatorPod?.status?.podIP;
  if (coordinator.ready && ip !== undefined) {
    const url = podUrl(ip, COORDINATOR_PORT);
    const [views, latest, missing, routing] = await Promise.all([
      settle(reader.coordinatorShards(url)),
      settle(reader.latestGlobalRoot(url)),
      settle(reader.coordinatorMissing(url)),
      input.readRouting === true ? settle(reader.routingHash(url, 'coordinator')) : NOT_READ,
    ]);
    const readError = views.error ?? latest.error ?? missing.error;
    coordinator = {
      ...coordinator,
      podIP: ip,
      ...(views.value !== undefined ? { shards: views.value } : {}),
      ...(latest.value !== undefined ? { latest: latest.value } : {}),
      ...(missing.value !== undefined ? { missing: missing.value } : {}),
      ...(readError !== undefined ? { readError } : {}),
      ...(routing.value !== undefined ? { routingHash: routing.value } : {}),
    };
  }
  return {
    generation: cluster.metadata.generation ?? 0,
    desiredShards: cluster.spec.shards,
    runningShards: running,
    rolledOut,
    shards,
    coordinator,
    ...(input.routing !== undefined ? { routing: input.routing } : {}),
    shardKeys: input.shardKeys,
    ...(input.blocker !== undefined ? { blocker: input.blocker } : {}),
    ...(input.keys !== undefined ? { keys: input.keys } : {}),
    selector: selectorString(selectorLabels(cluster.metadata.name, 'shard')),
  };
}
