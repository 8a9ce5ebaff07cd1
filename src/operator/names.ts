// Names, labels and owner references of everything the operator creates for one AgDRCluster.
// One place decides them, so builders, status planning and the controller agree.
import { AGDR_API_VERSION, AGDR_GROUP, AGDR_KIND } from './types.ts';
import type { AgDRCluster } from './types.ts';

/** The operator's server-side-apply field manager and Event reporting controller. */
export const FIELD_MANAGER = 'agdr-operator';
export const REPORTING_CONTROLLER = 'agdr.dev/operator';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** Set by the StatefulSet controller on each pod (Kubernetes 1.28+): the pod's ordinal. */
export const LABEL_POD_INDEX = 'apps.kubernetes.io/pod-index';
/** On key Secrets: the shard id the key signs for (absent on the coordinator's key). */
export const LABEL_SHARD_ID = 'agdr.dev/shard-id';

export const APP_NAME = 'agdr';
export const MANAGED_BY = 'agdr-operator';

export type Component = 'shard' | 'coordinator' | 'routing' | 'trust' | 'key' | 'auth';

/** Ports the processes listen on inside their pods. */
export const SHARD_PORT = 7071;
export const COORDINATOR_PORT = 7070;

/** Mount points inside the pods. */
export const DATA_DIR = '/var/lib/agdr';
export const ROUTING_DIR = '/etc/agdr/routing';
export const TRUST_DIR = '/etc/agdr/trust';
export const SHARDS_DIR = '/etc/agdr/shards';
export const KEYS_DIR = '/etc/agdr/keys';
export const AUTH_DIR = '/etc/agdr/auth';
export const ROUTING_FILE = 'routing.json';
export const TRUST_FILE = 'trust.json';
export const SHARDS_FILE = 'shards.json';
export const KEY_FILE = 'key.json';
export const ISSUER_KEYS_FILE = 'issuer-keys.json';

export interface ClusterRef {
  readonly name: string;
  readonly namespace: string;
}

export function clusterRef(cluster: AgDRCluster): ClusterRef {
  const ns = cluster.metadata.namespace;
  if (ns === undefined) throw new Error(`AgDRCluster ${cluster.metadata.name} has no namespace`);
  return { name: cluster.metadata.name, namespace: ns };
}

/** The object names of one cluster. Kubernetes names are at most 253 (Services: 63) characters. */
export function objectNames(name: string) {
  return {
    shardStatefulSet: `${name}-shard`,
    shardService: `${name}-shard`,
    shardPdb: `${name}-shard`,
    shardServiceAccount: `${name}-shard`,
    shardVolumeClaim: 'data',
    coordinatorDeployment: `${name}-coordinator`,
    coordinatorService: `${name}-coordinator`,
    coordinatorServiceAccount: `${name}-coordinator`,
    coordinatorVolumeClaim: `${name}-coordinator-data`,
    coordinatorKeySecret: `${name}-coordinator-key`,
    routingConfigMap: `${name}-routing`,
    trustConfigMap: `${name}-trust`,
    shardsConfigMap: `${name}-shards`,
    issuerKeysConfigMap: `${name}-issuer-keys`,
  };
}

export type ObjectNames = ReturnType<typeof objectNames>;

export function shardKeySecretName(name: string, shardId: number): string {
  return `${name}-shard-${shardId}-key`;
}

/** The pod name the StatefulSet gives shard `id`. */
export function shardPodName(name: string, id: number): string {
  return `${objectNames(name).shardStatefulSet}-${id}`;
}

/** Labels every object of the cluster carries (and the selector of its informers). */
export function commonLabels(name: string): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: name, [LABEL_MANAGED_BY]: MANAGED_BY };
}

/** Labels of one component; also the selector of its pods. */
export function componentLabels(name: string, component: Component): Record<string, string> {
  return { ...commonLabels(name), [LABEL_COMPONENT]: component };
}

/** The selector labels of a component's pods (no managed-by: selectors are immutable). */
export function selectorLabels(name: string, component: Component): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: name, [LABEL_COMPONENT]: component };
}

/** `k=v,k=v`, the form of `status.selector` and of a list's labelSelector. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

/** The controller owner reference that lets deleting the cluster garbage-collect an object. */
export function ownerReference(cluster: AgDRCluster): OwnerReference {
  const uid = cluster.metadata.uid;
  if (uid === undefined) throw new Error(`AgDRCluster ${cluster.metadata.name} has no uid`);
  return {
    apiVersion: AGDR_API_VERSION,
    kind: AGDR_KIND,
    name: cluster.metadata.name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * metadata of an object that outlives the cluster object (the logs' volumes, keys, the routing
 * table, the trust bundle): the cluster's labels and no owner reference, so deleting the
 * cluster keeps it and a cluster created again under the same name adopts it.
 */
export function keptMetadata(
  cluster: AgDRCluster,
  name: string,
  component: Component,
  extraLabels: Record<string, string> = {},
) {
  return {
    name,
    namespace: clusterRef(cluster).namespace,
    labels: { ...componentLabels(cluster.metadata.name, component), ...extraLabels },
  };
}

/** metadata of an object the cluster owns: deleting the cluster garbage-collects it. */
export function ownedMetadata(
  cluster: AgDRCluster,
  name: string,
  component: Component,
  extraLabels: Record<string, string> = {},
) {
  return {
    ...keptMetadata(cluster, name, component, extraLabels),
    ownerReferences: [ownerReference(cluster)],
  };
}

/** An owner reference to an AgDRCluster (of any version of the API group). */
export function isClusterOwnerReference(ref: { apiVersion?: string; kind?: string }): boolean {
  return ref.kind === AGDR_KIND && (ref.apiVersion ?? '').startsWith(`${AGDR_GROUP}/`);
}
