// TypeScript shape of the AgDRCluster custom resource (crds/agdr.dev_agdrclusters.yaml).
// Spec fields the apiserver defaults are required here only in `AgDRClusterSpecDefaulted`,
// which is what the operator reads back from the server.

import type { ShardStatus } from '../core/global-root/index.ts';

export const AGDR_GROUP = 'agdr.dev';
export const AGDR_VERSION = 'v1alpha1';
export const AGDR_API_VERSION = `${AGDR_GROUP}/${AGDR_VERSION}`;
export const AGDR_KIND = 'AgDRCluster';
export const AGDR_PLURAL = 'agdrclusters';
export const AGDR_SHORT_NAME = 'agdr';

export const ROUTING_STRATEGIES = [
  'hash-by-entity',
  'hash-by-session',
  'time-partitioned',
  'domain-partitioned',
] as const;
export type RoutingStrategyName = (typeof ROUTING_STRATEGIES)[number];

export const BUCKET_FUNCTIONS = ['jump', 'modulo'] as const;
export type BucketFunctionName = (typeof BUCKET_FUNCTIONS)[number];

export const KEY_PROVIDERS = ['vault', 'file'] as const;
export type KeyProviderName = (typeof KEY_PROVIDERS)[number];

/** spec.ingest.authentication.mode (docs/API.md, Authentication). */
export const INGEST_AUTH_MODES = ['none', 'serviceAccountToken'] as const;
export type IngestAuthMode = (typeof INGEST_AUTH_MODES)[number];

/** spec.reads.access. */
export const READ_ACCESS_MODES = ['open', 'authenticated'] as const;
export type ReadAccessMode = (typeof READ_ACCESS_MODES)[number];

export const MIGRATION_PHASES = [
  'Pending',
  'ProvisioningShards',
  'EpochScheduled',
  'Draining',
  'Completed',
  'Failed',
] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/** The defaults the CRD schema declares (the apiserver fills them in). */
export const AGDR_SPEC_DEFAULTS = {
  shards: 3,
  strategy: 'hash-by-entity',
  bucket: 'jump',
  aggregationInterval: '60s',
  keyProvider: 'vault',
  transitMount: 'transit',
  authMount: 'jwt',
  audience: 'vault',
  rotationInterval: '720h',
  storageSize: '10Gi',
  epochLeadTime: '5m',
} as const;

export const MIN_SHARDS = 1;
export const MAX_SHARDS = 1024;

export interface AgDRRoutingSpec {
  strategy?: RoutingStrategyName;
  bucket?: BucketFunctionName;
  /**
   * JSON pointers the routing key is read from, in order (core defaultKeyPointers when absent).
   * Part of every routing epoch the operator writes. Immutable.
   */
  keyPointers?: string[];
  /** Window length in ns (decimal string); required for time-partitioned. */
  windowNs?: string;
  /** domain -> shard id, for domain-partitioned. */
  domainMap?: Record<string, number>;
  /** Shard id for unmapped domains; required for domain-partitioned. */
  defaultShard?: number;
}

export interface AgDRAggregationSpec {
  /** Duration: a whole number and one unit of ms|s|m|h (`60s`). */
  interval?: string;
  shardTimeout?: string;
}

export interface AgDRVaultSpec {
  /** Vault/OpenBao address; the operator's --vault-addr when absent. */
  address?: string;
  transitMount?: string;
  /** Role the operator logs in with for this cluster (default: the operator's --vault-role). */
  authRole?: string;
  /** JWT auth mount where the pods' roles are written and the pods log in (default `jwt`). */
  authMount?: string;
  /** Audience of the pods' projected ServiceAccount tokens (default `vault`). */
  audience?: string;
  /** ConfigMap (in the cluster's namespace) whose `ca.crt` is the CA of Vault's certificate. */
  caConfigMap?: string;
}

export interface AgDRKeyRotationSpec {
  interval?: string;
  retainVersions?: number;
}

export interface AgDRKeysSpec {
  provider?: KeyProviderName;
  vault?: AgDRVaultSpec;
  rotation?: AgDRKeyRotationSpec;
}

export interface AgDRStorageSpec {
  /** A Kubernetes quantity (`10Gi`). */
  size?: string;
  storageClassName?: string;
}

/** core/v1 ResourceRequirements, kept open (the schema preserves unknown fields). */
export interface AgDRResources {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
  [extra: string]: unknown;
}

export interface AgDRScalingSpec {
  /**
   * How far ahead of its publication a new routing epoch takes effect: long enough for
   * kubelet to project the routing ConfigMap into every pod and for every shard, the
   * coordinator and the clients to load it. Duration (`5m`).
   */
  epochLeadTime?: string;
}

/** A ServiceAccount, or every ServiceAccount of a namespace (`name` absent). */
export interface AgDRServiceAccountRef {
  namespace: string;
  name?: string;
}

export interface AgDRIngestAuthenticationSpec {
  /** Defaulted to `none` by the schema when `authentication` is given. */
  mode?: IngestAuthMode;
  /** Default `agdr.dev/<namespace>/<name>` (core clusterAudience). */
  audience?: string;
  allowedServiceAccounts?: AgDRServiceAccountRef[];
}

export interface AgDRIngestSpec {
  authentication?: AgDRIngestAuthenticationSpec;
}

export interface AgDRReadsSpec {
  /** Defaulted to `open` by the schema when `reads` is given. */
  access?: ReadAccessMode;
  allowedServiceAccounts?: AgDRServiceAccountRef[];
}

export interface AgDRClusterSpec {
  shards?: number;
  scaling?: AgDRScalingSpec;
  routing?: AgDRRoutingSpec;
  aggregation?: AgDRAggregationSpec;
  keys?: AgDRKeysSpec;
  storage?: AgDRStorageSpec;
  image?: string;
  resources?: AgDRResources;
  publishUrl?: string;
  /** Who may append (absent: anyone who reaches a shard). */
  ingest?: AgDRIngestSpec;
  /** Who may read records (absent: open). */
  reads?: AgDRReadsSpec;
}

/** The spec as stored: every field with a schema default is present. */
export interface AgDRClusterSpecDefaulted extends AgDRClusterSpec {
  shards: number;
  routing: AgDRRoutingSpec & { strategy: RoutingStrategyName; bucket: BucketFunctionName };
  aggregation: AgDRAggregationSpec & { interval: string };
  keys: AgDRKeysSpec & {
    provider: KeyProviderName;
    rotation: AgDRKeyRotationSpec & { interval: string };
  };
  storage: AgDRStorageSpec & { size: string };
  scaling: AgDRScalingSpec & { epochLeadTime: string };
}

/** A metav1.Condition. */
export interface AgDRCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** RFC 3339 time. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface AgDRGlobalRootStatus {
  id?: number;
  /** 64 lowercase hex digits. */
  root?: string;
  /** Decimal string. */
  timestampNs?: string;
}

/** How the coordinator's latest global root recorded a shard (ok, missing, unverified). */
export type ShardSealStatus = ShardStatus;

/** A shard's place in routing: in the epoch in force, leaving it, or gone from it. */
export const SHARD_PHASES = ['active', 'draining', 'retired'] as const;
export type ShardPhase = (typeof SHARD_PHASES)[number];

export interface AgDRShardStatus {
  id: number;
  phase?: ShardPhase;
  ready?: boolean;
  treeSize?: number;
  /** Tree size of the shard's checkpoint the coordinator sealed last. */
  lastSealedSize?: number;
  /** How the latest global root recorded the shard. */
  coordinatorStatus?: ShardSealStatus;
  keyVersion?: number;
  /** C2SP signed-note verifier key. */
  publicKey?: string;
  /** Retired: effective_from_ns of the epoch that retired it (decimal string). */
  retiredFromNs?: string;
  /** Retired: tree size of its final checkpoint sealed in a global root. */
  finalSize?: number;
  /** Retired: root of that checkpoint, 64 lowercase hex digits. */
  finalRoot?: string;
}

export interface AgDRMigrationStatus {
  epoch: number;
  from: number;
  to: number;
  phase: MigrationPhase;
  startedAt?: string;
  completedAt?: string;
  /** effective_from_ns of the new epoch once it is published (decimal string). */
  effectiveFromNs?: string;
  /** When every process was first seen serving the new routing table (RFC 3339). */
  tableLoadedAt?: string;
  /** CamelCase: why it is where it is (`Blocked`, `WaitingForShards`, `ScaledDown`, ...). */
  reason?: string;
  message?: string;
}

/** A shard with intervals no global root sealed it in, until a reconstruction record seals it. */
export interface AgDRMissingShardStatus {
  id: number;
  /** RFC 3339: start of the first missed interval. */
  since?: string;
  /** Intervals missed so far. */
  missedIntervals?: number;
  /** The first global root that could not seal it. */
  firstMissedGlobalRootId?: number;
  reason?: string;
}

/** Keys of a `keys.provider: vault` cluster. */
export interface AgDRKeysStatus {
  provider: KeyProviderName;
  /** Shards 0..readyForShards-1 have keys in Vault, published in the trust bundle. */
  readyForShards?: number;
  coordinatorKeyVersion?: number;
  /** RFC 3339: when a key last got a new version. */
  lastRotation?: string;
  /** RFC 3339: when the next rotation is due. */
  nextRotation?: string;
}

export interface AgDRClusterStatus {
  observedGeneration?: number;
  conditions?: AgDRCondition[];
  /** Ready shard count (the scale subresource's status replicas). */
  readyShards?: number;
  /** Label selector of the shard pods. */
  selector?: string;
  routingEpoch?: number;
  globalRoot?: AgDRGlobalRootStatus;
  shardStatus?: AgDRShardStatus[];
  migrations?: AgDRMigrationStatus[];
  missingShards?: AgDRMissingShardStatus[];
  keys?: AgDRKeysStatus;
}

/** The subset of ObjectMeta the product reads and writes. */
export interface AgDRObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface AgDRCluster<Spec extends AgDRClusterSpec = AgDRClusterSpec> {
  apiVersion: typeof AGDR_API_VERSION;
  kind: typeof AGDR_KIND;
  metadata: AgDRObjectMeta;
  spec: Spec;
  status?: AgDRClusterStatus;
}

/** An AgDRCluster as read back from the apiserver (defaults filled in). */
export type AgDRClusterStored = AgDRCluster<AgDRClusterSpecDefaulted>;
